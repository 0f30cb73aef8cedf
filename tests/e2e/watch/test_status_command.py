"""``faas-gitops status``: from the state dir alone, and ``--live`` from the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.harness import CHAT_FUNCTION, CHAT_ID, RunCli


def test_status_without_a_ledger_is_one_line_and_exit_2(cli_run: RunCli, tmp_path: Path) -> None:
    run = cli_run("status", "--state-dir", str(tmp_path / "nothing"))
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "no ledger here yet" in run.stderr


@pytest.mark.slow
def test_status_lists_every_package_with_its_revision_and_correlation_id_without_the_api(
    run_cli: RunCli, cli_run: RunCli, emulator: RunningEmulator, state: Path
) -> None:
    assert run_cli().code == 0
    emulator.clear_requests()

    document = json.loads(cli_run("status", "--state-dir", str(state), "--output", "json").stdout)
    assert emulator.requests == []  # read from the state dir alone
    by_path = {row["path"]: row for row in document}
    assert sorted(by_path) == ["chat-moderation", "presence-tracker", "webhooks"]
    created = {p["id"]: p for p in emulator.store.packages()}
    for row in document:
        assert row["status"] == "created"
        assert row["revisionName"] == emulator.store.revisions(row["packageId"])[0]["name"]
        assert row["correlationId"]
        assert row["name"] == created[row["packageId"]]["name"]

    text = cli_run("status", "--state-dir", str(state))
    assert text.code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["PATH", "NAME", "PACKAGE"]
    assert [line.split()[0] for line in lines[1:]] == sorted(by_path)
    assert by_path["webhooks"]["correlationId"] in text.stdout

    markdown = cli_run("status", "--state-dir", str(state), "--output", "markdown").stdout
    assert markdown.startswith("| path | name | package id | revision |")
    assert "| `chat-moderation` | `chat-moderation` |" in markdown


@pytest.mark.slow
def test_status_live_asks_the_api_once_per_package_and_shows_a_revision_made_by_hand(
    run_cli: RunCli, cli_run: RunCli, emulator: RunningEmulator, state: Path
) -> None:
    assert run_cli().code == 0
    hand_made = emulator.store.add_revision(
        CHAT_ID, name="made-in-portal", functions=[CHAT_FUNCTION]
    )
    emulator.clear_requests()

    run = cli_run(
        "status", "--live", "--state-dir", str(state), "--api-url", emulator.url,
        "--output", "json",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    by_path = {row["path"]: row for row in json.loads(run.stdout)}
    assert by_path["chat-moderation"]["status"] == "changed"
    assert by_path["chat-moderation"]["revisionName"] == "made-in-portal"
    assert by_path["chat-moderation"]["revisionId"] == hand_made["id"]
    assert by_path["webhooks"]["status"] == "latest"
    assert by_path["presence-tracker"]["status"] == "latest"
    lists = [r for r in emulator.requests if r.path.endswith("/package-revisions")]
    assert len(lists) == 3  # one revision list per package
    assert {r.method for r in emulator.requests} == {"GET"}
    answered = {r.correlation_id for r in lists}
    assert {row["correlationId"] for row in by_path.values()} == answered


@pytest.mark.slow
def test_status_live_with_a_rejected_key_is_one_line_and_exit_2(
    run_cli: RunCli, cli_run: RunCli, emulator: RunningEmulator, state: Path, monkeypatch: object
) -> None:
    assert run_cli().code == 0
    import pytest  # noqa: PLC0415

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("FAAS_API_KEY", "wrong-key-but-secret")
    run = cli_run("status", "--live", "--state-dir", str(state), "--api-url", emulator.url)
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "wrong-key-but-secret" not in run.stderr

"""``faas-gitops history`` answers questions: by package (path, id or manifest name), by
status, by time, in markdown, without the noise of syncs in which nothing happened."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID, WEBHOOKS_ID, RunCli

pytestmark = pytest.mark.slow

Rows = list[tuple[int, str, str]]  # (sync row id, path, status)


@pytest.fixture
def recorded(run_cli: RunCli, repo: GitRepo, emulator: RunningEmulator, state: Path) -> Path:
    """Four real syncs: all created; nothing changed; one package changed; one package failed.

    The first sync is then dated back to 2026-01-01, as if it had run months ago.
    """
    assert run_cli().code == 0  # 3 created
    assert run_cli().code == 0  # 3 unchanged: a quiet sync
    repo.write("chat-moderation/audit-log.js", "export default (r) => r.ok(); // v2\n")
    repo.commit("Change the audit log")
    assert run_cli().code == 0  # chat-moderation created, the two others unchanged
    emulator.store.force_error(WEBHOOKS_ID)
    assert run_cli("--full-sync").code == 1  # webhooks failed
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        db.execute("UPDATE syncs SET started_at = '2026-01-01T00:00:00+00:00' WHERE id = 1")
    return state


def rows(cli_run: RunCli, state: Path, *args: str) -> list[dict[str, object]]:
    run = cli_run("history", "--state-dir", str(state), "--output", "json", *args)
    assert run.code == 0, run.stderr
    entries: list[dict[str, object]] = json.loads(run.stdout)["entries"]
    return entries


def shape(entries: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [(str(e["path"]), str(e["status"])) for e in entries]


def test_the_default_shows_what_changed_and_all_adds_the_unchanged_rows(
    cli_run: RunCli, recorded: Path
) -> None:
    assert shape(rows(cli_run, recorded)) == [
        ("webhooks", "failed"),
        ("chat-moderation", "created"),
        # the unchanged rows of every sync are not shown
        ("chat-moderation", "created"),
        ("presence-tracker", "created"),
        ("webhooks", "created"),
    ]
    everything = shape(rows(cli_run, recorded, "--all"))
    assert len(everything) == 12
    assert everything[6:9] == [
        ("chat-moderation", "unchanged"),
        ("presence-tracker", "unchanged"),
        ("webhooks", "unchanged"),
    ]


def test_package_matches_a_path_a_package_id_or_a_manifest_name(
    cli_run: RunCli, recorded: Path
) -> None:
    by_path = rows(cli_run, recorded, "--package", "chat-moderation", "--all")
    by_id = rows(cli_run, recorded, "--package", CHAT_ID, "--all")
    assert len(by_path) == 4
    assert by_id == by_path
    # presence-tracker has no packageId in its manifest: only its name identifies it.
    by_name = rows(cli_run, recorded, "--package", "presence-tracker", "--all")
    assert {e["path"] for e in by_name} == {"presence-tracker"}
    # webhooks' directory and manifest name are the same; its id finds the same rows.
    assert rows(cli_run, recorded, "--package", WEBHOOKS_ID) == rows(
        cli_run, recorded, "--package", "webhooks"
    )
    assert rows(cli_run, recorded, "--package", "no-such-package") == []


def test_status_filters_by_a_comma_separated_list(cli_run: RunCli, recorded: Path) -> None:
    assert shape(rows(cli_run, recorded, "--status", "created,failed")) == [
        ("webhooks", "failed"),
        ("chat-moderation", "created"),
        ("chat-moderation", "created"),
        ("presence-tracker", "created"),
        ("webhooks", "created"),
    ]
    assert shape(rows(cli_run, recorded, "--status", "failed")) == [("webhooks", "failed")]


def test_since_takes_an_age_or_a_date(cli_run: RunCli, recorded: Path) -> None:
    recent = shape(rows(cli_run, recorded, "--since", "2h", "--status", "created"))
    assert recent == [("chat-moderation", "created")]  # the first sync is months old
    assert rows(cli_run, recorded, "--since", "30m", "--status", "created") == [
        rows(cli_run, recorded, "--since", "7d", "--status", "created")[0]
    ]
    since_date = shape(rows(cli_run, recorded, "--since", "2025-12-31", "--status", "created"))
    assert len(since_date) == 4
    assert rows(cli_run, recorded, "--since", "2099-01-01") == []


def test_markdown_is_a_table_with_the_correlation_ids(cli_run: RunCli, recorded: Path) -> None:
    run = cli_run("history", "--state-dir", str(recorded), "--output", "markdown")
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == (
        "| time | commit | path | status | revision | trigger | correlation id | error |"
    )
    assert len(lines) == 2 + 5
    created = rows(cli_run, recorded, "--status", "created")
    for entry in created:
        assert str(entry["correlationId"]) in run.stdout


def test_an_environment_without_deployments_has_no_rows(cli_run: RunCli, recorded: Path) -> None:
    run = cli_run("history", "--state-dir", str(recorded), "--environment", "staging")
    assert run.code == 0
    assert run.stdout == "no syncs recorded\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--status", "created,bogus"), "--status"),
        (("--since", "yesterday"), "--since"),
        (("--since", "2h30"), "--since"),
        (("--limit", "0"), "--limit"),
    ],
)
def test_a_bad_filter_is_one_line_naming_the_flag_and_exit_2(
    cli_run: RunCli, recorded: Path, args: tuple[str, ...], named: str
) -> None:
    run = cli_run("history", "--state-dir", str(recorded), *args)
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert named in run.stderr

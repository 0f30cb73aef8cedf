"""``faas-gitops history`` from the command line: the story by default, ``--steps``,
``--correlation-id`` (exit 1 when no row has it) and escaped text, over a real ledger file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faas_gitops import cli
from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import Ledger

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def history_state(tmp_path: Path) -> Path:
    """A sync that created v2 and deployed it on staging (v1 -> v2, with its steps), then a
    promotion of it to production, then a quiet sync."""
    state = tmp_path / "state"
    with Ledger(state) as ledger:
        staged = DeploymentOutcome("staging", 1, DeployStatus.DEPLOYED, "v2", "r-2", "d-2",
                                   previous_revision_name="v1")  # fmt: skip
        first = ledger.record(
            SyncResult("a" * 40, "main", False,
                       (Outcome("chat", Status.CREATED, "p-chat", "v2", "r-2", "corr-rev",
                                deployments=(staged,)),),
                       T0, T0 + timedelta(seconds=1)),
            trigger="webhook",
        )  # fmt: skip
        for step, status, correlation in (("rolling-update", "ok", "corr-roll"),
                                          ("running", "ok", "corr-poll")):  # fmt: skip
            ledger.record_deployment(first, path="chat", package_id="p-chat", step=step,
                                     outcome=staged, status=status)  # fmt: skip
            ledger.record_deployment(
                first, path="chat", package_id="p-chat", step=step,
                outcome=DeploymentOutcome("staging", 1, DeployStatus.DEPLOYED, "v2",
                                          correlation_id=correlation), status=status,
            )  # fmt: skip
        ledger.record_deployment(first, path="chat", package_id="p-chat", step="result",
                                 outcome=staged)  # fmt: skip
        promoted = DeploymentOutcome("production\x1b[31m", 2, DeployStatus.DEPLOYED, "v2",
                                     "r-2", "d-3", previous_revision_name="v1")  # fmt: skip
        second = ledger.record(
            SyncResult("b" * 40, "main", False,
                       (Outcome("chat", Status.PROMOTED, "p-chat", deployments=(promoted,)),),
                       T0 + timedelta(minutes=1), T0 + timedelta(minutes=1, seconds=1)),
            trigger="promote",
        )  # fmt: skip
        ledger.record_deployment(second, path="chat", package_id="p-chat", step="result",
                                 outcome=promoted)  # fmt: skip
        ledger.record(
            SyncResult("c" * 40, "main", False, (Outcome("chat", Status.UNCHANGED, "p-chat"),),
                       T0 + timedelta(minutes=2), T0 + timedelta(minutes=2, seconds=1)),
        )  # fmt: skip
    return state


def history(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["history", "--state-dir", str(state), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_default_tells_the_story_with_from_to_environment_and_trigger(
    history_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(history_state, capsys)

    assert code == 0
    header, promoted, created, staged = out.splitlines()
    assert header.split()[:8] == ["TIME", "COMMIT", "PATH", "ENVIRONMENT", "STATUS", "REVISION",
                                  "TRIGGER", "CORRELATION"]  # fmt: skip
    # newest first; the environment's name is escaped, never a colour
    assert promoted.split()[3:9] == ["chat", "production\\x1b[31m", "deployed", "v1", "→", "v2"]
    assert promoted.split()[9] == "promote"
    assert created.split()[3:6] == ["chat", "-", "created"]
    assert "corr-rev" in created
    assert staged.split()[3:9] == ["chat", "staging", "deployed", "v1", "→", "v2"]
    assert "\x1b" not in out
    assert "unchanged" not in out
    assert "corr-poll" not in out
    assert len(history(history_state, capsys, "--all")[1].splitlines()) == 1 + 3 + 2


def test_json_rows_carry_environment_from_to_and_step(
    history_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(history_state, capsys, "--output", "json")

    assert code == 0
    promoted = json.loads(out)["entries"][0]
    assert {k: promoted[k] for k in ("kind", "environment", "from", "to", "step", "trigger")} == {
        "kind": "deployment",
        "environment": "production\x1b[31m",
        "from": "v1",
        "to": "v2",
        "step": "result",
        "trigger": "promote",
    }


def test_steps_show_every_step_with_its_correlation_id(
    history_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(history_state, capsys, "--steps", "--environment", "staging")

    assert code == 0
    header, *rows = out.splitlines()
    assert "STEP" in header.split()
    assert [row.split()[5] for row in rows] == [
        "rolling-update", "rolling-update", "running", "running", "result",
    ]  # fmt: skip
    assert "corr-roll" in out
    assert "corr-poll" in out


def test_a_correlation_id_finds_the_step_that_carried_it(
    history_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(
        history_state, capsys, "--correlation-id", "corr-poll", "--output", "json"
    )

    assert code == 0
    (row,) = json.loads(out)["entries"]
    assert (row["path"], row["environment"], row["step"], row["status"]) == (
        "chat",
        "staging",
        "running",
        "ok",
    )
    code, out, _ = history(history_state, capsys, "--correlation-id", "corr-rev")
    assert code == 0
    assert out.splitlines()[1].split()[3:6] == ["chat", "revision", "created"]  # no environment


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_unknown_correlation_id_is_one_line_and_exit_1(
    history_state: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, err = history(history_state, capsys, "--correlation-id", "nope", "--output", fmt)

    assert code == 1
    assert err.count("\n") == 1
    assert "--correlation-id 'nope'" in err
    assert out == ("" if fmt == "text" else '{\n  "entries": []\n}\n')


def test_commit_url_links_every_commit_in_markdown_and_json_from_the_flag_or_its_env_twin(
    history_state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = "https://github.com/acme/functions/commit/{sha}"
    code, out, _ = history(history_state, capsys, "--output", "markdown", "--commit-url", template)
    assert code == 0
    assert f"[`{'a' * 12}`](https://github.com/acme/functions/commit/{'a' * 40})" in out
    assert f"[`{'b' * 12}`](https://github.com/acme/functions/commit/{'b' * 40})" in out
    monkeypatch.setenv("FAAS_GITOPS_COMMIT_URL", template)
    code, out, _ = history(history_state, capsys, "--output", "json")
    assert code == 0
    links = {row["commit"]: row["commitUrl"] for row in json.loads(out)["entries"]}
    assert links["a" * 40] == f"https://github.com/acme/functions/commit/{'a' * 40}"
    code, out, _ = history(history_state, capsys, "--output", "text")
    assert "https://" not in out  # a terminal table stays plain


def test_a_commit_url_without_its_placeholder_is_one_line_and_exit_2(
    history_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = history(history_state, capsys, "--commit-url", "https://example.com/commit/")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "--commit-url" in err
    assert "{sha}" in err

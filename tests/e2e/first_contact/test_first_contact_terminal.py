"""What a terminal shows: every manifest problem, short console logs, ``--quiet``, progress on
stderr only, and a note when a tag lands on a commit that was already synced.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, RunCli

pytestmark = pytest.mark.slow

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_every_manifest_problem_is_shown_on_its_own_indented_line(
    sync_once: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.write(
        "broken/package.yaml",
        "name: broken\nfunctions:\n"
        "  - {name: A, type: BEFORE_PUBLISH}\n"
        "  - {name: B, type: AFTER_PUBLISH}\n",
    )
    repo.commit("a manifest with two problems")

    result = sync_once("--api-url", emulator.url, "--log-level", "error")

    assert result.code == 1
    missing = "missing; name the code file, relative to the package directory"
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("failed   broken"))
    assert lines[at].endswith(
        f"error: broken/package.yaml: functions[0].file: {missing} (and 1 more problem)"
    )
    assert lines[at + 1] == f"    functions[1].file: {missing}"  # the other one, indented


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """The installed CLI with stderr on a pseudo-terminal (stdout a pipe): what a user sees."""
    leader, follower = pty.openpty()
    env = {**os.environ, "FAAS_API_KEY": API_KEY, "COLUMNS": "200"}
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        env.pop(name, None)
    with subprocess.Popen(
        [sys.executable, "-m", "faas_gitops.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    ) as process:
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        stdout = process.stdout.read().decode() if process.stdout else ""
        code = process.wait(timeout=60)
    os.close(leader)
    return code, stdout, b"".join(chunks).decode(errors="replace")


def test_console_logs_on_a_terminal_are_short_and_stay_off_stdout(
    emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    code, stdout, terminal = run_on_a_terminal(
        ["--sync-once", "--repo", str(repo.root), "--api-url", emulator.url,
         "--state-dir", str(tmp_path / "state")],
        tmp_path,
    )  # fmt: skip

    assert code == 0, terminal
    assert stdout.startswith("created")  # the result, on stdout alone
    text = _ANSI.sub("", terminal).replace("\r", "\n")
    logged = [line for line in text.splitlines() if "package.created" in line]
    assert len(logged) == 3
    assert all(len(line) <= 120 for line in logged), logged
    assert "{" not in "".join(logged)  # console lines, not JSON
    assert "synced 3/3 packages" in text  # the progress line, drawn on the terminal
    assert "synced" not in stdout


def test_quiet_prints_only_the_result(sync_once: RunCli, emulator: RunningEmulator) -> None:
    result = sync_once("--api-url", emulator.url, "--quiet", "--log-format", "console")

    assert result.code == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("3 packages: 3 created, 0 unchanged")


def test_progress_goes_to_stderr_and_never_to_stdout(
    sync_once: RunCli, emulator: RunningEmulator
) -> None:
    result = sync_once(
        "--api-url", emulator.url, "--progress", "--output", "json", "--log-level", "error"
    )

    assert result.code == 0
    assert result.stderr.splitlines()[-1] == "synced 3/3 packages"
    assert "synced" not in result.stdout
    assert json.loads(result.stdout)["summary"]["created"] == 3


def test_a_tag_pushed_after_its_commit_was_synced_points_at_the_existing_revision(
    sync_once: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    first = sync_once("--api-url", emulator.url, "--log-level", "error")
    assert first.code == 0
    sha = repo.head()[:12]
    repo.tag("v1.0.0")
    posts = sum(r.method == "POST" for r in emulator.requests)

    again = sync_once("--api-url", emulator.url, "--log-format", "json")

    assert again.code == 0, again.stderr
    assert sum(r.method == "POST" for r in emulator.requests) == posts  # no second revision
    assert (
        f"note: chat-moderation: tag v1.0.0 points at the existing revision {sha} (same content,"
        " no new revision; tag before pushing, or push the tag with the commit)"
    ) in again.stdout.splitlines()
    events = [json.loads(line) for line in again.stderr.splitlines() if line.startswith("{")]
    told = [e for e in events if e["event"] == "revision.tag_points_at_existing"]
    assert [(e["path"], e["tag"], e["revision_name"]) for e in told] == [
        ("chat-moderation", "v1.0.0", sha),
        ("presence-tracker", "v1.0.0", sha),
        ("webhooks", "v1.0.0", sha),
    ]
    # CI reads JSON and posts markdown: the same notes reach both.
    note = f"chat-moderation: tag v1.0.0 points at the existing revision {sha} (same content,"
    as_json = sync_once("--api-url", emulator.url, "--log-level", "error", "--output", "json")
    notes = json.loads(as_json.stdout)["notes"]
    assert len(notes) == 3
    assert notes[0].startswith(note)
    as_markdown = sync_once(
        "--api-url", emulator.url, "--log-level", "error", "--output", "markdown"
    )
    lines = as_markdown.stdout.splitlines()
    assert "**Notes**" in lines
    assert sum(line.startswith(f"- `{note}") for line in lines) == 1

"""Dry-run plans a reviewer can read: every change names its function, config diffs are per
key, a rename is labelled, and markdown names the package, not only its UUID.

Each test syncs the sample repository for real, commits one change, and reads the dry run the
CLI prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID, Run, RunCli

pytestmark = pytest.mark.slow

MANIFEST = "chat-moderation/package.yaml"


@pytest.fixture
def synced(sync_once: RunCli, emulator: RunningEmulator) -> RunCli:
    """The sample synced once; returns a runner that adds the emulator URL and quiet logs."""

    def run(*args: str) -> Run:
        return sync_once("--api-url", emulator.url, "--log-level", "error", *args)

    first = sync_once("--api-url", emulator.url, "--log-level", "error")
    assert first.code == 0, first.stderr
    return run


def edit(repo: GitRepo, old: str, new: str) -> None:
    path = Path(repo.root) / MANIFEST
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    repo.commit("edit the chat moderation manifest")


def test_a_config_only_change_names_the_function_and_shows_only_the_changed_key(
    synced: RunCli, repo: GitRepo
) -> None:
    edit(repo, 'mask: "*"', 'mask: "#"')

    result = synced("--dry-run")

    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("=== chat-moderation: 1 function changed")
    assert lines[at + 1 : at + 3] == [
        "function Profanity Filter: modified",
        'config.mask: "*" -> "#"',
    ]
    assert not any(line.startswith("config.inputChannel") for line in lines)  # unchanged key


def test_a_function_renamed_with_identical_code_is_one_renamed_line(
    synced: RunCli, repo: GitRepo
) -> None:
    edit(repo, "name: Audit Log", "name: Audit Trail")

    result = synced("--dry-run")

    assert result.code == 0, result.stderr
    assert "function Audit Trail: renamed Audit Log -> Audit Trail" in result.stdout.splitlines()
    assert "(none) ->" not in result.stdout


def test_a_type_only_change_names_its_function_in_markdown_with_the_package_name(
    synced: RunCli, repo: GitRepo
) -> None:
    edit(repo, "type: AFTER_PUBLISH", "type: AFTER_PRESENCE")

    result = synced("--dry-run", "--output", "markdown")

    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"| `chat-moderation` | `chat-moderation ({CHAT_ID})` | would-create |" in result.stdout
    assert "function Audit Log: modified" in lines
    assert "type: AFTER_PUBLISH -> AFTER_PRESENCE" in lines

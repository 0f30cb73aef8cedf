"""The real CLI, bound to the test's capture, environment and one state dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from hardening_support import SyncCli, sync

from e2e import Run
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo


@pytest.fixture
def cli_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SyncCli:
    def run(emulator: RunningEmulator, repo: GitRepo, *args: str, log_format: str = "json") -> Run:
        return sync(
            capsys, monkeypatch, emulator, repo, tmp_path / "state", *args, log_format=log_format
        )

    return run

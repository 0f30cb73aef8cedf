"""The hardening journeys' runner: ``faas-gitops --sync-once`` in-process against the emulator
and repository each test builds for itself (they are the hostile part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.hardening.hardening_support import SyncCli
from tests.gitrepo import GitRepo
from tests.harness import Run, RunCli


@pytest.fixture
def hardened_cli(cli_run: RunCli, state: Path) -> SyncCli:
    def run(emulator: RunningEmulator, repo: GitRepo, *args: str, log_format: str = "json") -> Run:
        return cli_run(
            "--sync-once",
            "--repo", str(repo.root),
            "--api-url", emulator.url,
            "--state-dir", str(state),
            "--log-format", log_format,
            *args,
        )  # fmt: skip

    return run

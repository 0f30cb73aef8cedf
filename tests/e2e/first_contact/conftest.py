"""The first-contact journeys' runner: what a new user sees from the real CLI, run on the
sample repository (``repo``) into ``state``, against whichever ``--api-url`` the test gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo
from tests.harness import Run, RunCli


@pytest.fixture
def sync_once(cli_run: RunCli, repo: GitRepo, state: Path) -> RunCli:
    """``faas-gitops --sync-once --repo REPO --state-dir STATE ARGS...`` (add ``--api-url``)."""

    def run(*args: str) -> Run:
        return cli_run("--sync-once", "--repo", str(repo.root), "--state-dir", str(state), *args)

    return run

"""Fixtures for the first-contact tests: what a new user sees from the real CLI.

The sample repository committed for real in ``tmp_path``, the emulator on loopback (seeded like
the sample's remote), and ``faas-gitops`` run in-process with stdout and stderr kept apart.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import API_KEY, PACKAGES_ONLY, SAMPLE_REPO, Run, RunCli
from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emu:
        emu.store.seed_from(SAMPLE_REPO)
        yield emu


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repository = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repository.commit("Import the sample packages")
    return repository


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's key in ``FAAS_API_KEY``, and no other API setting from outside."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def faas(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, repo: GitRepo, api_key: None
) -> RunCli:
    """``faas-gitops --sync-once --repo REPO --state-dir STATE ARGS...`` (add ``--api-url``)."""
    state = tmp_path / "state"

    def run(*args: str) -> Run:
        argv = ["--sync-once", "--repo", str(repo.root), "--state-dir", str(state), *args]
        capsys.readouterr()
        code = cli.main(argv)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run

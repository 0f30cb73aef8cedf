"""Fixtures for the ``status``/``history``/notification tests (``pytest_plugins``): a real
git repository, the emulator on loopback, and the real CLI entry point run in-process (one
API mode: these tests are about what a person sees, not the API's undocumented choices)."""

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
    config = EmulatorConfig(api_key=API_KEY, list_order="shuffled", revision_list_code="omit")
    with serve_in_thread(config) as emu:
        emu.store.seed_from(SAMPLE_REPO)
        yield emu


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repository = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repository.commit("Import the sample packages")
    return repository


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cli_run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``faas-gitops ARGS...`` in-process, stdout and stderr captured separately."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def sync(cli_run: RunCli, emulator: RunningEmulator, repo: GitRepo, state: Path) -> RunCli:
    """``faas-gitops --sync-once`` of ``repo`` against ``emulator`` into ``state``."""

    def run(*args: str) -> Run:
        return cli_run(
            "--sync-once",
            "--repo", str(repo.root),
            "--api-url", emulator.url,
            "--state-dir", str(state),
            "--log-format", "json",
            *args,
        )  # fmt: skip

    return run

"""Fixtures for end-to-end syncs: a real git repository in tmp_path, the emulator on loopback,
and the real CLI entry point run in-process (stdout and stderr captured separately)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hardening_support import SyncCli, sync

from e2e import API_KEY, MODES, PACKAGES_ONLY, SAMPLE_REPO, Run, RunCli
from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo


@pytest.fixture(params=list(MODES), ids=list(MODES))
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(MODES[request.param])


@pytest.fixture
def emulator(mode: dict[str, Any]) -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(api_key=API_KEY, **mode)) as emu:
        emu.store.seed_from(SAMPLE_REPO)
        yield emu


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """The sample repository, committed as one real git commit."""
    repository = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repository.commit("Import the sample packages")
    return repository


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    emulator: RunningEmulator,
    repo: GitRepo,
) -> RunCli:
    """Run ``faas-gitops --sync-once`` against the emulator; extra args are appended."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "state"

    def run(*args: str, base: bool = True) -> Run:
        argv = list(args)
        if base:
            argv = [
                "--sync-once",
                "--repo", str(repo.root),
                "--api-url", emulator.url,
                "--state-dir", str(state),
                "--log-format", "json",
                *argv,
            ]  # fmt: skip
        capsys.readouterr()
        code = cli.main(argv)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty repository, for tests that build their own packages."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def hardened_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SyncCli:
    def run(emulator: RunningEmulator, repo: GitRepo, *args: str, log_format: str = "json") -> Run:
        return sync(
            capsys, monkeypatch, emulator, repo, tmp_path / "state", *args, log_format=log_format
        )

    return run


@pytest.fixture
def unfiltered_logs() -> Iterator[None]:
    """For tests that read events with ``capture_logs``, which swaps processors only: a level
    filter left by an earlier in-process run (``--log-level error``) would drop the events the
    test looks for, so the result would depend on test order."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()

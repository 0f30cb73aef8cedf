"""The CLI runners of the journeys: the real ``faas-gitops`` entry point run in-process, stdout
and stderr captured apart, with the emulator's key in the environment and no other API setting
from outside. The emulator and the repositories come from ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops import cli
from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.hardening.hardening_support import SyncCli
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, Run, RunCli


@pytest.fixture
def api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``FAAS_API_KEY`` is the emulator's key; no other API setting comes from outside."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME", "FAAS_GITOPS_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The state dir the runners sync into."""
    return tmp_path / "state"


@pytest.fixture
def cli_run(capsys: pytest.CaptureFixture[str], api_key_env: None) -> RunCli:
    """``faas-gitops ARGS...`` in-process."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def run_cli(cli_run: RunCli, emulator: RunningEmulator, repo: GitRepo, state: Path) -> RunCli:
    """``faas-gitops --sync-once`` of ``repo`` against ``emulator`` into ``state``; extra args
    are appended (``base=False``: the args alone, as ``cli_run``)."""

    def run(*args: str, base: bool = True) -> Run:
        if not base:
            return cli_run(*args)
        return cli_run(
            "--sync-once",
            "--repo", str(repo.root),
            "--api-url", emulator.url,
            "--state-dir", str(state),
            "--log-format", "json",
            *args,
        )  # fmt: skip

    return run


@pytest.fixture
def hardened_cli(cli_run: RunCli, state: Path) -> SyncCli:
    """``faas-gitops --sync-once`` against the emulator and repository a test builds for itself
    (the hardening, notification and damaged-state journeys)."""

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

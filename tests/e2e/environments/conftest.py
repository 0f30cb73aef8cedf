"""Fixtures for environment tests, loaded with ``pytest_plugins = ["environments_fixtures"]``:
the sample repository *with* its ``faas-gitops.yaml``, the emulator on loopback (fast
deployments) in both list modes, and the real CLI run in-process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from environments_support import Env

from e2e import API_KEY, MODES, SAMPLE_REPO
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from gitrepo import GitRepo


@pytest.fixture(params=list(MODES), ids=list(MODES))
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(MODES[request.param])


@pytest.fixture
def emulator_config(mode: dict[str, Any]) -> dict[str, Any]:
    """Override fields here (``emulator_config["max_running_deployments"] = 2``) per test."""
    return {"api_key": API_KEY, "deploy_delay_ms": 20, "max_running_deployments": 20, **mode}


@pytest.fixture
def env(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    emulator_config: dict[str, Any],
) -> Iterator[Env]:
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME", "FAAS_GITOPS_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    repository = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True)
    repository.commit("Import the sample packages")
    with serve_in_thread(EmulatorConfig(**emulator_config)) as emu:
        emu.store.seed_from(SAMPLE_REPO)
        yield Env(emu, repository, tmp_path / "state", capsys)

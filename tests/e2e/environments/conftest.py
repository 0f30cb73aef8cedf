"""The environment journeys' world: the sample repository *with* its ``faas-gitops.yaml``, the
emulator (``tests/conftest.py``: fast deployments; a module marks ``both_modes`` where the
API's open choices could matter) and the real CLI run in-process (``Env.cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.environments.environments_support import Env
from tests.harness import sample_repo


@pytest.fixture
def env(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emulator: RunningEmulator, api_key_env: None
) -> Env:
    return Env(emulator, sample_repo(tmp_path / "repo", policy=True), tmp_path / "state", capsys)

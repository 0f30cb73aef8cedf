"""Constants, types and builders shared by the tests that drive the emulator and the CLI
(importable from any test folder as ``tests.harness``)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from faas_gitops.emulator import EmulatorStore
from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[1]
"""The project's checkout: README, sample-repo, deploy/, examples/, scripts/."""
API_KEY = "sk-test-0123456789-secret"
SAMPLE_REPO = ROOT / "sample-repo"
# The packages only: tests that are not about environments copy the sample without its
# faas-gitops.yaml, so their syncs make no deployment call (tests/e2e/environments keep it).
PACKAGES_ONLY = shutil.ignore_patterns("faas-gitops.yaml")
CHAT_ID = "550e8400-e29b-41d4-a716-446655440000"
#: A function as the API holds one (the sample's chat filter, shortened): for revisions a test
#: adds to the emulator by hand, as someone in the portal would.
CHAT_FUNCTION: dict[str, Any] = {
    "name": "Profanity Filter",
    "type": "BEFORE_PUBLISH",
    "language": "JAVASCRIPT",
    "sortOrder": 0,
    "code": "export default (request) => request.ok();",
    "config": {},
}
WEBHOOKS_ID = "6fa459ea-ee8a-3ca4-894e-db77e160355e"

# Both values of every switch the docs leave open, spread over two configurations. A test runs
# against ONE_MODE unless it is marked ``both_modes`` (see tests/conftest.py).
MODES = {
    "shuffled-omit-400-201": {
        "list_order": "shuffled",
        "revision_list_code": "omit",
        "not_found_status": 400,
        "create_status": 201,
    },
    "created-include-404-200": {
        "list_order": "created",
        "revision_list_code": "include",
        "not_found_status": 404,
        "create_status": 200,
    },
}
ONE_MODE = "shuffled-omit-400-201"
"""The emulator's own defaults: what a test that is not about the API's open choices gets."""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


RunCli = Callable[..., Run]


class StartEmulator(Protocol):
    """Start one more emulator for this test; it is stopped at teardown."""

    def __call__(
        self, store: EmulatorStore | None = None, *, sample: bool = False, **overrides: Any
    ) -> RunningEmulator: ...


def sample_repo(root: Path, *, policy: bool = False) -> GitRepo:
    """The sample repository committed as one real git commit at ``root``; without its
    ``faas-gitops.yaml`` (so a sync makes no deployment call) unless ``policy``."""
    repository = GitRepo(root)
    ignore = None if policy else PACKAGES_ONLY
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True, ignore=ignore)
    repository.commit("Import the sample packages")
    return repository


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

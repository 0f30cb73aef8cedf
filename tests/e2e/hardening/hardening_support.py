"""Shared by the hardening tests: the runner's type (``hardened_cli``, this folder's conftest)
and reading its answers."""

from __future__ import annotations

import json
from typing import Any, Protocol

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import Run


class SyncCli(Protocol):
    """``sync`` bound to one test's capture, environment and state dir."""

    def __call__(
        self, emulator: RunningEmulator, repo: GitRepo, *args: str, log_format: str = "json"
    ) -> Run: ...


def document(run: Run) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(run.stdout)
    return parsed


def by_path(run: Run) -> dict[str, dict[str, Any]]:
    return {p["path"]: p for p in document(run)["packages"]}

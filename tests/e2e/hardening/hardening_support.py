"""Shared by the hardening tests: the real CLI against an emulator, and reading its answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

import pytest

from e2e import API_KEY, PACKAGES_ONLY, SAMPLE_REPO, Run
from faas_gitops import cli
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo


def sample_repo(root: Path) -> GitRepo:
    repository = GitRepo(root)
    shutil.copytree(SAMPLE_REPO, repository.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repository.commit("Import the sample packages")
    return repository


def sync(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emulator: RunningEmulator,
    repo: GitRepo,
    state: Path,
    *args: str,
    log_format: str = "json",
) -> Run:
    """``faas-gitops --sync-once`` in-process, stdout and stderr captured apart."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    argv = [
        "--sync-once",
        "--repo", str(repo.root),
        "--api-url", emulator.url,
        "--state-dir", str(state),
        "--log-format", log_format,
        *args,
    ]  # fmt: skip
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return Run(code, out, err)


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

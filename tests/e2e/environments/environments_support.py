"""What the environment tests share: the CLI runner bound to one emulator and repository, and
what runs where, read from the emulator's store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faas_gitops import cli
from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import Run

STAGING = 412345
PRODUCTION = 498765
PACKAGES = ("chat-moderation", "presence-tracker", "webhooks")
DEPLOYMENT_PATHS = ("/v2/faas/package-deployments", "/v2/faas/limits", "/function-deployments")


@dataclass
class Env:
    """One test's world: the emulator, the repository and a way to run the CLI."""

    emulator: RunningEmulator
    repo: GitRepo
    state: Path
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str, sync: bool = True) -> Run:
        argv = list(args)
        if sync:
            argv = ["--sync-once", *self.base(), *argv]
        self.capsys.readouterr()
        code = cli.main(argv)
        out, err = self.capsys.readouterr()
        return Run(code, out, err)

    def base(self) -> list[str]:
        return [
            "--repo", str(self.repo.root),
            "--api-url", self.emulator.url,
            "--state-dir", str(self.state),
            "--log-format", "json",
        ]  # fmt: skip

    def sync_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        run = self.cli("--output", "json", *args)
        assert run.stdout, run.stderr
        return run.code, json.loads(run.stdout)

    def running(self, keyset_id: int) -> dict[str, str]:
        """Package name -> the revision name RUNNING on the keyset, from the emulator's store."""
        store = self.emulator.store
        found: dict[str, str] = {}
        for package in store.packages():
            for revision in store.revisions(package["id"]):
                for deployment in store.revision_deployments(revision["id"]):
                    if deployment["keysetId"] == keyset_id and deployment["state"] == "RUNNING":
                        assert package["name"] not in found, "two deployments running"
                        found[package["name"]] = revision["name"]
        return found

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.emulator.requests if r.method != "GET"]

    def deployment_calls(self) -> list[tuple[str, str]]:
        return [
            (r.method, r.path)
            for r in self.emulator.requests
            if any(part in r.path for part in DEPLOYMENT_PATHS)
        ]

    def clear(self) -> None:
        self.emulator.clear_requests()


def statuses(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(package path, environment) -> deployment status, from a JSON sync result."""
    return {
        (package["path"], deployment["environment"]): deployment["status"]
        for package in document["packages"]
        for deployment in package["deployments"]
    }


def deployments(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(package path, environment) -> its deployment document, from a JSON sync result."""
    return {
        (package["path"], deployment["environment"]): deployment
        for package in document["packages"]
        for deployment in package["deployments"]
    }

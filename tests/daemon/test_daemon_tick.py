"""One daemon wake-up resolves its ref once, and syncs the very commit it resolved."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from faas_gitops.daemon import Daemon
from faas_gitops.daemon.triggers import Wake
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.models import CommitInfo
from faas_gitops.reconcile.session import Session
from faas_gitops.settings import ApiSettings, GitSettings, Settings
from faas_gitops.source import Repository
from tests.harness import API_KEY, SAMPLE_REPO, sample_repo

pytestmark = pytest.mark.slow


def test_a_wake_up_resolves_the_ref_once_and_syncs_that_commit_even_if_another_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = sample_repo(tmp_path / "repo")
    resolved_sha = repo.head()
    resolves: list[str | None] = []
    original = Repository.resolve

    def resolve_then_commit(self: Repository, ref: str | None = "HEAD") -> CommitInfo:
        resolves.append(ref)
        commit = original(self, ref)
        repo.write("webhooks/later.js", "export default 2;\n").commit("Lands meanwhile")
        return commit

    monkeypatch.setattr(Repository, "resolve", resolve_then_commit)

    with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        settings = Settings(
            git=GitSettings(repo=str(repo.root)),
            api=ApiSettings(url=emulator.url, key=SecretStr(API_KEY)),
            state_dir=tmp_path / "state",
        )
        daemon = Daemon(settings)

        async def one_wake_up() -> Any:
            async with Session.open(settings) as session:
                daemon.tick.remember_from(session)
                failed = await daemon.tick.run(Wake("webhook", force=True), time.monotonic())
                daemon.tick.close()
                return failed

        failed = asyncio.run(one_wake_up())

    assert failed is False
    assert resolves == ["HEAD"]
    assert daemon.state.commit == resolved_sha
    assert repo.head() != resolved_sha

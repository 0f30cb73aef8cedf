"""The watcher of a local repository wakes for tags however git stores them: a loose ref below
``refs/tags/`` (lightweight or annotated), or a line of ``packed-refs`` (after ``git pack-refs``,
a deleted packed tag rewrites that file). In-process, on real repositories."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from faas_gitops.daemon.triggers import RepoWatcher
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.slow


def wakes(repo: GitRepo, change: Callable[[], object]) -> bool:
    """Whether ``change`` (run in a thread once the watches are placed) wakes the watcher."""

    async def scenario() -> bool:
        changed = asyncio.Event()
        watcher = RepoWatcher(str(repo.root), changed.set)
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.3)  # let the inotify watches be placed
        await asyncio.to_thread(change)
        try:
            await asyncio.wait_for(changed.wait(), timeout=10)
        except TimeoutError:
            pass
        finally:
            watcher.stop()
            await asyncio.wait_for(task, timeout=10)
        return changed.is_set()

    return asyncio.run(scenario())


@pytest.mark.parametrize("annotated", [False, True], ids=["lightweight", "annotated"])
def test_a_new_tag_wakes_the_watcher(repo: GitRepo, annotated: bool) -> None:
    message = "Release 1.3.0" if annotated else None
    assert wakes(repo, lambda: repo.tag("v1.3.0", message=message)) is True


def test_packing_the_tags_and_deleting_a_packed_tag_wake_the_watcher(repo: GitRepo) -> None:
    repo.tag("v1.2.0")
    assert wakes(repo, lambda: repo.git("pack-refs", "--all")) is True
    assert not (repo.root / ".git" / "refs" / "tags" / "v1.2.0").exists()  # only packed now
    assert wakes(repo, lambda: repo.git("tag", "--delete", "v1.2.0")) is True

"""The git side of a sync: one thread for git, and package reads paced by the questions.

GitPython's object database is not thread-safe, so every git read of a sync runs in its one
``GitThread``, except a large read's packages: a child process reads those (``read_process``)
once it has started. Packages are read in chunks (two pipelined ``cat-file`` round trips each)
while earlier chunks are already being asked about, never more than ``_CHUNKS_AHEAD`` chunks
ahead of the questions. With each chunk, git also reads what the state dir says the replaced
revisions hold (``EarlierSync``): everything the read stage needs from git arrives with the
package, as a frozen value, so nothing later calls back into git.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from faas_gitops.errors import FaasGitopsError
from faas_gitops.models import DesiredPackage, PackageFailure, PackageRef
from faas_gitops.reconcile.read_process import ReadProcess, read_process
from faas_gitops.reconcile.remote import EarlierSync, RevisionCache
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.limits import SizeLimits
from faas_gitops.state.cache import SyncedPackage

_T = TypeVar("_T")
# Packages read from git per batch: the first small, so the first requests go out at once.
_FIRST_CHUNK = 8
_CHUNK = 64
# Chunks read and not yet wholly asked about. Git reads a chunk in a fraction of the time the
# API takes to answer for it; unpaced, the git thread would read the whole commit at once and,
# sharing the GIL, halve the request rate for as long as that takes (measured: the first 2.5 s
# of a 4,000-package sync at half speed). Three keep two chunks of questions queued.
_CHUNKS_AHEAD = 3

#: What the read stage does with each package read (with its ``EarlierSync``, if any).
Ask = Callable[[DesiredPackage | PackageFailure, EarlierSync | None], Coroutine[Any, Any, None]]


class GitThread:
    """The sync's one git thread: ``await in_git(fn, *args)`` runs ``fn`` there."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self._executor = executor

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[GitThread]:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="git") as executor:
            yield cls(executor)

    async def __call__(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def open_source(settings: Settings, repo: Path | None) -> Repository:
    """The repository of this sync: ``repo`` as given (a checkout the caller prepared), else
    what ``--repo`` names (a local path, or a URL's mirror fetched now)."""
    if repo is not None:
        return Repository(repo)
    return Repository.open(settings.git, settings.state_dir)


def read_chunks(refs: Sequence[PackageRef]) -> list[Sequence[PackageRef]]:
    """The refs in read order, cut so the first requests leave early and later chunks are
    big enough for git's batches to pay (two round trips per chunk)."""
    chunks: list[Sequence[PackageRef]] = []
    start, size = 0, _FIRST_CHUNK
    while start < len(refs):
        chunks.append(refs[start : start + size])
        start, size = start + size, _CHUNK
    return chunks


@dataclass(frozen=True, slots=True)
class EarlierTree:
    """A package directory's tree at its last in-sync record, and the revision it matched."""

    ref: PackageRef
    revision_id: str


def earlier_trees(
    to_read: Sequence[PackageRef], synced: Mapping[str, SyncedPackage], cache: RevisionCache
) -> dict[str, EarlierTree]:
    """Which changed packages are worth reading as they were when last in sync: those whose
    record names a revision and a tree, and whose revision the cache of fetched revisions does
    not already hold (the read stage uses the tree only if that revision is still the latest).
    Asked on the event loop's thread: the cache is not the git thread's."""
    wanted: dict[str, EarlierTree] = {}
    for ref in to_read:
        known = synced.get(ref.path)
        if known is None or not known.revision_id or not known.tree_id:
            continue
        if cache.get(known.revision_id) is not None:
            continue
        then = PackageRef(ref.path, known.tree_id, commit="")  # its errors are dropped
        wanted[ref.path] = EarlierTree(then, known.revision_id)
    return wanted


def read_earlier(
    source: Repository, wanted: Sequence[EarlierTree], limits: SizeLimits
) -> dict[str, EarlierSync]:
    """The functions of the trees in ``wanted`` (blocking git). A tree git no longer has (a
    shallow clone), or that no longer reads as a package, is left out: the revision is fetched
    instead."""
    if not wanted:
        return {}
    try:
        items = source.read_packages([then.ref for then in wanted], limits)
    except FaasGitopsError:  # one of them is gone: read them one by one
        items = []
        for then in wanted:
            try:
                items.extend(source.read_packages([then.ref], limits))
            except FaasGitopsError:
                items.append(PackageFailure(then.ref.path, "gone"))
    return {
        then.ref.path: EarlierSync(then.revision_id, item.functions)
        for then, item in zip(wanted, items, strict=True)
        if isinstance(item, DesiredPackage)
    }


async def read_paced(
    in_git: GitThread,
    source: Repository,
    to_read: Sequence[PackageRef],
    *,
    limits: SizeLimits,
    earlier: Mapping[str, EarlierTree],
    ask: Ask,
) -> None:
    """Read ``to_read`` chunk by chunk and ``ask`` about every package as its chunk arrives.

    A chunk is read only while fewer than ``_CHUNKS_AHEAD`` earlier ones are still being asked
    about (FIFO: chunks are still read in order). Errors of ``ask`` or of git propagate as a
    task group's.
    """
    ahead = asyncio.Semaphore(_CHUNKS_AHEAD)

    async def read_chunk(chunk: Sequence[PackageRef], helper: ReadProcess | None) -> None:
        async with ahead:
            items = await helper.read(chunk, limits) if helper is not None else None
            if items is None:
                items = await in_git(source.read_packages, chunk, limits)
            wanted = [earlier[ref.path] for ref in chunk if ref.path in earlier]
            then = await in_git(read_earlier, source, wanted, limits) if wanted else {}
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(ask(item, then.get(item.path)))

    async with read_process(source, len(to_read)) as helper, asyncio.TaskGroup() as group:
        for chunk in read_chunks(to_read):
            group.create_task(read_chunk(chunk, helper))


__all__ = [
    "Ask",
    "EarlierTree",
    "GitThread",
    "earlier_trees",
    "open_source",
    "read_chunks",
    "read_earlier",
    "read_paced",
]

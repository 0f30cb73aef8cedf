"""What wakes the daemon: a size-1 wake-up mailbox and the watcher of a local repository.

Every trigger (file watch, poll tick, webhook, resync timer, retry after a failure) only *sets*
the ``Wakeup``; the sync loop is the one place that acts on it. Triggers that arrive while a sync
runs collapse into one pending wake-up, like git-sync's size-1 channel, and the sync that follows
resolves the ref afresh, so the newest commit always wins and no commit is synced twice in a row.

The ``RepoWatcher`` watches only what changes when a commit lands or a ref moves: ``HEAD``,
``packed-refs`` and ``refs/`` of the repository's git directories (so a new tag below
``refs/tags/`` or in ``packed-refs``, and a moved configuration branch, wake it too; whether they
change anything is the sync loop's comparison), never the working tree, whose edits are not
commits; and, when ``--repo`` is a git-sync ``--link`` symlink (or does not exist yet), the
link's parent directory, non-recursively, for the atomic rename that swaps the link. A swap
re-aims the watcher at the new worktree's git directories.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

import structlog
from watchfiles import Change, awatch

from faas_gitops.errors import SourceError
from faas_gitops.source import Repository

log = structlog.get_logger(__name__)

#: Group file events for at most this long before waking the loop (a commit writes a ref lock,
#: then renames it; a git-sync swap creates a temporary link, then renames it).
DEBOUNCE_MS = 150
#: Wake-up after this long without a new event: the bulk of the commit-to-revision latency.
STEP_MS = 30
#: How long to wait before watching again after the watched paths vanished or errored.
REWATCH_DELAY_S = 0.5


@dataclass(frozen=True, slots=True)
class Wake:
    """One collapsed wake-up: the latest reason, and whether any trigger demanded a full sync.

    ``force`` and ``full`` are sticky across the collapse: a webhook or resync followed by a file
    event must still sync even if the commit did not change (and a resync must still re-check
    every package), so "the latest wins" applies to the reason (the label in logs and the
    ledger), never to the demand.
    """

    reason: str
    force: bool
    full: bool = False  # re-check every package with the API, even unchanged directories


class Wakeup:
    """A size-1 mailbox: ``set`` never blocks, ``wait`` returns the collapsed wake-up.

    Only touched from the event loop's thread (signal handlers installed with
    ``loop.add_signal_handler`` and ``loop.call_later`` callbacks run there too).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._reason: str | None = None
        self._force = False
        self._full = False
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def set(self, reason: str, *, force: bool = False, full: bool = False) -> bool:
        """Ask for a sync; False (and nothing happens) once the mailbox is closed."""
        if self._closed:
            return False
        self._reason = reason
        self._force = self._force or force or full
        self._full = self._full or full
        self._event.set()
        return True

    def close(self) -> None:
        """Stop taking triggers; a waiting ``wait`` returns None at once."""
        self._closed = True
        self._event.set()

    async def wait(self) -> Wake | None:
        """The next wake-up, or None when closed (pending triggers are dropped then)."""
        await self._event.wait()
        if self._closed or self._reason is None:
            return None
        wake = Wake(self._reason, self._force, self._full)
        self._event.clear()
        self._reason = None
        self._force = self._full = False
        return wake


# --------------------------------------------------------------------------- what to watch
@dataclass(frozen=True, slots=True)
class WatchSet:
    """Paths watched together by one ``awatch``, and which of their events matter."""

    paths: tuple[Path, ...]
    recursive: bool
    accept: Callable[[Change, str], bool]
    reaim: bool = False  # an accepted event means the plan itself may have changed


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """Where ``--repo`` points now: the link (if any), its target and the target's git dirs."""

    link: Path | None
    target: Path | None
    git_dirs: tuple[Path, ...]

    def sets(self) -> list[WatchSet]:
        sets: list[WatchSet] = []
        if self.link is not None and self.link.parent.is_dir():
            name = self.link.name
            sets.append(
                WatchSet(
                    (self.link.parent,),
                    recursive=False,
                    accept=lambda _change, path: Path(path).name == name,
                    reaim=True,
                )
            )
        tops = [d for d in self.git_dirs if (d / "HEAD").exists()]
        if tops:
            # HEAD and packed-refs sit at the top of each git dir (non-recursive watch) ...
            sets.append(WatchSet(tuple(tops), recursive=False, accept=_is_top_ref_file))
        refs = [d / "refs" for d in self.git_dirs if (d / "refs").is_dir()]
        if refs:
            # ... and branches and tags below refs/ (recursive), never objects/ or logs/.
            sets.append(WatchSet(tuple(refs), recursive=True, accept=lambda _c, _p: True))
        return sets


def _is_top_ref_file(_change: Change, path: str) -> bool:
    return Path(path).name in ("HEAD", "packed-refs")


def watch_plan(repo: str) -> WatchPlan:
    """Resolve ``--repo`` (blocking: opens the repository) into what should be watched right now."""
    path = Path(repo).absolute()
    missing = not path.exists()
    link = path if path.is_symlink() or missing else None
    if missing:
        return WatchPlan(link=link, target=None, git_dirs=())
    target = path.resolve()
    return WatchPlan(link=link, target=target, git_dirs=git_dirs(target))


def git_dirs(worktree: Path) -> tuple[Path, ...]:
    """The git directory of ``worktree`` and, for a linked worktree, the common one.

    A commit in a linked worktree (git-sync's ``.worktrees/<sha>``, ``git worktree add``) moves
    a branch in the *common* dir while its ``HEAD`` lives in the worktree's own git dir.
    """
    try:
        with Repository(worktree) as repository:
            return repository.git_dirs()
    except (SourceError, OSError):
        return ()


# --------------------------------------------------------------------------- the watcher
@dataclass(eq=False)
class RepoWatcher:
    """Calls ``on_change()`` shortly after a commit lands in (or a link swap changes) ``repo``.

    Runs until ``stop()``; survives the watched directories disappearing (git-sync deletes the
    old worktree after a swap) by working out the plan again after a short pause.
    """

    repo: str
    on_change: Callable[[], None]
    _: KW_ONLY
    debounce_ms: int = DEBOUNCE_MS
    step_ms: int = STEP_MS
    idle_recheck_s: float = 5.0
    plan: WatchPlan | None = field(default=None, init=False)
    _stopped: bool = field(default=False, init=False)
    _round: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def stop(self) -> None:
        self._stopped = True
        self._round.set()

    async def run(self) -> None:
        while not self._stopped:
            plan = await asyncio.to_thread(watch_plan, self.repo)
            if plan != self.plan:
                log.debug(
                    "watch.aimed",
                    link=str(plan.link) if plan.link else None,
                    target=str(plan.target) if plan.target else None,
                    git_dirs=[str(d) for d in plan.git_dirs],
                )
            self.plan = plan
            self._round = asyncio.Event()
            if self._stopped:
                return
            sets = plan.sets()
            if not sets:
                # Nothing to watch yet (e.g. git-sync has not made its link): look again soon.
                await self._pause(self.idle_recheck_s)
                continue
            await asyncio.gather(*(self._watch(watch_set) for watch_set in sets))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._round.wait(), timeout=seconds)

    async def _watch(self, watch_set: WatchSet) -> None:
        """One ``awatch`` until this round ends; any error ends the round for every set."""
        try:
            async for _changes in awatch(
                *watch_set.paths,
                watch_filter=watch_set.accept,
                debounce=self.debounce_ms,
                step=self.step_ms,
                stop_event=self._round,
                recursive=watch_set.recursive,
                ignore_permission_denied=True,
            ):
                self.on_change()
                if watch_set.reaim:
                    self._round.set()
        except Exception as exc:  # noqa: BLE001 - a vanished directory must not stop the daemon
            log.debug("watch.restarting", error=f"{type(exc).__name__}: {exc}")
            self._round.set()
            await asyncio.sleep(REWATCH_DELAY_S)

"""``sync_once()``: the whole pipeline once. ``--sync-once`` and every daemon wake-up call it.

    resolve commit -> package refs -> probe the API -> classify
    -> (read package -> read remote -> plan) each -> refuse shared targets -> write plans
    -> record

Reads overlap: packages are read from git in chunks (two pipelined ``cat-file`` round trips
each) in one thread (GitPython's object database is not thread-safe) while earlier chunks
are already being asked about, at most ``--concurrency`` requests at once, and never more than
``_CHUNKS_AHEAD`` chunks ahead of the questions. Writes start only
once the whole commit was read and checked, so a repository-wide problem writes nothing. Every
stage runs under an ``asyncio.TaskGroup``: a rejected key cancels the siblings without anyone
polling a flag. A dry run is the same pipeline
with no writer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog

from faas_gitops.errors import RUN_STOPPERS, FaasGitopsError
from faas_gitops.models import (
    Action,
    CommitInfo,
    DesiredPackage,
    FunctionSpec,
    Outcome,
    PackageFailure,
    PackagePlan,
    PackageRef,
    RemoteRevision,
    Status,
    SyncResult,
)
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.classify import classify
from faas_gitops.reconcile.journal import SyncJournal
from faas_gitops.reconcile.outcomes import failure, log_outcome, tag_notes, would_create
from faas_gitops.reconcile.release import ReleasePrep
from faas_gitops.reconcile.remote import EarlierContent, RemoteReader, RemoteState, manifest_of
from faas_gitops.reconcile.session import Session
from faas_gitops.reconcile.writer import Writer
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.limits import SizeLimits
from faas_gitops.state.cache import SyncedPackage
from faas_gitops.state.ledger import PendingWrite

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
# Packages read from git per batch: the first small, so the first requests go out at once.
_FIRST_CHUNK = 8
_CHUNK = 64
# Chunks read and not yet wholly asked about. Git reads a chunk in a fraction of the time the
# API takes to answer for it; unpaced, the git thread would read the whole commit at once and,
# sharing the GIL, halve the request rate for as long as that takes (measured: the first 2.5 s
# of a 4,000-package sync at half speed). Three keep two chunks of questions queued.
_CHUNKS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class _Planned:
    """A package read and planned, waiting for the write stage."""

    desired: DesiredPackage
    remote: RemoteState
    plan: PackagePlan | None  # None: no remote package yet (``--create-packages``)


@dataclass(slots=True)
class _Run:
    """One sync's collected results (filled by its tasks, read once they are all done)."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    planned: dict[str, _Planned] = field(default_factory=dict)
    desired: dict[str, DesiredPackage] = field(default_factory=dict)  # read in this sync
    asked: int = 0  # packages the API was asked about
    on_package: Callable[[Outcome], None] | None = None
    told: set[str] = field(default_factory=set)  # paths already passed to ``on_package``

    def settle(self, outcome: Outcome) -> None:
        """A package's outcome is known: keep it and tell ``on_package`` (once per path)."""
        self.outcomes[outcome.path] = outcome
        if self.on_package is not None and outcome.path not in self.told:
            self.told.add(outcome.path)
            self.on_package(outcome)


async def sync_once(
    settings: Settings,
    *,
    repo: Path | None = None,
    repository: Repository | None = None,
    session: Session | None = None,
    trigger: str = "sync-once",
    full: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_package: Callable[[Outcome], None] | None = None,
) -> SyncResult:
    """Sync the commit at ``settings.git.ref`` and record it (unless ``dry_run``).

    ``repository`` is one the caller keeps open (the daemon, fetched before each sync); else
    ``repo`` (a path) or ``--repo`` is opened for this sync alone.

    Raises ``SourceError``/``ConfigError`` when there is nothing to sync at all (bad repo, ref,
    path, limits); everything that concerns one package ends up in that package's ``Outcome``.
    ``on_start(total)`` is called once the package directories are known, ``on_package`` as
    each package's outcome is known (progress); neither may raise.
    """
    run = _Run(on_package=on_package)
    if session is None:
        async with Session.open(settings) as opened:
            return await _sync(
                opened, repo, repository, trigger, full or settings.full_sync, run, on_start
            )
    return await _sync(
        session, repo, repository, trigger, full or settings.full_sync, run, on_start
    )


async def _sync(  # noqa: PLR0917 - one call site
    session: Session,
    repo: Path | None,
    repository: Repository | None,
    trigger: str,
    full: bool,
    run: _Run,
    on_start: Callable[[int], None] | None,
) -> SyncResult:
    settings = session.settings
    started = datetime.now(UTC)
    ref_name = settings.git.ref or "HEAD"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="git") as git_thread:
        loop = asyncio.get_running_loop()

        async def in_git(fn: Callable[..., _T], *args: object) -> _T:
            return await loop.run_in_executor(git_thread, fn, *args)

        source: Repository = (
            repository if repository is not None else await in_git(open_source, settings, repo)
        )
        try:
            commit = await in_git(source.resolve, ref_name)  # a bad --ref asks nothing
            # The first call proves the URL and the key, once: a wrong URL, a dead host or a
            # rejected key stops the run before any package is asked about, with one line. It
            # travels while git lists the package directories; git's own error comes first.
            probe = asyncio.create_task(session.api.probe())
            try:
                refs: Sequence[PackageRef] = await in_git(
                    source.package_refs, commit, settings.git.path, settings.limits
                )
            except BaseException:
                probe.cancel()
                await asyncio.gather(probe, return_exceptions=True)
                raise
            await probe
            if on_start is not None:
                on_start(len(refs))
            structlog.contextvars.bind_contextvars(commit=commit.sha, trigger=trigger)
            try:
                return await _reconcile(
                    session, source, commit, refs, in_git, trigger, full, started, run
                )
            finally:
                structlog.contextvars.unbind_contextvars("commit", "trigger")
        finally:
            if repository is None:
                await in_git(source.close)


async def _reconcile(  # noqa: PLR0917 - one call site, the stages' shared inputs
    session: Session,
    source: Repository,
    commit: CommitInfo,
    refs: Sequence[PackageRef],
    in_git: Callable[..., object],
    trigger: str,
    full: bool,
    started: datetime,
    run: _Run,
) -> SyncResult:
    settings = session.settings
    release = await ReleasePrep.prepare(settings, source, commit, in_git)  # before any write
    ledger = session.ledger
    pending = ledger.pending_writes() if ledger is not None else []
    pending_by_path: defaultdict[str, list[PendingWrite]] = defaultdict(list)
    for row in pending:
        pending_by_path[row.path].append(row)
    synced = session.cache.synced_packages()
    classified = classify(refs, synced, full=full, force=set(pending_by_path))
    journal = SyncJournal.begin(ledger, commit, settings, trigger, started)
    reader = RemoteReader(
        session.api,
        session.cache,
        create_packages=settings.create_packages,
        verify_content=settings.verify_content or full,
        earlier=_earlier_sync(source, synced, in_git, settings.limits),
    )
    for outcome in classified.unchanged:
        run.settle(outcome)
    slots = asyncio.Semaphore(settings.api.concurrency)
    fatal: str | None = None

    async def ask(item: DesiredPackage | PackageFailure) -> None:
        if isinstance(item, PackageFailure):
            run.settle(
                Outcome(
                    path=item.path,
                    status=Status.FAILED,
                    package_id=item.package_id,
                    error=item.error,
                )
            )
            return
        run.desired[item.path] = item
        async with slots:
            run.asked += 1
            await _read_and_plan(reader, item, commit, run, journal, pending_by_path)

    ahead = asyncio.Semaphore(_CHUNKS_AHEAD)

    async def read_chunk(chunk: Sequence[PackageRef]) -> None:
        async with ahead:  # FIFO: chunks are still read in order
            items = await in_git(source.read_packages, chunk, settings.limits)  # type: ignore[misc]
            assert isinstance(items, list)  # noqa: S101
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(ask(item))

    try:
        await _stages(run, read_chunks(classified.to_read), read_chunk,
                      writer=None if settings.dry_run else Writer(reader, commit, journal),
                      slots=slots, commit=commit, unchanged=classified.unchanged)  # fmt: skip
    except RUN_STOPPERS as exc:  # would fail every package alike
        fatal = str(exc)
    if release is not None and fatal is None:
        attached, fatal = await release.run(
            api=session.api, cache=session.cache, ledger=ledger, sync_id=journal.sync_id,
            source=source, refs=refs, outcomes=run.outcomes, desired=run.desired, in_git=in_git,
        )  # fmt: skip
        run.outcomes.update(attached)
    for outcome in run.outcomes.values():
        log_outcome(outcome)
        if outcome.status in (Status.UNCHANGED, Status.REMOVED, Status.FAILED, Status.WOULD_CREATE):
            journal.add(outcome)
    result = SyncResult(
        commit=commit.sha,
        ref=settings.git.ref or "HEAD",
        dry_run=settings.dry_run,
        outcomes=tuple(sorted(run.outcomes.values(), key=lambda o: o.path)),
        started_at=started,
        finished_at=datetime.now(UTC),
        fatal_error=fatal,
        notes=tag_notes(commit, run.outcomes.values()) + (release.notes if release else ()),
    )
    journal.finish(result)
    if not settings.dry_run:
        session.cache.remember(refs, result.outcomes)
        session.cache.flush()
        await session.prune_history()
    log.info(
        "sync.finished",
        commit=result.commit,
        trigger=trigger,
        dry_run=settings.dry_run,
        full=full,
        checked=run.asked,
        duration_s=round((result.finished_at - result.started_at).total_seconds(), 3),
        fatal_error=fatal,
        **result.summary,
    )
    return result


def _earlier_sync(
    source: Repository,
    synced: Mapping[str, SyncedPackage],
    in_git: Callable[..., object],
    limits: SizeLimits,
) -> EarlierContent:
    """What a revision holds, read from the tree its package directory had when the state dir
    last recorded it in sync with that very revision (a warm run's changed package: the diff
    needs the old functions, and git still has them). ``None`` when the record names another
    revision, or the old tree is gone (a shallow clone) or no longer reads as a package."""

    async def earlier(
        desired: DesiredPackage, revision: RemoteRevision
    ) -> tuple[FunctionSpec, ...] | None:
        known = synced.get(desired.path)
        if known is None or known.revision_id != revision.id or not known.tree_id:
            return None
        then = PackageRef(desired.path, known.tree_id, commit="")  # its errors are dropped
        try:
            items = await in_git(source.read_packages, [then], limits)  # type: ignore[misc]
        except FaasGitopsError:
            return None
        assert isinstance(items, list)  # noqa: S101
        item = items[0]
        return item.functions if isinstance(item, DesiredPackage) else None

    return earlier


def read_chunks(refs: Sequence[PackageRef]) -> list[Sequence[PackageRef]]:
    """The refs in read order, cut so the first requests leave early and later chunks are
    big enough for git's batches to pay (two round trips per chunk)."""
    chunks: list[Sequence[PackageRef]] = []
    start, size = 0, _FIRST_CHUNK
    while start < len(refs):
        chunks.append(refs[start : start + size])
        start, size = start + size, _CHUNK
    return chunks


async def _stages(
    run: _Run,
    to_read: Sequence[Sequence[PackageRef]],
    read_one: Callable[[Sequence[PackageRef]], Coroutine[Any, Any, None]],
    *,
    writer: Writer | None,
    slots: asyncio.Semaphore,
    commit: CommitInfo,
    unchanged: Sequence[Outcome],
) -> None:
    """Read and plan every package, then (with a writer) write; unwrap task-group errors.

    A rejected key or an API out of reach (``RUN_STOPPERS``) or a repository-wide problem
    (``SourceError``) in any task cancels the others and is raised here as itself, the first
    one found.
    """
    try:
        async with asyncio.TaskGroup() as group:
            for chunk in to_read:
                group.create_task(read_one(chunk))
        _refuse_shared_targets(run, unchanged)
        if writer is None:
            for planned in run.planned.values():
                run.settle(would_create(planned.desired, planned.plan, commit))
            return
        async with asyncio.TaskGroup() as group:
            for planned in run.planned.values():
                group.create_task(_write(writer, planned, run, slots))
    except BaseExceptionGroup as group:
        stopping = group.subgroup(RUN_STOPPERS)
        first = (stopping or group).exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


async def _read_and_plan(  # noqa: PLR0917 - one call site
    reader: RemoteReader,
    desired: DesiredPackage,
    commit: CommitInfo,
    run: _Run,
    journal: SyncJournal,
    pending_by_path: Mapping[str, list[PendingWrite]],
) -> None:
    try:
        remote = await reader.read(desired)
        plan = None
        if remote.package_id is not None:
            plan = planning.plan_package(
                desired,
                remote_package_id=remote.package_id,
                commit=commit,
                revisions=remote.revisions,
                latest_functions=remote.latest_functions,
            )
            journal.settle_pending(pending_by_path.get(desired.path, ()), remote, plan)
    except RUN_STOPPERS:
        raise
    except FaasGitopsError as exc:
        run.settle(failure(desired, exc))
        return
    if plan is not None and plan.action is Action.NOOP:
        run.settle(
            Outcome(
                path=desired.path,
                status=Status.UNCHANGED,
                package_id=plan.remote_package_id,
                revision_name=plan.revision_name,
                revision_id=plan.latest_revision_id,
                name=desired.name,
            )
        )
        return
    run.planned[desired.path] = _Planned(desired, remote, plan)


async def _write(writer: Writer, planned: _Planned, run: _Run, slots: asyncio.Semaphore) -> None:
    async with slots:
        try:
            if planned.plan is None:
                outcome = await writer.create_package(planned.desired)
            else:
                outcome = await writer.create_revision(planned.plan, planned.remote.revisions)
        except RUN_STOPPERS:
            raise
        except FaasGitopsError as exc:
            outcome = failure(planned.desired, exc, planned.plan)
    run.settle(outcome)


def _refuse_shared_targets(run: _Run, unchanged: Sequence[Outcome]) -> None:
    """Two directories aimed at one remote package would race each other: both fail."""
    by_target: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for planned in run.planned.values():
        desired = planned.desired
        if desired.package_id:
            by_target[f"id:{desired.package_id}"].append((desired.path, "packageId"))
        else:
            by_target[f"name:{desired.name}"].append((desired.path, "name"))
    for path, outcome in run.outcomes.items():
        if outcome.status is Status.UNCHANGED and outcome.package_id:
            by_target[f"id:{outcome.package_id}"].append((path, "packageId"))
    for group in by_target.values():
        if len(group) < 2:
            continue
        paths = ", ".join(sorted(path for path, _ in group))
        for path, field_name in group:
            run.planned.pop(path, None)
            previous = run.outcomes.get(path)
            run.settle(
                Outcome(
                    path=path,
                    status=Status.FAILED,
                    package_id=previous.package_id if previous else None,
                    error=f"{manifest_of(path)}: {field_name}: the same remote package "
                    f"is the target of {paths}; give each directory its own package",
                )
            )


def open_source(settings: Settings, repo: Path | None) -> Repository:
    """The repository of this sync: ``repo`` as given (a checkout the caller prepared), else
    what ``--repo`` names (a local path, or a URL's mirror fetched now)."""
    if repo is not None:
        return Repository(repo)
    return Repository.open(settings.git, settings.state_dir)


__all__ = ["open_source", "read_chunks", "sync_once"]

"""``sync_once()``: the whole pipeline once. ``--sync-once`` and every daemon wake-up call it.

    resolve the commit (once; or given) -> verify its signature (--verify-signatures)
    -> package refs + probe the API -> classify
    -> recover a killed run's creates -> (read package -> read remote -> plan) each
    -> refuse shared targets -> write plans -> release -> record
       (with environments, from the start: inventory; after each plan: its deployment lists)

Each stage takes frozen values and returns frozen values; nothing calls back into an earlier
stage. Reads overlap: packages are read from git in chunks in the sync's one git thread
(``gitread``) while earlier chunks are already being asked about, at most ``--concurrency``
requests at once. What the read stage needs from git (a replaced revision's functions, from the
tree that was in sync with it) arrives with the package. Writes start only once the whole commit
was read and checked, so a repository-wide problem writes nothing. With environments, the
release stage's reads run alongside (``deploy/ahead.py``): the inventory from the start, a
package's deployment lists once its revision list is planned; at the gate they are frozen and
handed forward, so the release stage is left with its decisions and writes. Every stage runs
under an ``asyncio.TaskGroup``: a rejected key cancels the siblings without anyone polling a
flag. A dry run is the same pipeline with no writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from faas_gitops.errors import RUN_STOPPERS
from faas_gitops.models import CommitInfo, Outcome, PackageRef, Status, SyncResult
from faas_gitops.reconcile.checks import refuse_shared_targets
from faas_gitops.reconcile.classify import classify
from faas_gitops.reconcile.gitread import GitThread, earlier_trees, open_source, read_chunks
from faas_gitops.reconcile.journal import SyncJournal
from faas_gitops.reconcile.outcomes import debug_logged, log_outcome, tag_notes, would_create
from faas_gitops.reconcile.recover import recover_pending
from faas_gitops.reconcile.release import ReleasePrep
from faas_gitops.reconcile.remote import RemoteLookups, RemoteReader
from faas_gitops.reconcile.session import Session
from faas_gitops.reconcile.stages import ReadResult, Told, read_stage, write_stage
from faas_gitops.reconcile.trust import UNCHECKED, Trust, judge, verify_source
from faas_gitops.reconcile.writer import Writer
from faas_gitops.settings import Settings
from faas_gitops.source import Repository

log = structlog.get_logger(__name__)

#: Told the commit once it is resolved, before anything is asked or written (``pending``).
OnResolved = Callable[[CommitInfo], Awaitable[None]]


async def sync_once(
    settings: Settings,
    *,
    repo: Path | None = None,
    repository: Repository | None = None,
    commit: CommitInfo | None = None,
    session: Session | None = None,
    trigger: str = "sync-once",
    full: bool = False,
    on_resolved: OnResolved | None = None,
    on_start: Callable[[int], None] | None = None,
    on_package: Callable[[Outcome], None] | None = None,
) -> SyncResult:
    """Sync the commit at ``settings.git.ref`` and record it (unless ``dry_run``).

    ``repository`` is one the caller keeps open (the daemon, fetched before each sync); else
    ``repo`` (a path) or ``--repo`` is opened for this sync alone. ``commit`` is the ref already
    resolved by the caller (the daemon resolves once per tick); else it is resolved here.

    Raises ``SourceError``/``ConfigError`` when there is nothing to sync at all (bad repo, ref,
    path, limits); everything that concerns one package ends up in that package's ``Outcome``.
    ``on_resolved(commit)`` is awaited once the commit is known, before any package is asked
    about (notifications post ``pending`` there); ``on_start(total)`` is called once the
    package directories are known, ``on_package`` as each package's outcome is known
    (progress); none may raise.
    """
    full = full or settings.full_sync
    told = Told(on_package)
    if session is None:
        async with Session.open(settings) as opened:
            return await _sync(
                opened, repo, repository, commit, trigger, full, on_resolved, on_start, told
            )
    return await _sync(
        session, repo, repository, commit, trigger, full, on_resolved, on_start, told
    )


async def _sync(  # noqa: PLR0917 - one call site
    session: Session,
    repo: Path | None,
    repository: Repository | None,
    commit: CommitInfo | None,
    trigger: str,
    full: bool,
    on_resolved: OnResolved | None,
    on_start: Callable[[int], None] | None,
    told: Told,
) -> SyncResult:
    settings = session.settings
    started = datetime.now(UTC)
    with GitThread.start() as in_git:
        source: Repository = (
            repository if repository is not None else await in_git(open_source, settings, repo)
        )
        try:
            if commit is None:  # resolved here, once; a bad --ref asks nothing
                commit = await in_git(source.resolve, settings.git.ref or "HEAD")
            if on_resolved is not None:
                await on_resolved(commit)
            trust = await _trust(session, source, commit, in_git)  # before any request
            refs = await _refs_and_probe(session, source, commit, in_git)
            if on_start is not None:
                on_start(len(refs))
            structlog.contextvars.bind_contextvars(commit=commit.sha, trigger=trigger)
            try:
                return await _reconcile(
                    session, source, commit, refs, in_git, trigger, full, started, told, trust
                )
            finally:
                structlog.contextvars.unbind_contextvars("commit", "trigger")
        finally:
            if repository is None:
                await in_git(source.close)


async def _trust(
    session: Session, source: Repository, commit: CommitInfo, in_git: GitThread
) -> Trust:
    """``--verify-signatures``: the commit (and tag) against the runner's keys, in the git
    thread. ``Untrusted`` for a refused commit, unless a dry run (then a note)."""
    verifier = session.verifier
    if verifier is None:
        return UNCHECKED
    ref = session.settings.git.ref
    verification = await in_git(verify_source, verifier, source, commit, ref)
    return judge(verification, dry_run=session.settings.dry_run)


async def _refs_and_probe(
    session: Session, source: Repository, commit: CommitInfo, in_git: GitThread
) -> Sequence[PackageRef]:
    """The commit's package directories, while the first call proves the URL and the key.

    Once: a wrong URL, a dead host or a rejected key stops the run before any package is asked
    about, with one line. It travels while git lists the package directories; git's own error
    comes first.
    """
    settings = session.settings
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
    return refs


async def _reconcile(  # noqa: PLR0917 - one call site, the stages' shared inputs
    session: Session,
    source: Repository,
    commit: CommitInfo,
    refs: Sequence[PackageRef],
    in_git: GitThread,
    trigger: str,
    full: bool,
    started: datetime,
    told: Told,
    trust: Trust,
) -> SyncResult:
    settings = session.settings
    release = await ReleasePrep.prepare(settings, source, commit, in_git)  # before any write
    ledger = session.ledger
    pending = ledger.pending_writes() if ledger is not None else []
    synced = session.cache.synced_packages()
    # A directory with a create a killed run left pending is always read, so it converges.
    classified = classify(refs, synced, full=full, force={row.path for row in pending})
    verify = settings.verify_content or full
    earlier = {} if verify else earlier_trees(classified.to_read, synced, session.cache)
    deploys = release is not None and bool(release.active)  # its lists are handed over
    lookups = RemoteLookups(session.api, session.cache, verify_content=verify, keep_lists=deploys)
    for outcome in classified.unchanged:
        told.settle(outcome)
    slots = asyncio.Semaphore(settings.api.concurrency)
    ahead = release.reading_ahead(session.api, session.cache, slots) if release else None
    journal = SyncJournal.begin(
        ledger, commit, settings, trigger, started, verified_by=trust.verified_by
    )
    fatal: str | None = None
    read = ReadResult({}, (), 0, {})
    reads = None
    try:
        if ahead is not None:
            ahead.begin()
        if ledger is not None:
            await recover_pending(lookups, ledger, pending, concurrency=settings.api.concurrency)
        read = await read_stage(
            RemoteReader(lookups, create_packages=settings.create_packages),
            source, in_git, classified.to_read, settings.limits, earlier, commit, slots, told,
            ahead,
        )  # fmt: skip
        checked = refuse_shared_targets(read.planned, told.outcomes)
        for outcome in checked.refused:
            told.settle(outcome)
        if settings.dry_run:
            for item in checked.to_write:
                told.settle(would_create(item.desired, item.plan, commit))
        else:
            await write_stage(Writer(lookups, commit, journal), checked.to_write, slots, told)
        reads = await ahead.settle() if ahead is not None else None
    except RUN_STOPPERS as exc:  # would fail every package alike
        fatal = str(exc)
    finally:
        if ahead is not None:
            await ahead.close()  # a run stopped early: what is still reading
    outcomes = dict(told.outcomes)
    if release is not None and fatal is None:
        attached, fatal = await release.run(
            api=session.api, cache=session.cache, ledger=ledger, sync_id=journal.sync_id,
            source=source, refs=refs, outcomes=outcomes, desired=read.desired, in_git=in_git,
            listed=lookups.listed,  # the revision stage's lists: no package's is read twice
            ahead=reads,  # what was read while the revision stage ran
            digests=read.digests,  # the revision stage's: not hashed again
        )  # fmt: skip
        outcomes.update(attached)
    result = SyncResult(
        commit=commit.sha,
        ref=commit.ref,
        dry_run=settings.dry_run,
        outcomes=tuple(outcomes[path] for path in sorted(outcomes)),
        started_at=started,
        finished_at=datetime.now(UTC),
        fatal_error=fatal,
        notes=trust.notes
        + tag_notes(commit, outcomes.values())
        + (release.notes if release else ()),
    )
    await _record(session, journal, refs, result)
    log.info(
        "sync.finished",
        commit=result.commit,
        trigger=trigger,
        dry_run=settings.dry_run,
        full=full,
        checked=read.asked,
        duration_s=round((result.finished_at - result.started_at).total_seconds(), 3),
        fatal_error=fatal,
        **result.summary,
    )
    return result


#: Outcomes whose only record is the journal row added at the end (the others were journaled
#: as their writes happened).
_WROTE_NOTHING = (Status.UNCHANGED, Status.REMOVED, Status.FAILED, Status.WOULD_CREATE)


async def _record(
    session: Session, journal: SyncJournal, refs: Sequence[PackageRef], result: SyncResult
) -> None:
    """Log every outcome, journal what wrote nothing, finish the ledger's sync and remember
    what is in sync (unless a dry run)."""
    debug = debug_logged()
    for outcome in result.outcomes:
        log_outcome(outcome, debug=debug)
        if outcome.status in _WROTE_NOTHING:
            journal.add(outcome)
    journal.finish(result)
    if not session.settings.dry_run:
        session.cache.remember(refs, result.outcomes)
        session.cache.flush()
        await session.prune_history()


__all__ = ["OnResolved", "open_source", "read_chunks", "sync_once"]

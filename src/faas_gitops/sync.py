"""``sync_once()``: the whole pipeline once. The CLI's ``--sync-once`` and every daemon wake-up
call this same function, so there is one behaviour to test.

    Source (commit) -> desired state -> (remote state -> plan -> apply) per package -> ledger
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import structlog

from faas_gitops.api import ApiClient, Observer, RateLimiter, RetryPolicy
from faas_gitops.applying import Applier
from faas_gitops.cache import StateCache
from faas_gitops.errors import ApiAuthError, ApiError
from faas_gitops.ledger import Ledger
from faas_gitops.models import (
    CommitInfo,
    DesiredPackage,
    DesiredState,
    Outcome,
    PackageFailure,
    Status,
    SyncResult,
)
from faas_gitops.settings import Settings
from faas_gitops.source import GitSource

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SyncContext:
    """What outlives one sync in a daemon: caches, the observers, an optional injected client.

    ``sync-once`` builds a fresh one; the daemon keeps one so a revision's functions and an
    unchanged package directory are never read twice. ``state`` is opened on first use (in the
    state dir, or in memory for a dry run) and closed by ``close()``.
    """

    state: StateCache | None = None
    package_cache: dict[tuple[str, str], DesiredPackage | PackageFailure] = field(
        default_factory=dict
    )
    observers: Sequence[Observer] = ()
    http: httpx.AsyncClient | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def state_for(self, settings: Settings) -> StateCache:
        if self.state is None:
            directory = None if settings.dry_run else settings.state_dir
            self.state = StateCache(directory, settings.api.url)
        return self.state

    def close(self) -> None:
        if self.state is not None:
            self.state.close()
            self.state = None


def read_desired_state(
    settings: Settings,
    repo: Path,
    context: SyncContext,
    known: StateCache | None = None,
    *,
    on_commit: Callable[[CommitInfo], None] | None = None,
    on_package: Callable[[DesiredPackage | PackageFailure], None] | None = None,
) -> DesiredState:
    """Resolve the ref and read every package from that commit's tree (blocking: git I/O).

    With ``known`` (a warm sync, not a full one), a directory whose tree id is the one it had
    at its last successful sync is not read at all: the warm shortcut will report it
    unchanged, so a stand-in carrying its path, tree id and target is all that is needed.
    """
    limits = settings.limits
    stubs: dict[tuple[str, str], DesiredPackage | PackageFailure] = {}
    if known is not None:
        for path, synced in known.synced_packages().items():
            if synced.package_id and (path, synced.tree_id) not in context.package_cache:
                stubs[(path, synced.tree_id)] = DesiredPackage(
                    path=path,
                    package_id=synced.package_id,
                    name=None,
                    description=None,
                    functions=(),
                    tree_id=synced.tree_id,
                )
    cache = {**stubs, **context.package_cache}
    with GitSource(repo) as source:
        commit = source.resolve(settings.git.ref or "HEAD")
        if on_commit is not None:
            on_commit(commit)
        desired = source.read_desired(
            commit, settings.git.path, limits=limits, cache=cache, on_package=on_package
        )
    # Stand-ins must never serve a later full sync (the daemon keeps this cache).
    context.package_cache.clear()
    context.package_cache.update(
        {key: value for key, value in cache.items() if stubs.get(key) is not value}
    )
    return desired


async def sync_once(
    settings: Settings,
    *,
    repo: Path | None = None,
    trigger: str = "sync-once",
    context: SyncContext | None = None,
    full: bool = False,
) -> SyncResult:
    """Sync the commit at ``settings.git.ref`` and record it (unless ``dry_run``).

    Package directories whose git tree id is the one they had at their last successful sync
    are taken as unchanged without asking the API, unless ``full`` (or ``--full-sync``) asks to
    re-check everything, which is how drift made by hand is found.

    Raises ``SourceError``/``ConfigError`` when there is nothing to sync at all (bad repo, ref,
    path); everything that concerns one package ends up in that package's ``Outcome``.
    """
    owned = context is None
    context = context or SyncContext()
    try:
        return await _sync(settings, repo, trigger, context, full or settings.full_sync)
    finally:
        if owned:
            context.close()


async def _sync(
    settings: Settings, repo: Path | None, trigger: str, context: SyncContext, full: bool
) -> SyncResult:
    """Read git and talk to the API at the same time; write only once git was read whole.

    Each package is handed to the applier as soon as it is read, so its revisions are listed
    while later packages are still being read from git; creates wait behind a gate that opens
    when the whole commit was read and checked (two directories aimed at one remote package
    are refused first). A repository-wide error (a limit, a bad path) therefore still writes
    nothing.
    """
    started = datetime.now(UTC)
    repo_path = repo or Path(settings.git.repo)
    state = context.state_for(settings)
    known = None if full or settings.dry_run else state
    structlog.contextvars.bind_contextvars(trigger=trigger)
    try:
        async with _api_client(settings, context) as api:
            pipeline = _Pipeline(settings, api, state, full=full)
            try:
                desired = await asyncio.to_thread(
                    read_desired_state,
                    settings,
                    repo_path,
                    context,
                    known,
                    on_commit=pipeline.commit_read,
                    on_package=pipeline.package_read,
                )
            except BaseException:
                await pipeline.abort()
                raise
            packages, failures = _refuse_shared_targets(desired)
            refused = {p.path for p in desired.packages} - {p.path for p in packages}
            outcomes, fatal = await pipeline.finish(desired.commit, refused)
    finally:
        structlog.contextvars.unbind_contextvars("commit", "trigger")
    failed = [
        Outcome(path=f.path, status=Status.FAILED, package_id=f.package_id, error=f.error)
        for f in failures
    ]
    for outcome in failed:
        log.warning(
            "package.failed",
            commit=desired.commit.sha,
            path=outcome.path,
            package_id=outcome.package_id,
            status=outcome.status.value,
            error=outcome.error,
        )
    result = SyncResult(
        commit=desired.commit.sha,
        ref=settings.git.ref or "HEAD",
        dry_run=settings.dry_run,
        outcomes=tuple(sorted([*outcomes, *failed], key=lambda outcome: outcome.path)),
        started_at=started,
        finished_at=datetime.now(UTC),
        fatal_error=fatal,
    )
    if not settings.dry_run:
        state.remember(packages, result.outcomes)
        state.flush()
        with Ledger(settings.state_dir) as ledger:
            ledger.record(result, trigger=trigger)
    log.info(
        "sync.finished",
        commit=result.commit,
        trigger=trigger,
        dry_run=settings.dry_run,
        full=full,
        checked=pipeline.checked,
        duration_s=round((result.finished_at - result.started_at).total_seconds(), 3),
        fatal_error=fatal,
        **result.summary,
    )
    return result


@asynccontextmanager
async def _api_client(settings: Settings, context: SyncContext) -> AsyncIterator[ApiClient]:
    """The run's one client: the daemon's injected one, or a pooled one closed afterwards."""
    http = context.http or ApiClient.build_http_client(
        base_url=settings.api.url,
        api_key=settings.api.key.get_secret_value(),
        api_version=settings.api.version,
        concurrency=settings.api.concurrency,
        timeout=settings.api.timeout,
        verify=settings.api.tls_verify(),
    )
    limiter = RateLimiter(settings.api.max_rps) if settings.api.max_rps else None
    try:
        yield ApiClient(
            http, retry=context.retry, rate_limiter=limiter, observers=context.observers
        )
    finally:
        if context.http is None:
            await http.aclose()


class _Pipeline:
    """Hands packages from the git-reading thread to the applier on the event loop.

    ``commit_read`` and ``package_read`` run in the reading thread and only schedule work on
    the loop; everything else runs on the loop.
    """

    def __init__(
        self, settings: Settings, api: ApiClient, state: StateCache, *, full: bool
    ) -> None:
        self._settings = settings
        self._api = api
        self._state = state
        self._full = full
        self._loop = asyncio.get_running_loop()
        self._gate = asyncio.Event()
        self._applier: Applier | None = None
        self._skipped: list[Outcome] = []

    @property
    def checked(self) -> int:
        return self._applier.started if self._applier is not None else 0

    # ---- called in the git-reading thread ----------------------------------------------------
    def commit_read(self, commit: CommitInfo) -> None:
        # Bound in the reading thread's context, which every scheduled callback copies, so
        # the API calls' log events carry the commit too.
        structlog.contextvars.bind_contextvars(commit=commit.sha)
        self._loop.call_soon_threadsafe(self._begin, commit)

    def package_read(self, item: DesiredPackage | PackageFailure) -> None:
        if isinstance(item, DesiredPackage):
            self._loop.call_soon_threadsafe(self._arrive, item)

    # ---- on the loop -------------------------------------------------------------------------
    def _begin(self, commit: CommitInfo) -> None:
        self._applier = self._new_applier(commit)

    def _new_applier(self, commit: CommitInfo) -> Applier:
        settings = self._settings
        return Applier(
            api=self._api,
            commit=commit,
            dry_run=settings.dry_run,
            create_packages=settings.create_packages,
            cache=self._state,
            concurrency=settings.api.concurrency,
            gate=self._gate,
        )

    def _arrive(self, package: DesiredPackage) -> None:
        unchanged = None if self._full else _unchanged_outcome(package, self._state)
        if unchanged is not None:
            self._skipped.append(unchanged)
        elif self._applier is not None:
            self._applier.start(package)

    async def abort(self) -> None:
        if self._applier is not None:
            await self._applier.abort()

    async def finish(
        self, commit: CommitInfo, refused: set[str]
    ) -> tuple[list[Outcome], str | None]:
        """Open the gate (minus ``refused``), wait for every package, return outcomes."""
        applier = self._applier or self._new_applier(commit)
        applier.refused = refused
        self._gate.set()
        outcomes = await applier.finish()
        fatal = str(applier.fatal) if applier.fatal is not None else None
        if applier.started == 0 and self._skipped and fatal is None:
            fatal = await _check_key(self._api)
        kept = [o for o in [*outcomes, *self._skipped] if o.path not in refused]
        return kept, fatal


async def _check_key(api: ApiClient) -> str | None:
    """With nothing to sync, still prove the key works: a revoked key must not pass silently.

    Only a rejected key matters here; other errors are logged (nothing needed syncing).
    """
    try:
        await api.check_access()
    except ApiAuthError as exc:
        return str(exc)
    except ApiError as exc:
        log.warning("api.check_failed", error=str(exc))
    return None


def _unchanged_outcome(package: DesiredPackage, state: StateCache) -> Outcome | None:
    """Unchanged (same git tree id) since its last successful sync: no need to ask the API."""
    known = state.synced(package.path)
    if known is None or not package.tree_id or known.tree_id != package.tree_id:
        return None
    return Outcome(
        path=package.path,
        status=Status.UNCHANGED,
        package_id=known.package_id,
        revision_name=known.revision_name,
        revision_id=known.revision_id,
    )


def _refuse_shared_targets(
    desired: DesiredState,
) -> tuple[list[DesiredPackage], list[PackageFailure]]:
    """Two directories aimed at one remote package would race each other: both fail."""
    by_target: defaultdict[str, list[DesiredPackage]] = defaultdict(list)
    for package in desired.packages:
        target = f"id:{package.package_id}" if package.package_id else f"name:{package.name}"
        by_target[target].append(package)
    packages: list[DesiredPackage] = []
    failures = list(desired.failures)
    for group in by_target.values():
        if len(group) == 1:
            packages.append(group[0])
            continue
        paths = ", ".join(package.path for package in group)
        for package in group:
            field_name = "packageId" if package.package_id else "name"
            failures.append(
                PackageFailure(
                    path=package.path,
                    package_id=package.package_id,
                    error=f"{_manifest(package.path)}: {field_name}: the same remote package "
                    f"is the target of {paths}; give each directory its own package",
                )
            )
    return packages, failures


def _manifest(path: str) -> str:
    return "package.yaml" if path in ("", ".") else f"{path}/package.yaml"

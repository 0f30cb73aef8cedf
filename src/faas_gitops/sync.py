"""``sync_once()``: the whole pipeline once. The CLI's ``--sync-once`` and every daemon wake-up
call this same function, so there is one behaviour to test.

    Source (commit) -> desired state -> (remote state -> plan -> apply) per package -> ledger
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
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
from faas_gitops.manifest import Limits
from faas_gitops.models import (
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
    settings: Settings, repo: Path, context: SyncContext, known: StateCache | None = None
) -> DesiredState:
    """Resolve the ref and read every package from that commit's tree (blocking: git I/O).

    With ``known`` (a warm sync, not a full one), a directory whose tree id is the one it had
    at its last successful sync is not read at all: the warm shortcut will report it
    unchanged, so a stand-in carrying its path, tree id and target is all that is needed.
    """
    limits = Limits(**settings.limits.model_dump())
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
        desired = source.read_desired(commit, settings.git.path, limits=limits, cache=cache)
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
    started = datetime.now(UTC)
    repo_path = repo or Path(settings.git.repo)
    state = context.state_for(settings)
    known = None if full or settings.dry_run else state
    desired = await asyncio.to_thread(read_desired_state, settings, repo_path, context, known)
    packages, failures = _refuse_shared_targets(desired)
    to_check, skipped = (packages, []) if full else _skip_unchanged(packages, state)
    structlog.contextvars.bind_contextvars(commit=desired.commit.sha, trigger=trigger)
    try:
        outcomes, fatal = await _apply(
            settings, desired, to_check, context, state, check_key=bool(skipped)
        )
    finally:
        structlog.contextvars.unbind_contextvars("commit", "trigger")
    outcomes.extend(skipped)
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
        checked=len(to_check),
        duration_s=round((result.finished_at - result.started_at).total_seconds(), 3),
        fatal_error=fatal,
        **result.summary,
    )
    return result


async def _apply(
    settings: Settings,
    desired: DesiredState,
    packages: Sequence[DesiredPackage],
    context: SyncContext,
    state: StateCache,
    *,
    check_key: bool = False,
) -> tuple[list[Outcome], str | None]:
    """Sync ``packages``; with none to sync, ``check_key`` still proves the key works.

    Without that check a warm run in which no package changed would make no request at all,
    and a revoked key would go unnoticed until the next change.
    """
    if not packages and not check_key:
        return [], None
    http = context.http or ApiClient.build_http_client(
        base_url=settings.api.url,
        api_key=settings.api.key.get_secret_value(),
        api_version=settings.api.version,
        concurrency=settings.api.concurrency,
        timeout=settings.api.timeout,
        verify=settings.api.tls_verify(),
    )
    limiter = RateLimiter(settings.api.max_rps) if settings.api.max_rps else None
    api = ApiClient(http, retry=context.retry, rate_limiter=limiter, observers=context.observers)
    applier = Applier(
        api=api,
        commit=desired.commit,
        dry_run=settings.dry_run,
        create_packages=settings.create_packages,
        cache=state,
    )
    try:
        if packages:
            outcomes = await applier.apply_all(packages, concurrency=settings.api.concurrency)
        else:
            outcomes = []
            await _check_key(api)
    except ApiAuthError as exc:
        return [], str(exc)
    finally:
        if context.http is None:
            await http.aclose()
    fatal = str(applier.fatal) if applier.fatal is not None else None
    return outcomes, fatal


async def _check_key(api: ApiClient) -> None:
    """Only a rejected key matters here: nothing needed syncing, so other errors are logged."""
    try:
        await api.check_access()
    except ApiAuthError:
        raise
    except ApiError as exc:
        log.warning("api.check_failed", error=str(exc))


def _skip_unchanged(
    packages: Sequence[DesiredPackage], state: StateCache
) -> tuple[list[DesiredPackage], list[Outcome]]:
    """Split off directories unchanged (same git tree id) since their last successful sync."""
    to_check: list[DesiredPackage] = []
    skipped: list[Outcome] = []
    for package in packages:
        known = state.synced(package.path)
        if known is None or not package.tree_id or known.tree_id != package.tree_id:
            to_check.append(package)
            continue
        skipped.append(
            Outcome(
                path=package.path,
                status=Status.UNCHANGED,
                package_id=known.package_id,
                revision_name=known.revision_name,
                revision_id=known.revision_id,
            )
        )
    return to_check, skipped


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

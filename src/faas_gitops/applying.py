"""Run the sync of every package through the ApiClient with bounded concurrency.

Each package is independent: its failure becomes its ``Outcome`` and never stops the others.
The one exception is an authentication error, which would fail every package the same way, so it
stops the run at once and is reported once.

Writes are made safe to repeat by looking before retrying: after a create whose answer was lost
(or a 409 on the name), the package's revisions are listed again and a latest revision that
already holds the desired functions is adopted instead of creating a second one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from faas_gitops import planning
from faas_gitops.api import ApiClient
from faas_gitops.errors import (
    ApiAmbiguous,
    ApiAuthError,
    ApiConflict,
    ApiError,
    ApiNotFound,
    FaasGitopsError,
)
from faas_gitops.models import (
    Action,
    ChangeKind,
    CommitInfo,
    DesiredPackage,
    FunctionChange,
    FunctionSpec,
    Outcome,
    PackagePlan,
    RemotePackage,
    RemoteRevision,
    Status,
)

log = structlog.get_logger(__name__)

MAX_CREATE_ATTEMPTS = 4


class RevisionCache(Protocol):
    """Functions of revisions by id. Revisions are immutable, so an entry never goes stale."""

    def get(self, revision_id: str) -> tuple[FunctionSpec, ...] | None: ...

    def put(self, revision_id: str, functions: Sequence[FunctionSpec]) -> None: ...


class MemoryRevisionCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[FunctionSpec, ...]] = {}

    def get(self, revision_id: str) -> tuple[FunctionSpec, ...] | None:
        return self._entries.get(revision_id)

    def put(self, revision_id: str, functions: Sequence[FunctionSpec]) -> None:
        self._entries[revision_id] = tuple(functions)


class PackageIndex:
    """All remote packages by name, listed once per run and only if some manifest needs it."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self._lock = asyncio.Lock()
        self._by_name: dict[str, list[RemotePackage]] | None = None

    async def find(self, name: str) -> list[RemotePackage]:
        async with self._lock:
            if self._by_name is None:
                by_name: dict[str, list[RemotePackage]] = {}
                for package in await self._api.list_packages():
                    by_name.setdefault(package.name, []).append(package)
                self._by_name = by_name
            return list(self._by_name.get(name, ()))

    async def add(self, package: RemotePackage) -> None:
        async with self._lock:
            if self._by_name is not None:
                self._by_name.setdefault(package.name, []).append(package)


@dataclass(slots=True)
class Applier:
    """What one run needs to sync packages; built once per sync."""

    api: ApiClient
    commit: CommitInfo
    dry_run: bool = False
    create_packages: bool = False
    cache: RevisionCache = field(default_factory=MemoryRevisionCache)
    index: PackageIndex | None = None
    fatal: ApiAuthError | None = None
    concurrency: int = 8
    # Writes wait for this gate, so packages can be read from the API while git is still being
    # read, yet nothing is written before the whole commit was read and validated. ``None``:
    # writes may start at once.
    gate: asyncio.Event | None = None
    refused: set[str] = field(default_factory=set)  # paths that must not write (set pre-gate)
    _slots: asyncio.Semaphore = field(init=False)
    _tasks: list[asyncio.Task[Outcome | None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = PackageIndex(self.api)
        self._slots = asyncio.Semaphore(self.concurrency)

    def start(self, package: DesiredPackage) -> None:
        """Begin syncing a package now; at most ``concurrency`` talk to the API at once."""
        self._tasks.append(asyncio.create_task(self.sync_package(package)))

    @property
    def started(self) -> int:
        return len(self._tasks)

    async def finish(self) -> list[Outcome]:
        """Wait for every started package; on a 401 stop the others at once."""
        outcomes: list[Outcome] = []
        try:
            for task in asyncio.as_completed(self._tasks):
                outcome = await task
                if outcome is not None:
                    outcomes.append(outcome)
                if self.fatal is not None:
                    break
        finally:
            await self.abort()
        return sorted(outcomes, key=lambda outcome: outcome.path)

    async def abort(self) -> None:
        """Cancel whatever is still running (a failed git read, a 401, shutdown)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def apply_all(self, packages: Sequence[DesiredPackage]) -> list[Outcome]:
        """Sync every package, at most ``concurrency`` at once; stop all on a 401."""
        for package in packages:
            self.start(package)
        return await self.finish()

    async def sync_package(self, desired: DesiredPackage) -> Outcome | None:
        """One package end to end; ``None`` when the run was stopped (401) or it was refused."""
        bound = log.bind(commit=self.commit.sha, path=desired.path, package_id=desired.package_id)
        try:
            outcome = await self._sync(desired)
        except _Stopped:
            return None
        except ApiAuthError as exc:
            if self.fatal is None:
                self.fatal = exc
            return None
        except FaasGitopsError as exc:
            outcome = Outcome(
                path=desired.path,
                status=Status.FAILED,
                package_id=desired.package_id,
                correlation_id=exc.correlation_id if isinstance(exc, ApiError) else None,
                error=str(exc),
            )
        fields = {
            "status": outcome.status.value,
            "package_id": outcome.package_id,
            "revision_name": outcome.revision_name,
            "revision_id": outcome.revision_id,
            "correlation_id": outcome.correlation_id,
            "error": outcome.error,
        }
        if outcome.status is Status.FAILED:
            bound.warning("package.failed", **fields)
        elif outcome.status is Status.UNCHANGED:
            bound.debug("package.unchanged", **fields)
        else:
            bound.info(f"package.{outcome.status.value}", **fields)
        return outcome

    # ---- steps ----------------------------------------------------------------------------
    async def _sync(self, desired: DesiredPackage) -> Outcome:
        """Read and plan in one API slot; wait for the gate; write in another slot.

        The slot is not held across the gate, so packages that need a write do not block the
        reads of the others while git is still being read.
        """
        async with self._slots:
            self._check_running()
            package_id = await self._resolve_package_id(desired)
            if package_id is None:
                if self.dry_run:
                    return self._planned_new_package(desired)
            else:
                revisions, plan = await self._read_and_plan(desired, package_id)
                if plan.action is Action.NOOP or self.dry_run:
                    return self._early_outcome(plan)
        await self._writable(desired)
        async with self._slots:
            self._check_running()
            if package_id is None:
                return await self._new_package(desired)
            return await self._create_revision(plan, revisions)

    def _check_running(self) -> None:
        if self.fatal is not None:
            raise _Stopped

    async def _writable(self, desired: DesiredPackage) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if desired.path in self.refused:
            raise _Stopped  # sync.py reports it with the reason

    async def _read_and_plan(
        self, desired: DesiredPackage, package_id: str
    ) -> tuple[list[RemoteRevision], PackagePlan]:
        try:
            revisions, _ = await self.api.list_revisions(package_id)
        except ApiNotFound as exc:
            raise ApiNotFound(
                exc.call,
                f"packageId {package_id} does not exist for this API key; fix packageId in "
                f"{_manifest(desired)} or use 'name' with --create-packages",
                status=exc.status,
                code=exc.code,
                correlation_id=exc.correlation_id,
            ) from None
        return revisions, await self._plan(desired, package_id, revisions)

    def _early_outcome(self, plan: PackagePlan) -> Outcome:
        """What needs no write: in sync, or only planned (dry run)."""
        if plan.action is Action.NOOP:
            return Outcome(
                path=plan.package.path,
                status=Status.UNCHANGED,
                package_id=plan.remote_package_id,
                revision_name=plan.revision_name,
                revision_id=plan.latest_revision_id,
            )
        return Outcome(
            path=plan.package.path,
            status=Status.WOULD_CREATE,
            package_id=plan.remote_package_id,
            revision_name=plan.revision_name,
            changes=plan.changes,
        )

    async def _resolve_package_id(self, desired: DesiredPackage) -> str | None:
        """The remote id: the manifest's ``packageId``, else the one package with that name."""
        if desired.package_id:
            return desired.package_id
        assert desired.name is not None  # noqa: S101 - the manifest guarantees one of the two
        assert self.index is not None  # noqa: S101 - set in __post_init__
        matches = await self.index.find(desired.name)
        if len(matches) > 1:
            ids = ", ".join(sorted(pkg.id for pkg in matches))
            raise FaasGitopsError(
                f"{_manifest(desired)}: name: {len(matches)} remote packages are named "
                f"{desired.name!r} ({ids}); set packageId to pick one"
            )
        if matches:
            return matches[0].id
        if not self.create_packages:
            raise FaasGitopsError(
                f"{_manifest(desired)}: name: no remote package is named {desired.name!r}; "
                "create it, set packageId, or run with --create-packages"
            )
        return None

    async def _plan(
        self, desired: DesiredPackage, package_id: str, revisions: Sequence[RemoteRevision]
    ) -> PackagePlan:
        latest = planning.latest_revision(revisions)
        latest_functions = await self._functions_of(latest) if latest is not None else None
        return planning.plan_package(
            desired,
            remote_package_id=package_id,
            commit=self.commit,
            revisions=revisions,
            latest_functions=latest_functions,
        )

    async def _functions_of(self, revision: RemoteRevision) -> tuple[FunctionSpec, ...]:
        if revision.functions is not None:
            self.cache.put(revision.id, revision.functions)
            return revision.functions
        cached = self.cache.get(revision.id)
        if cached is not None:
            return cached
        full = await self.api.get_revision(revision.id)
        functions = full.functions or ()
        self.cache.put(revision.id, functions)
        return functions

    def _planned_new_package(self, desired: DesiredPackage) -> Outcome:
        return Outcome(
            path=desired.path,
            status=Status.WOULD_CREATE,
            revision_name=planning.base_revision_name(self.commit),
            changes=_all_added(desired),
        )

    async def _new_package(self, desired: DesiredPackage) -> Outcome:
        """``--create-packages`` for a name no remote package has: one call creates both."""
        assert desired.name is not None  # noqa: S101 - only name-based packages get here
        name = planning.base_revision_name(self.commit)
        added = _all_added(desired)
        package, correlation = await self.api.create_package(
            name=desired.name,
            description=desired.description,
            revision_name=name,
            functions=desired.functions,
        )
        assert self.index is not None  # noqa: S101 - set in __post_init__
        await self.index.add(package)
        log.info(
            "package.registered",
            path=desired.path,
            package_id=package.id,
            correlation_id=correlation,
        )
        revisions, _ = await self.api.list_revisions(package.id)
        adopted = await self._adoptable(desired, revisions)
        if adopted is not None:
            return Outcome(
                path=desired.path,
                status=Status.CREATED,
                package_id=package.id,
                revision_name=adopted.name,
                revision_id=adopted.id,
                correlation_id=correlation,
                changes=added,
            )
        # The server made the package without the initial revision: make it ourselves.
        plan = await self._plan(desired, package.id, revisions)
        return await self._create_revision(plan, revisions)

    async def _create_revision(
        self, plan: PackagePlan, revisions: Sequence[RemoteRevision]
    ) -> Outcome:
        """Create, and on an unknown outcome or a taken name look before trying again."""
        desired = plan.package
        name = plan.revision_name
        base = planning.base_revision_name(self.commit)
        taken = {rev.name for rev in revisions}
        last_error: ApiError | None = None
        for _ in range(MAX_CREATE_ATTEMPTS):
            try:
                revision, correlation = await self.api.create_revision(
                    package_id=plan.remote_package_id,
                    name=name,
                    description=plan.description,
                    functions=desired.functions,
                )
            except (ApiAmbiguous, ApiConflict) as exc:
                last_error = exc
                log.info(
                    "revision.look_before_retry",
                    path=desired.path,
                    revision_name=name,
                    reason=str(exc),
                    correlation_id=exc.correlation_id,
                )
                fresh, listing_correlation = await self.api.list_revisions(
                    plan.remote_package_id, complete=True
                )
                adopted = await self._adoptable(desired, fresh)
                if adopted is not None:
                    log.info(
                        "revision.adopted",
                        path=desired.path,
                        revision_id=adopted.id,
                        revision_name=adopted.name,
                    )
                    return self._created(plan, adopted, exc.correlation_id or listing_correlation)
                taken |= {rev.name for rev in fresh}
                if isinstance(exc, ApiConflict):
                    taken.add(name)
                    name = planning.choose_revision_name(base, taken)
                continue
            self.cache.put(revision.id, desired.functions)
            return self._created(plan, revision, correlation)
        assert last_error is not None  # noqa: S101 - the loop ran at least once
        raise last_error

    async def _adoptable(
        self, desired: DesiredPackage, revisions: Sequence[RemoteRevision]
    ) -> RemoteRevision | None:
        """The latest revision, if it already holds exactly what we wanted to create."""
        latest = planning.latest_revision(revisions)
        if latest is None:
            return None
        functions = await self._functions_of(latest)
        if planning.diff_functions(functions, desired.functions):
            return None
        return latest

    def _created(
        self, plan: PackagePlan, revision: RemoteRevision, correlation: str | None
    ) -> Outcome:
        return Outcome(
            path=plan.package.path,
            status=Status.CREATED,
            package_id=plan.remote_package_id,
            revision_name=revision.name,
            revision_id=revision.id,
            correlation_id=correlation,
            changes=plan.changes,
        )


class _Stopped(Exception):
    """This package is not to be finished: the run stopped (401) or it was refused."""


def _all_added(desired: DesiredPackage) -> tuple[FunctionChange, ...]:
    return tuple(
        FunctionChange(fn.name, ChangeKind.ADDED, None, fn)
        for fn in sorted(desired.functions, key=lambda fn: fn.name)
    )


def _manifest(desired: DesiredPackage) -> str:
    return "package.yaml" if desired.path in ("", ".") else f"{desired.path}/package.yaml"

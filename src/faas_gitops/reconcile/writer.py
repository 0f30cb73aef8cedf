"""Applying a plan: the only code that creates revisions (and packages).

The writer carries out the plan it is given and plans nothing itself: the revision name, the
description and the changes reported are the plan's. Only a create the server refused or lost
is looked at again (below), and a name visibly taken meanwhile moves to the next free suffix.

Every write is journaled around the call: a pending row before it, the answer's revision id and
correlation ID right after. Writes are made safe to repeat by looking before retrying: after a
lost or unreadable answer, or a 409 on the name, the revisions are listed again and a revision
that already holds the desired functions is **adopted** (``adopted``, never ``created``; its
correlation ID is that of our create's answer if one arrived, never of the GET or the 409).

A 409 on a name the listing did not show means the listing cannot be trusted: it is listed
again once another way (by name, in small pages), and if the name still cannot be seen the
package fails, rather than creating a
suffixed duplicate. A suffix (``-2``...) is only taken for a name visibly held by a revision
with other content.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import structlog

from faas_gitops.errors import ApiAmbiguous, ApiConflict, ApiError, FaasGitopsError
from faas_gitops.models import CommitInfo, Outcome, PackagePlan, RemoteRevision, Status
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.plan import NewPackagePlan
from faas_gitops.reconcile.remote import RemoteLookups, manifest_of

log = structlog.get_logger(__name__)

MAX_CREATE_ATTEMPTS = 4
SECOND_LOOK_PAGE_SIZE = 10
"""Small pages for the second look after a 409, so a server that caps its page size without
saying so (no ``meta.paging``) cannot make a short page end the read early."""


class Journal(Protocol):
    """Where writes are recorded as they happen (the ledger, bound to one sync)."""

    def pending(
        self, *, path: str, package_id: str | None, name: str | None, revision_name: str,
        digest: str,
    ) -> int | None: ...  # fmt: skip

    def resolve(self, row: int | None, outcome: Outcome) -> None: ...


class Writer:
    """Creates what plans ask for; one per sync."""

    def __init__(self, lookups: RemoteLookups, commit: CommitInfo, journal: Journal) -> None:
        self._lookups = lookups
        self._api = lookups.api
        self._commit = commit
        self._journal = journal

    async def create_revision(
        self, plan: PackagePlan, revisions: tuple[RemoteRevision, ...]
    ) -> Outcome:
        """Create the planned revision, journaled; adopt it if it turns out to exist."""
        desired = plan.package
        row = self._journal.pending(
            path=desired.path,
            package_id=plan.remote_package_id,
            name=desired.name,
            revision_name=plan.revision_name,
            digest=plan.digest,
        )
        try:
            outcome = await self._create(plan, revisions)
        except FaasGitopsError as exc:
            self._journal.resolve(row, _failed(plan, exc))
            raise
        self._journal.resolve(row, outcome)
        return outcome

    async def _create(self, plan: PackagePlan, revisions: tuple[RemoteRevision, ...]) -> Outcome:
        desired = plan.package
        name = plan.revision_name
        base = planning.base_revision_name(self._commit)
        taken = {rev.name for rev in revisions}
        if name in taken:  # only a plan bound to a package made meanwhile (see create_package)
            name = planning.choose_revision_name(base, taken)
        last_error: ApiError | None = None
        for _ in range(MAX_CREATE_ATTEMPTS):
            try:
                revision, correlation = await self._api.create_revision(
                    package_id=plan.remote_package_id,
                    name=name,
                    description=plan.description,
                    functions=desired.functions,
                )
            except ApiAmbiguous as exc:
                last_error = exc
                fresh, lookup = await self._relist(plan, name, exc)
                found = await self._lookups.holding(fresh, desired.functions, named=name)
                if found is not None:
                    return _adopted(plan, found, exc.correlation_id, lookup)
                taken |= {rev.name for rev in fresh}
                if name in taken:  # visibly held by other content: the next free name
                    name = planning.choose_revision_name(base, taken)
                continue
            except ApiConflict as exc:
                last_error = exc
                fresh, lookup = await self._relist(plan, name, exc)
                found = await self._lookups.holding(fresh, desired.functions, named=name)
                if found is None and name not in {rev.name for rev in fresh}:
                    # The list claims the name is free, the server says it is taken: look
                    # once more, by another way, before believing either.
                    fresh, lookup = await self._relist(plan, name, exc, again=True)
                    found = await self._lookups.holding(fresh, desired.functions, named=name)
                    if found is None and name not in {rev.name for rev in fresh}:
                        raise FaasGitopsError(
                            f"{manifest_of(desired.path)}: the API's revision list is "
                            f"inconsistent: POST /v2/faas/package-revisions answered 409 for "
                            f"name {name!r}, but listing package {plan.remote_package_id}'s "
                            "revisions two ways does not show it; not creating a duplicate under "
                            "another name (try again later, or report it to PubNub)"
                        ) from None
                if found is not None:
                    return _adopted(plan, found, None, lookup)
                taken |= {rev.name for rev in fresh} | {name}
                name = planning.choose_revision_name(base, taken)
                continue
            self._lookups.cache.put(revision.id, desired.functions)
            return _written(plan, revision, Status.CREATED, correlation, None)
        assert last_error is not None  # noqa: S101 - the loop ran at least once
        raise last_error

    async def _relist(
        self, plan: PackagePlan, name: str, exc: ApiError, *, again: bool = False
    ) -> tuple[list[RemoteRevision], str | None]:
        log.info(
            "revision.look_before_retry",
            path=plan.package.path,
            revision_name=name,
            reason=str(exc),
            second_look=again,
        )
        if again:
            # Another way of looking: only revisions matching the name (``search``, which the
            # API may ignore), unsorted, in small pages read to the end.
            return await self._api.list_revisions(
                plan.remote_package_id,
                complete=True,
                page_size=SECOND_LOOK_PAGE_SIZE,
                sort=None,
                search=name,
            )
        return await self._lookups.list_revisions(
            plan.package.path, plan.remote_package_id, complete=True
        )

    async def create_package(self, plan: NewPackagePlan) -> Outcome:
        """``--create-packages`` for a name no remote package has: one call creates both.

        A lost or 5xx answer is ambiguous: the package is looked up by name and adopted if it
        exists, and only created again if it does not.
        """
        desired = plan.package
        if desired.name is None:  # pragma: no cover - only name-based packages get here
            raise FaasGitopsError(f"{manifest_of(desired.path)}: needs a name")
        row = self._journal.pending(
            path=desired.path,
            package_id=None,
            name=desired.name,
            revision_name=plan.revision_name,
            digest=plan.digest,
        )
        try:
            outcome = await self._create_package(plan)
        except FaasGitopsError as exc:
            self._journal.resolve(
                row,
                Outcome(path=desired.path, status=Status.FAILED, name=desired.name, error=str(exc)),
            )
            raise
        self._journal.resolve(row, outcome)
        return outcome

    async def _create_package(self, plan: NewPackagePlan) -> Outcome:
        desired = plan.package
        assert desired.name is not None  # noqa: S101 - checked by the caller
        correlation: str | None = None
        package = None
        adopted = False
        for attempt in range(MAX_CREATE_ATTEMPTS):
            try:
                package, correlation = await self._api.create_package(
                    name=desired.name,
                    description=desired.description,
                    revision_name=plan.revision_name,
                    functions=desired.functions,
                )
                break
            except ApiAmbiguous as exc:
                found = await self._lookups.index.find(desired.name, fresh=True)
                if found:
                    package, correlation, adopted = found[0], exc.correlation_id, True
                    break
                if attempt == MAX_CREATE_ATTEMPTS - 1:
                    raise
        assert package is not None  # noqa: S101 - the loop breaks with one or raises
        await self._lookups.index.add(package)
        log.info("package.registered", path=desired.path, package_id=package.id, adopted=adopted)
        revisions, lookup = await self._lookups.list_revisions(desired.path, package.id)
        found_rev = await self._lookups.holding(revisions, desired.functions)
        if found_rev is None:
            # The server made the package without the initial revision: make it ourselves,
            # as planned (a name taken meanwhile is handled as for any create).
            return await self._create(plan.bound_to(package.id), tuple(revisions))
        return Outcome(
            path=desired.path,
            status=Status.ADOPTED if adopted else Status.CREATED,
            package_id=package.id,
            revision_name=found_rev.name,
            revision_id=found_rev.id,
            correlation_id=correlation,
            changes=plan.changes,
            name=desired.name,
            lookup_correlation_id=lookup if adopted else None,
        )


def _adopted(
    plan: PackagePlan, revision: RemoteRevision, correlation: str | None, lookup: str | None
) -> Outcome:
    log.info(
        "revision.adopted",
        path=plan.package.path,
        revision_id=revision.id,
        revision_name=revision.name,
    )
    return _written(plan, revision, Status.ADOPTED, correlation, lookup)


def _written(
    plan: PackagePlan,
    revision: RemoteRevision,
    status: Status,
    correlation: str | None,
    lookup: str | None,
) -> Outcome:
    """The outcome of a create that left ``revision`` holding the planned functions."""
    return Outcome(
        path=plan.package.path,
        status=status,
        package_id=plan.remote_package_id,
        revision_name=revision.name,
        revision_id=revision.id,
        correlation_id=correlation,
        changes=plan.changes,
        name=plan.package.name,
        lookup_correlation_id=lookup,
    )


def _failed(plan: PackagePlan, exc: FaasGitopsError) -> Outcome:
    return replace(
        Outcome(path=plan.package.path, status=Status.FAILED, error=str(exc)),
        package_id=plan.remote_package_id,
        name=plan.package.name,
        correlation_id=exc.correlation_id if isinstance(exc, ApiError) else None,
    )

"""Settle the revision creates a killed run left ``pending``: a step of its own, before reading.

A run killed between sending a create and journaling its answer leaves the row ``pending``.
Nothing else will ever answer it, so the next sync looks, before it reads any package: a
revision of that package with the name the create sent, or (when none has it) a latest revision
holding the content it sent, is that create's: the row is adopted with its revision id.
Otherwise the create never landed, and the row says so instead of staying pending forever. A
look that fails for a reason that may pass (a 5xx, a timeout, a name now ambiguous) leaves the
row for the next sync; what every call would meet alike (``RUN_STOPPERS``) stops the run.

The release stage settles its deployment steps the same way (``deploy.recover``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from faas_gitops import logs
from faas_gitops.errors import RUN_STOPPERS, ApiNotFound, FaasGitopsError
from faas_gitops.models import RemoteRevision
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.remote import RemoteLookups
from faas_gitops.state.ledger import Ledger, PendingWrite

log = structlog.get_logger(__name__)

NEVER_CREATED = (
    "the run was stopped before the API answered, and no such revision exists: it was never created"
)


async def recover_pending(
    lookups: RemoteLookups,
    ledger: Ledger,
    rows: Sequence[PendingWrite],
    *,
    concurrency: int,
) -> None:
    """Answer every row in ``rows`` (earlier syncs' unanswered creates) that can be answered."""
    if not rows:
        return
    slots = asyncio.Semaphore(concurrency)

    async def settle(row: PendingWrite) -> None:
        async with slots:
            try:
                await _settle(lookups, ledger, row)
            except RUN_STOPPERS:
                raise
            except FaasGitopsError as exc:  # may pass: the next sync looks again
                log.warning("journal.pending_kept", path=row.path, error=logs.redact(str(exc)))

    try:
        async with asyncio.TaskGroup() as group:
            for row in rows:
                group.create_task(settle(row))
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None


async def _settle(lookups: RemoteLookups, ledger: Ledger, row: PendingWrite) -> None:
    package_id = row.package_id
    if package_id is None and row.name:
        matches = await lookups.index.find(row.name)
        if len(matches) > 1:
            raise FaasGitopsError(f"{len(matches)} remote packages are named {row.name!r}")
        package_id = matches[0].id if matches else None
    if package_id is None:
        ledger.abandon_pending(row.row_id, NEVER_CREATED)
        log.info("journal.abandoned", path=row.path)
        return
    try:
        revisions, lookup = await lookups.list_revisions(row.path, package_id)
    except ApiNotFound:
        ledger.abandon_pending(row.row_id, NEVER_CREATED)
        log.info("journal.abandoned", path=row.path)
        return
    revision = await _its_revision(lookups, row, revisions)
    if revision is None:
        ledger.abandon_pending(row.row_id, NEVER_CREATED)
        log.info("journal.abandoned", path=row.path)
        return
    ledger.adopt_pending(
        row.row_id,
        revision_id=revision.id,
        revision_name=revision.name,
        lookup_correlation_id=lookup,
    )
    log.info("journal.adopted", path=row.path, revision_id=revision.id)


async def _its_revision(
    lookups: RemoteLookups, row: PendingWrite, revisions: Sequence[RemoteRevision]
) -> RemoteRevision | None:
    """The revision the killed create made: by the name it sent, else by the content."""
    for revision in revisions:
        if row.revision_name and revision.name == row.revision_name:
            return revision
    latest = planning.latest_revision(revisions)
    if latest is not None and row.digest and await lookups.holds(latest, row.digest):
        return latest
    return None


__all__ = ["NEVER_CREATED", "recover_pending"]

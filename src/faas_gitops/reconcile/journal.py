"""The ledger bound to one sync: what the pipeline and the writer record as things happen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from faas_gitops.models import Action, CommitInfo, Outcome, PackagePlan, SyncResult
from faas_gitops.reconcile.remote import RemoteState
from faas_gitops.settings import Settings
from faas_gitops.state.ledger import Ledger, PendingWrite

log = structlog.get_logger(__name__)


class SyncJournal:
    """Journal rows of one sync; every method is a no-op without a ledger (a dry run)."""

    def __init__(self, ledger: Ledger | None, sync_id: int | None) -> None:
        self._ledger = ledger
        self._sync_id = sync_id

    @classmethod
    def begin(
        cls,
        ledger: Ledger | None,
        commit: CommitInfo,
        settings: Settings,
        trigger: str,
        started: datetime,
    ) -> SyncJournal:
        if ledger is None or settings.dry_run:
            return cls(None, None)
        sync_id = ledger.begin_sync(
            commit=commit.sha,
            ref=settings.git.ref or "HEAD",
            trigger=trigger,
            dry_run=settings.dry_run,
            started_at=started,
        )
        return cls(ledger, sync_id)

    @property
    def sync_id(self) -> int | None:
        return self._sync_id

    def pending(
        self, *, path: str, package_id: str | None, name: str | None, revision_name: str,
        digest: str,
    ) -> int | None:  # fmt: skip
        if self._ledger is None or self._sync_id is None:
            return None
        return self._ledger.record_pending(
            self._sync_id,
            path=path,
            package_id=package_id,
            name=name,
            revision_name=revision_name,
            digest=digest,
        )

    def resolve(self, row: int | None, outcome: Outcome) -> None:
        if self._ledger is not None and row is not None:
            self._ledger.resolve(row, outcome)

    def add(self, outcome: Outcome) -> None:
        if self._ledger is not None and self._sync_id is not None:
            self._ledger.add_outcome(self._sync_id, outcome)

    def finish(self, result: SyncResult) -> None:
        if self._ledger is not None and self._sync_id is not None:
            self._ledger.finish_sync(self._sync_id, result)

    def settle_pending(
        self, rows: Sequence[PendingWrite], remote: RemoteState, plan: PackagePlan
    ) -> None:
        """Resolve the creates a killed run left unanswered for this package.

        A revision with the name it sent, or (when the package is now in sync) with the
        content it sent, is that create's: adopted, with its revision id. Otherwise the create
        never landed, and the row says so instead of staying pending forever.
        """
        if self._ledger is None:
            return
        by_name = {revision.name: revision for revision in remote.revisions}
        latest_id = plan.latest_revision_id
        for row in rows:
            revision = by_name.get(row.revision_name or "")
            if revision is None and plan.action is Action.NOOP and row.digest == plan.digest:
                revision = next((r for r in remote.revisions if r.id == latest_id), None)
            if revision is not None:
                self._ledger.adopt_pending(
                    row.row_id,
                    revision_id=revision.id,
                    revision_name=revision.name,
                    lookup_correlation_id=remote.lookup_correlation_id,
                )
                log.info("journal.adopted", path=row.path, revision_id=revision.id)
            else:
                self._ledger.abandon_pending(
                    row.row_id,
                    "the run was stopped before the API answered, and no such revision "
                    "exists: it was never created",
                )

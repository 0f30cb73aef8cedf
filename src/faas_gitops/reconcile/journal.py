"""The ledger bound to one sync: what the pipeline and the writer record as things happen.

Earlier syncs' unanswered creates are settled before this sync reads anything, by
``reconcile.recover``."""

from __future__ import annotations

from datetime import datetime

from faas_gitops.models import CommitInfo, Outcome, SyncResult
from faas_gitops.settings import Settings
from faas_gitops.state.ledger import Ledger


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
        *,
        verified_by: str | None = None,
    ) -> SyncJournal:
        """The sync's ledger row; ``verified_by`` is the fingerprint of the key that signed
        the commit (``--verify-signatures``), None when nothing was verified."""
        if ledger is None or settings.dry_run:
            return cls(None, None)
        sync_id = ledger.begin_sync(
            commit=commit.sha,
            ref=commit.ref,
            trigger=trigger,
            dry_run=settings.dry_run,
            started_at=started,
            verified_by=verified_by,
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

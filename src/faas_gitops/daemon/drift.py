"""Telling drift from change: which packages were in sync at a commit before this sync.

A revision created for a package that was already in sync at the very same commit can only
mean someone changed the package outside git (by hand, in the Portal): that is a drift
correction, whatever trigger found it. The memory is per package path and starts from the
ledger, so a restarted daemon still tells the two apart.
"""

from __future__ import annotations

import structlog

from faas_gitops.models import IN_SYNC, Status, SyncResult

log = structlog.get_logger(__name__)


class DriftTracker:
    """Per package path, the commit it was last in sync at."""

    def __init__(self, in_sync: dict[str, str] | None = None) -> None:
        self.in_sync: dict[str, str] = dict(in_sync or {})

    def observe(self, result: SyncResult) -> frozenset[str]:
        """The paths of ``result`` that were drift corrections (each logs ``drift.corrected``);
        then remember which packages are in sync at its commit."""
        drift: set[str] = set()
        for outcome in result.outcomes:
            if outcome.status is Status.CREATED and self.in_sync.get(outcome.path) == result.commit:
                drift.add(outcome.path)
                log.info(
                    "drift.corrected",
                    path=outcome.path,
                    package_id=outcome.package_id,
                    revision_id=outcome.revision_id,
                    correlation_id=outcome.correlation_id,
                )
            if outcome.status in IN_SYNC:
                self.in_sync[outcome.path] = result.commit
            else:
                self.in_sync.pop(outcome.path, None)
        return frozenset(drift)

"""Where the daemon's status page gets its rows: the ledger's own queries, on each request.

Packages are those of the newest finished sync (and any running one), each with its newest
outcome; the revision is the newest one it was in sync with, so a failed sync does not hide
what the API holds (``HistoryQueries.package_statuses``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.statuspage import SYNCS_SHOWN, StatusSnapshot
from faas_gitops.logs import redact
from faas_gitops.models import PackageStatus, SyncSummary
from faas_gitops.state import LEDGER_FILENAME, Ledger


def ledger_status(
    state_dir: Path,
    state: LoopState,
    *,
    ref: str | None = None,
    names: Mapping[str, str] | None = None,
) -> StatusSnapshot:
    """The snapshot from ``<state_dir>/ledger.sqlite3`` plus the loop's own state.

    ``names`` maps package paths to manifest names (the ledger does not keep them).
    """
    packages: list[PackageStatus] = []
    syncs: list[SyncSummary] = []
    if (state_dir / LEDGER_FILENAME).exists():
        with Ledger.open_readonly(state_dir) as ledger:
            packages = ledger.package_statuses()
            syncs = ledger.recent_syncs(SYNCS_SHOWN)
    if names:
        packages = [replace(p, name=p.name or names.get(p.path)) for p in packages]
    ready, reason = state.readiness()
    newest = syncs[0] if syncs else None
    if state.consecutive_failures:
        last_ok: bool | None = False
    elif newest is not None:
        last_ok = not (newest.counts.get("failed") or newest.fatal_error)
    else:
        last_ok = None
    return StatusSnapshot(
        commit=newest.commit if newest else state.commit,
        ref=newest.ref if newest else ref,
        last_sync_at=(newest.finished_at or newest.started_at) if newest else None,
        last_sync_ok=last_ok,
        last_error=_clean(state.last_error),
        ready=ready,
        ready_reason=reason,
        syncing=state.sync_started is not None,
        packages=packages,
        syncs=syncs,
    )


def _clean(text: str | None) -> str | None:
    """Errors as the logs show them: with any registered secret (the API key) redacted."""
    return None if text is None else redact(text)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)

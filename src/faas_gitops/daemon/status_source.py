"""Where the daemon's status page gets its rows: today's ledger, read on each request.

Kept to one function on purpose: the state store that replaces the ledger will answer these
questions directly, and only ``ledger_status`` needs to change then. Packages are those of the
newest sync that recorded any (a deleted directory drops off), each with its newest outcome;
the revision and correlation ID are those of the newest outcome that named one, so an
``unchanged`` row still shows the revision running and the ID of the call that created it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.statuspage import SYNCS_SHOWN, StatusSnapshot
from faas_gitops.ledger import LEDGER_FILENAME, Ledger, LedgerEntry
from faas_gitops.logs import redact
from faas_gitops.models import PackageStatus, SyncSummary

#: Outcome rows read per request: enough for the packages of the last syncs of a big repo.
HISTORY_ROWS = 5000


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
    entries: list[LedgerEntry] = []
    syncs: list[SyncSummary] = []
    if (state_dir / LEDGER_FILENAME).exists():
        with Ledger(state_dir) as ledger:
            entries = ledger.history(limit=HISTORY_ROWS)
        syncs = _recent_syncs(state_dir / LEDGER_FILENAME)
    packages = _packages(entries, names or {})
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


def _packages(entries: list[LedgerEntry], names: Mapping[str, str]) -> list[PackageStatus]:
    if not entries:
        return []
    first = entries[0]
    newest = [
        e
        for e in entries
        if (e.recorded_at, e.commit, e.trigger) == (first.recorded_at, first.commit, first.trigger)
    ]
    rows = []
    for entry in sorted(newest, key=lambda e: e.path):
        own = [e for e in entries if e.path == entry.path]
        named = next((e for e in own if e.revision_id or e.revision_name), entry)
        created = next(
            (e for e in own if e.correlation_id and e.revision_id == named.revision_id), None
        )
        rows.append(
            PackageStatus(
                path=entry.path,
                name=names.get(entry.path),
                package_id=entry.package_id or named.package_id,
                revision_name=named.revision_name,
                revision_id=named.revision_id,
                status=entry.status,
                synced_at=entry.recorded_at,
                commit=entry.commit,
                correlation_id=created.correlation_id if created else None,
                error=_clean(entry.error),
            )
        )
    return rows


def _recent_syncs(path: Path) -> list[SyncSummary]:
    """The newest syncs, read-only (the ledger has no query for them yet)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT id, commit_sha, ref, trigger_name, dry_run, started_at, finished_at, total,"
            " created, unchanged, would_create, failed, fatal_error"
            " FROM syncs ORDER BY id DESC LIMIT ?",
            (SYNCS_SHOWN,),
        ).fetchall()
    finally:
        connection.close()
    return [
        SyncSummary(
            id=row[0],
            commit=row[1],
            ref=row[2],
            trigger=row[3],
            dry_run=bool(row[4]),
            started_at=_utc(row[5]),
            finished_at=_utc(row[6]),
            counts={
                "total": row[7],
                "created": row[8],
                "unchanged": row[9],
                "would-create": row[10],
                "failed": row[11],
            },
            fatal_error=_clean(row[12]),
        )
        for row in rows
    ]


def _clean(text: str | None) -> str | None:
    """Errors as the logs show them: with any registered secret (the API key) redacted."""
    return None if text is None else redact(text)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)

"""Syncs that stopped before running: one ledger row each, so the status page can list them.

A daemon wake-up that fails before ``sync_once`` writes its sync row (a typo in
``faas-gitops.yaml``, the API unreachable, a ref that does not resolve, a refused signature)
left no trace in the ledger: the page's "Syncs" list skipped it, and a person saw only the
readiness line. ``record_failed_tick`` writes such a tick (time, commit if known, ref name,
trigger, the one-line error); ``failed_ticks`` reads them back, newest first.

The table keeps itself small (``KEPT`` rows; a daemon failing every retry for a week writes a
row per retry), so ``--history-days`` need not know about it. Writing it must never make a
failing daemon fail harder: any error is logged and swallowed by the caller's hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from faas_gitops.state.db import from_utc_text, text_or_none, to_utc_text
from faas_gitops.state.history import HistoryQueries
from faas_gitops.state.ledger import Ledger

#: How many failed ticks the ledger keeps (the newest).
KEPT = 200
#: Errors are one line for the page; longer text is cut here.
ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class FailedTick:
    """One wake-up that failed before a sync row was written."""

    id: int
    at: datetime
    commit: str | None  # None: the ref did not even resolve
    ref: str
    trigger: str
    error: str


def one_line(text: str) -> str:
    """The first line, trimmed to ``ERROR_CHARS``: what a table cell can show."""
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return first if len(first) <= ERROR_CHARS else first[: ERROR_CHARS - 1] + "…"


def record_failed_tick(
    ledger: Ledger, *, at: datetime, commit: str | None, ref: str, trigger: str, error: str
) -> int:
    """Write one failed tick (and forget all but the newest ``KEPT``); returns its id.

    Through the ledger's one writer: the state layer's one opener, one lock.
    """
    return ledger.write(
        [
            (
                "INSERT INTO failed_ticks (at, commit_sha, ref, trigger_name, error)"
                " VALUES (?, ?, ?, ?, ?)",
                (to_utc_text(at), commit or None, ref, trigger, one_line(error)),
            ),
            (
                "DELETE FROM failed_ticks WHERE id <= (SELECT id FROM failed_ticks"
                " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (KEPT,),
            ),
        ]
    )


def failed_ticks(reader: HistoryQueries, limit: int = 50) -> list[FailedTick]:
    """The newest failed ticks first (an older ledger reads as having none)."""
    rows = reader.select(
        "SELECT id, at, commit_sha, ref, trigger_name, error FROM failed_ticks"
        " ORDER BY id DESC LIMIT ?",
        [limit],
    )
    return [
        FailedTick(
            id=int(str(row[0])),
            at=from_utc_text(str(row[1])),
            commit=text_or_none(row[2]),
            ref=str(row[3]),
            trigger=str(row[4]),
            error=str(row[5]),
        )
        for row in rows
    ]


__all__ = ["KEPT", "FailedTick", "failed_ticks", "one_line", "record_failed_tick"]

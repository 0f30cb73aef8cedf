"""Which notifications were already sent, in ``<state-dir>/notifications.sqlite3``.

A store of the state dir like the ledger and the cache (same opener, same WAL and busy-timeout
rules, its own application id and schema history). ``notify.sentlog`` claims keys in it;
``--history-days`` forgets claims older than the horizon (``state.horizon``).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from faas_gitops.state.db import StoreSpec

SENT_FILENAME = "notifications.sqlite3"

#: Marks the file as a faas-gitops notification log (``PRAGMA application_id``; ASCII "FGN1").
SENT_APPLICATION_ID = 0x46474E31

SENT_LOG = StoreSpec(
    SENT_FILENAME,
    SENT_APPLICATION_ID,
    (
        # 0 -> 1: one row per claimed key. ``IF NOT EXISTS``: a log written before the file
        # carried an application id already holds this table, rows and all.
        """
        CREATE TABLE IF NOT EXISTS sent (
            key TEXT PRIMARY KEY,
            claimed_at REAL NOT NULL
        ) WITHOUT ROWID
        """,
    ),
    "notification log",
    legacy_tables=frozenset({"sent"}),
)


def claim(conn: sqlite3.Connection, key: str, now: float) -> bool:
    """True the first time ``key`` is claimed; one statement, so atomic between processes."""
    cursor = conn.execute("INSERT OR IGNORE INTO sent (key, claimed_at) VALUES (?, ?)", (key, now))
    return cursor.rowcount == 1


def prune_sent(conn: sqlite3.Connection, before: datetime) -> int:
    """Forget claims made before ``before``: no sync re-reports a commit older than the ledger's
    horizon, and the file stays small on a daemon that runs for years."""
    return conn.execute("DELETE FROM sent WHERE claimed_at < ?", (before.timestamp(),)).rowcount

"""Which notifications were claimed, and which still wait for delivery, in
``<state-dir>/notifications.sqlite3``.

A store of the state dir like the ledger and the cache (same opener, same WAL and busy-timeout
rules, its own application id and schema history). ``notify.sentlog`` claims keys in ``sent``
(each event reaches each target once) and keeps every notification it is sending in ``outbox``
until a receiver took it, so one that was down gets it on a later run (at least once, until
``--notify-retry-for``). An outbox row holds no credential: the body and the headers that are
not secret; the URL, the token and the signature are added by the target when it is sent.
``--history-days`` forgets claims older than the horizon (``state.horizon``). ``failing`` holds
one row while runs keep failing (since when, how many, the last error): the first run that ends
well takes it away, and only that run tells ``recovered``, whichever process it is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
        # 1 -> 2: notifications not delivered yet (sent again by later runs until a deadline).
        # ``leased_until``: a process is sending it now; others leave it alone until then.
        """
        CREATE TABLE outbox (
            delivery_id  TEXT PRIMARY KEY,
            target       TEXT NOT NULL,
            kind         TEXT NOT NULL,
            what         TEXT NOT NULL,
            suffix       TEXT NOT NULL,
            headers      TEXT NOT NULL,
            body         BLOB NOT NULL,
            ordering     TEXT,
            queued_at    REAL NOT NULL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            leased_until REAL NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_by_ordering ON outbox (ordering) WHERE ordering IS NOT NULL;
        CREATE INDEX outbox_by_queued_at ON outbox (queued_at)
        """,
        # 2 -> 3: whether the last run failed, for the ``recovered`` event (one row or none).
        """
        CREATE TABLE failing (
            id     INTEGER PRIMARY KEY CHECK (id = 1),
            since  REAL    NOT NULL,
            syncs  INTEGER NOT NULL,
            error  TEXT    NOT NULL
        )
        """,
    ),
    "notification log",
    legacy_tables=frozenset({"sent"}),
)


@dataclass(frozen=True, slots=True)
class Queued:
    """A notification waiting for its receiver, without any credential.

    ``target`` is the target's secret-free ident, ``suffix`` what the request adds to the
    target's own URL (a GitHub status: its path), ``order`` as ``Outgoing.order``.
    """

    delivery_id: str
    target: str
    kind: str
    what: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    suffix: str = ""
    order: str | None = None
    queued_at: float = 0.0
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Failing:
    """Runs failing one after the other: since when (``time.time()``), how many, the last
    error."""

    since: float
    syncs: int
    error: str

    @property
    def since_at(self) -> datetime:
        return datetime.fromtimestamp(self.since, UTC)


def note_failure(conn: sqlite3.Connection, error: str, now: float) -> Failing:
    """One more failed run; the failing spell it belongs to (started now, or earlier)."""
    conn.execute(
        "INSERT INTO failing (id, since, syncs, error) VALUES (1, ?, 1, ?)"
        " ON CONFLICT (id) DO UPDATE SET syncs = syncs + 1, error = excluded.error",
        (now, error),
    )
    since, syncs, last = conn.execute("SELECT since, syncs, error FROM failing").fetchone()
    return Failing(since, syncs, last)


def note_success(conn: sqlite3.Connection) -> Failing | None:
    """A run ended well: the failing spell it ends, or None when there was none. Call inside a
    transaction: of two processes ending the same spell, only one gets it."""
    row = conn.execute("SELECT since, syncs, error FROM failing").fetchone()
    if row is None or conn.execute("DELETE FROM failing").rowcount != 1:
        return None
    return Failing(row[0], row[1], row[2])


def claim(conn: sqlite3.Connection, key: str, now: float) -> bool:
    """True the first time ``key`` is claimed; one statement, so atomic between processes."""
    cursor = conn.execute("INSERT OR IGNORE INTO sent (key, claimed_at) VALUES (?, ?)", (key, now))
    return cursor.rowcount == 1


def queue(conn: sqlite3.Connection, items: Sequence[Queued], leased_until: float) -> None:
    """Keep ``items`` until they are settled, leased to the caller (which sends them now).

    A newer item of an ``order`` replaces the older ones still waiting (a GitHub status of the
    same commit and context: only the newest is worth sending).
    """
    for item in items:
        if item.order is not None:
            conn.execute(
                "DELETE FROM outbox WHERE ordering = ? AND delivery_id != ?",
                (item.order, item.delivery_id),
            )
        conn.execute(
            "INSERT OR REPLACE INTO outbox (delivery_id, target, kind, what, suffix, headers,"
            " body, ordering, queued_at, attempts, leased_until)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.delivery_id,
                item.target,
                item.kind,
                item.what,
                item.suffix,
                json.dumps(dict(item.headers), sort_keys=True),
                item.body,
                item.order,
                item.queued_at,
                item.attempts,
                leased_until,
            ),
        )


#: The outbox columns a ``Queued`` is read from, in ``_queued``'s order.
_QUEUED_COLUMNS = (
    "delivery_id, target, kind, what, body, headers, suffix, ordering, queued_at, attempts"
)


def _queued(row: Sequence[Any]) -> Queued:
    """An outbox row (``_QUEUED_COLUMNS``) as the item it keeps."""
    return Queued(
        delivery_id=row[0],
        target=row[1],
        kind=row[2],
        what=row[3],
        body=bytes(row[4]),
        headers=json.loads(row[5]),
        suffix=row[6],
        order=row[7],
        queued_at=row[8],
        attempts=row[9],
    )


def take_due(conn: sqlite3.Connection, now: float, leased_until: float, limit: int) -> list[Queued]:
    """The oldest items no process is sending, leased to the caller until ``leased_until``.

    Call inside a transaction, so two processes never take the same item.
    """
    rows = conn.execute(
        f"SELECT {_QUEUED_COLUMNS} FROM outbox WHERE leased_until <= ?"  # noqa: S608 - constant SQL
        " ORDER BY queued_at, delivery_id LIMIT ?",
        (now, limit),
    ).fetchall()
    conn.executemany(
        "UPDATE outbox SET leased_until = ? WHERE delivery_id = ?",
        [(leased_until, row[0]) for row in rows],
    )
    return [_queued(row) for row in rows]


def expire(conn: sqlite3.Connection, queued_before: float, now: float) -> list[Queued]:
    """Give up on items queued before ``queued_before`` and not being sent now: removed and
    returned (to be counted and logged as dropped)."""
    rows = conn.execute(
        f"SELECT {_QUEUED_COLUMNS} FROM outbox"  # noqa: S608 - constant SQL
        " WHERE queued_at < ? AND leased_until <= ?",
        (queued_before, now),
    ).fetchall()
    conn.executemany("DELETE FROM outbox WHERE delivery_id = ?", [(row[0],) for row in rows])
    return [_queued(row) for row in rows]


def settle(conn: sqlite3.Connection, delivery_id: str) -> None:
    """Delivered, refused for good, replaced or given up: no later run sends it again."""
    conn.execute("DELETE FROM outbox WHERE delivery_id = ?", (delivery_id,))


def release(conn: sqlite3.Connection, delivery_id: str) -> None:
    """Not delivered this time: a later run (of any process) sends it again."""
    conn.execute(
        "UPDATE outbox SET leased_until = 0, attempts = attempts + 1 WHERE delivery_id = ?",
        (delivery_id,),
    )


def prune_sent(conn: sqlite3.Connection, before: datetime) -> int:
    """Forget claims made before ``before``: no sync re-reports a commit older than the ledger's
    horizon, and the file stays small on a daemon that runs for years."""
    return conn.execute("DELETE FROM sent WHERE claimed_at < ?", (before.timestamp(),)).rowcount

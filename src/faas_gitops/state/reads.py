"""What every reader of a state file stands on: one open connection and the lock that
serialises it (a sqlite3 connection shared by the daemon's threads must not run two statements
at once), and the one way to run a query through them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence


class Reads:
    """Queries over an open connection; subclasses add the questions they answer."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def select(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """The rows of one statement, read under the connection's lock."""
        with self._lock:
            return [tuple(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]

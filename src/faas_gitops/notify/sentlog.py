"""Which notifications were already sent: each event reaches each target once.

A key is claimed *before* its delivery starts, so two replicas, two overlapping syncs or a
restarted daemon never send the same event twice; the price is at-most-once: a process killed
mid-delivery does not resend after a restart. The SQLite log lives in the state dir
(``notifications.sqlite3``), next to the ledger, with the same WAL + busy-timeout set-up so
several processes may share it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from faas_gitops.errors import ConfigError

SENTLOG_FILENAME = "notifications.sqlite3"
BUSY_TIMEOUT_MS = 5000
#: Claims older than this are forgotten when the log is opened: no sync re-reports a commit
#: that old, and the file stays small on a daemon that runs for years.
RETENTION_SECONDS = 90 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    key TEXT PRIMARY KEY,
    claimed_at REAL NOT NULL
) WITHOUT ROWID
"""


class SentLog(Protocol):
    """The de-duplication store; the notifier calls it from worker threads."""

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed (send it), False every time after (skip it)."""
        ...

    def close(self) -> None: ...


class MemorySentLog:
    """For one process that need not survive a restart (and for tests)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def close(self) -> None:
        """Nothing to release."""


class SqliteSentLog:
    """``<state_dir>/notifications.sqlite3``: survives restarts, shared between processes."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / SENTLOG_FILENAME
        self._lock = threading.Lock()
        try:
            Path(state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit: each claim is one statement
                check_same_thread=False,  # safe: every use holds self._lock
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"notification log {self.path} cannot be opened: {exc}") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._enable_wal()
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(_SCHEMA)
            self._conn.execute(
                "DELETE FROM sent WHERE claimed_at < ?", (time.time() - RETENTION_SECONDS,)
            )
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ConfigError(f"notification log {self.path} is not usable: {exc}") from None

    def _enable_wal(self) -> None:
        """WAL needs a moment of exclusive access and does not wait on its own: retry a while."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
            else:
                return

    def claim(self, key: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO sent (key, claimed_at) VALUES (?, ?)", (key, time.time())
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

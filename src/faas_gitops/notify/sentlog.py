"""Which notifications were already sent: each event reaches each target once.

A key is claimed *before* its delivery starts, so two replicas, two overlapping syncs or a
restarted daemon never send the same event twice; the price is at-most-once: a process killed
mid-delivery does not resend after a restart. The SQLite log lives in the state dir
(``notifications.sqlite3``), next to the ledger, and is opened by the same opener
(``state.sent``), so several processes may share it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from faas_gitops.errors import ConfigError
from faas_gitops.state.db import Damaged, open_store
from faas_gitops.state.sent import SENT_FILENAME, SENT_LOG, claim

SENTLOG_FILENAME = SENT_FILENAME


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
    """``<state_dir>/notifications.sqlite3``: survives restarts, shared between processes.

    Opened by the state dir's one opener (``state.sent.SENT_LOG``); ``--history-days`` prunes
    it with the ledger after a sync (``state.horizon.prune_state``).
    """

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / SENT_FILENAME
        self._lock = threading.Lock()
        try:
            self._db = open_store(Path(state_dir), SENT_LOG)
        except Damaged as exc:
            raise ConfigError(str(exc)) from None

    def claim(self, key: str) -> bool:
        with self._lock:
            return claim(self._db.conn, key, time.time())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

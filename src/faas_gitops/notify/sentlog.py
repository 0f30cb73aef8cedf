"""Which notifications were already claimed, and which still wait for their receiver.

A key is claimed *before* its delivery starts, so two replicas, two overlapping syncs or a
restarted daemon never plan the same event twice; in the same transaction the request is put in
the outbox, and it leaves the outbox only once a receiver took it (or refused it for good, or
``--notify-retry-for`` passed). So a receiver that is down for a while, or a process killed
mid-delivery, costs a delay, not the event: at least once, with a delivery id that stays the
same so a receiver can drop a repeat. The SQLite log lives in the state dir
(``notifications.sqlite3``), next to the ledger, opened by the same opener (``state.sent``), so
several processes may share it.

Notifications never block or fail a sync: a damaged log is moved aside (like the cache) and a
fresh one made; a log that cannot be used at all (someone else's database, a newer schema, a
file another process holds while it is damaged) is replaced by memory for this process, with a
warning.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypeVar

import structlog

from faas_gitops.errors import ConfigError
from faas_gitops.state import sent
from faas_gitops.state.db import Connection, open_or_move_aside, transaction
from faas_gitops.state.sent import SENT_FILENAME, SENT_LOG, Failing, Queued

log = structlog.get_logger(__name__)

SENTLOG_FILENAME = SENT_FILENAME

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class SentLog(Protocol):
    """The de-duplication store and outbox; the notifier calls it from worker threads."""

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Claims and ``queue`` inside it are one transaction: all kept, or none."""
        ...

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed (send it), False every time after (skip it)."""
        ...

    def queue(self, items: Sequence[Queued], lease_s: float) -> None:
        """Keep ``items`` until settled; leased to this process for ``lease_s`` seconds."""
        ...

    def take_due(self, lease_s: float, limit: int) -> list[Queued]:
        """Items queued by earlier runs that no process is sending, leased to this one."""
        ...

    def expire(self, older_than_s: float) -> list[Queued]:
        """Remove and return the items queued more than ``older_than_s`` seconds ago."""
        ...

    def settle(self, delivery_id: str) -> None:
        """Delivered, refused for good, replaced or dropped: never sent again."""
        ...

    def release(self, delivery_id: str) -> None:
        """Not delivered this time: a later run sends it again."""
        ...

    def note_failure(self, error: str) -> Failing:
        """A run failed (``error``: its one line); the failing spell it is part of."""
        ...

    def note_success(self) -> Failing | None:
        """A run ended well: the failing spell it ends (tell ``recovered``), else None. Of two
        processes sharing the log, only one is given a spell."""
        ...

    def close(self) -> None: ...


class MemorySentLog:
    """For one process that need not survive a restart (dry runs, tests): claims only; nothing
    is kept for a later run."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.RLock()
        self._failing: Failing | None = None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock:
            yield

    def claim(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def queue(self, items: Sequence[Queued], lease_s: float) -> None:
        """Nothing outlives this process."""

    def take_due(self, lease_s: float, limit: int) -> list[Queued]:
        return []

    def expire(self, older_than_s: float) -> list[Queued]:
        return []

    def settle(self, delivery_id: str) -> None:
        """Nothing was kept."""

    def release(self, delivery_id: str) -> None:
        """Nothing was kept."""

    def note_failure(self, error: str) -> Failing:
        with self._lock:
            spell = self._failing
            since, syncs = (time.time(), 1) if spell is None else (spell.since, spell.syncs + 1)
            self._failing = Failing(since, syncs, error)
            return self._failing

    def note_success(self) -> Failing | None:
        with self._lock:
            spell, self._failing = self._failing, None
            return spell

    def close(self) -> None:
        """Nothing to release."""


class _LogDamaged(Exception):
    """A statement found the file damaged mid-run (``open_store``'s ``on_damage``)."""


class SqliteSentLog:
    """``<state_dir>/notifications.sqlite3``: survives restarts, shared between processes.

    Opened by the state dir's one opener (``state.sent.SENT_LOG``); ``--history-days`` prunes
    its claims with the ledger after a sync (``state.horizon.prune_state``). When the file cannot
    be used it falls back to memory for the rest of the process (``fallback``), with a warning.
    """

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / SENT_FILENAME
        self._lock = threading.RLock()
        self._db: Connection | None = _open(Path(state_dir))
        self._memory = MemorySentLog()

    @property
    def fallback(self) -> bool:
        """True when this process keeps its claims in memory only (the file was unusable)."""
        return self._db is None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock:
            if self._db is None:
                yield
                return
            try:
                with transaction(self._db.conn):
                    yield
            except (sqlite3.Error, _LogDamaged) as exc:
                self._give_up(exc)
                raise

    def claim(self, key: str) -> bool:
        with self._lock:
            if self._db is None:
                return self._memory.claim(key)
            return self._use(lambda conn: sent.claim(conn, key, time.time()))

    def queue(self, items: Sequence[Queued], lease_s: float) -> None:
        if items:
            with self._lock:
                self._use(lambda conn: sent.queue(conn, items, time.time() + lease_s))

    def take_due(self, lease_s: float, limit: int) -> list[Queued]:
        with self._lock:
            now = time.time()
            return self._use_in_transaction(
                lambda conn: sent.take_due(conn, now, now + lease_s, limit), []
            )

    def expire(self, older_than_s: float) -> list[Queued]:
        with self._lock:
            now = time.time()
            return self._use_in_transaction(
                lambda conn: sent.expire(conn, now - older_than_s, now), []
            )

    def settle(self, delivery_id: str) -> None:
        with self._lock:
            self._quietly(lambda conn: sent.settle(conn, delivery_id))

    def note_failure(self, error: str) -> Failing:
        with self._lock:
            if self._db is None:
                return self._memory.note_failure(error)
            return self._use(lambda conn: sent.note_failure(conn, error, time.time()))

    def note_success(self) -> Failing | None:
        with self._lock:
            if self._db is None:
                return self._memory.note_success()
            return self._use(sent.note_success)

    def release(self, delivery_id: str) -> None:
        with self._lock:
            self._quietly(lambda conn: sent.release(conn, delivery_id))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing (under self._lock) ---------------------------------------------------
    def _use(self, step: _Step[_T]) -> _T:
        """Run ``step`` on the file; damage mid-run makes this process use memory from now on
        (raised again, so a batch rolls back and its caller decides)."""
        if self._db is None:
            raise _LogDamaged("the notification log is not in use")
        try:
            return step(self._db.conn)
        except (sqlite3.Error, _LogDamaged) as exc:
            self._give_up(exc)
            raise

    def _use_in_transaction(self, step: _Step[_T], otherwise: _T) -> _T:
        if self._db is None:
            return otherwise
        conn = self._db.conn
        try:
            with transaction(conn):
                return step(conn)
        except (sqlite3.Error, _LogDamaged) as exc:
            self._give_up(exc)
            return otherwise

    def _quietly(self, step: _Step[None]) -> None:
        if self._db is None:
            return
        try:
            step(self._db.conn)
        except (sqlite3.Error, _LogDamaged) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        if self._db is None:
            return
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            log.warning("notifications.log_busy", path=str(self.path), error=str(exc))
            return  # another process holds it for long: this step is lost, not the file
        log.warning(
            "notifications.unusable",
            path=str(self.path),
            error=str(exc),
            then="this process remembers notifications in memory only; the next run moves "
            "the damaged file aside",
        )
        self._db.close()
        self._db = None


class _Step(Protocol[_T_co]):
    def __call__(self, conn: sqlite3.Connection, /) -> _T_co: ...


def _open(directory: Path) -> Connection | None:
    """The log; a damaged one is moved aside (if unused) and made anew, else none (memory)."""
    try:
        return open_or_move_aside(
            directory,
            SENT_LOG,
            event="notifications.unusable",
            without="remembered in memory for this run only",
            on_damage=lambda exc: _LogDamaged(f"damaged: {exc}"),
        )
    except ConfigError as exc:  # someone else's database, a newer schema: left alone
        log.warning(
            "notifications.unusable",
            path=str(directory / SENT_FILENAME),
            error=str(exc),
            then="remembered in memory for this run only; the file is left as it is",
        )
        return None

"""How a store tells a damaged file from a busy one, and the one place faas-gitops connects.

Every SQLite error a store meets is one of two kinds that need opposite answers: *busy*
("database is locked": another process holds the file; wait it out) and *damage* ("malformed",
"not a database": the file itself is bad; the store's policy decides). A connection made here
is inert until a store gives it an ``on_damage``: then every statement, fetch and iteration
turns damage into that store's own exception, so a page that goes bad mid-run is one clear
line, never a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

OnDamage = Callable[[sqlite3.DatabaseError], Exception]
"""Turns a statement's "the file is damaged" error into the exception the store's caller sees."""


class Damaged(Exception):
    """The file is not a usable database (not SQLite, malformed); the caller decides."""


def is_damage(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT/NOTADB: the file itself is bad (not a lock, not a read-only dir)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return "malformed" in str(exc) or "not a database" in str(exc)


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY/LOCKED: another process holds the file; wait, it is not damage."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


class _GuardedCursor(sqlite3.Cursor):
    """A cursor whose every step turns damage into the connection's ``on_damage`` exception."""

    def _guard(self, exc: sqlite3.DatabaseError) -> BaseException:
        on_damage: OnDamage | None = getattr(self.connection, "on_damage", None)
        if on_damage is None or not is_damage(exc):
            return exc
        return on_damage(exc)

    def execute(self, sql: str, parameters: Any = (), /) -> _GuardedCursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None
        return self

    def executemany(self, sql: str, parameters: Any, /) -> _GuardedCursor:
        try:
            super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None
        return self

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(size)
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            raise self._guard(exc) from None


class GuardedConnection(sqlite3.Connection):
    """A connection whose statements report damage through ``on_damage`` (see ``open_store``)."""

    on_damage: OnDamage | None = None

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _GuardedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)


def connect(database: str | Path, *, timeout_s: float, uri: bool = False) -> sqlite3.Connection:
    """The only place faas-gitops connects to SQLite: every store and every reader comes here."""
    return sqlite3.connect(
        database,
        timeout=timeout_s,
        isolation_level=None,  # BEGIN/COMMIT are ours
        check_same_thread=False,  # every store guards its connection with a lock
        uri=uri,
        factory=GuardedConnection,  # inert until ``open_store`` gives it an ``on_damage``
    )

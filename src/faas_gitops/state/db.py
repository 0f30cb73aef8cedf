"""The one way faas-gitops opens an SQLite file in the state directory.

Every store (the ledger, the cache, the notification log) shares the file rules, because every
store is opened by several processes at once: the daemon, a ``--sync-once`` in a cron job,
``history``, ``status``, three replicas on one volume. The rules live by job beside this
module: ``state.migrate`` (is the file ours, which schema: ``application_id``,
``user_version``, the views a reader sees an older file through), ``state.guard`` (busy or
damaged, and the one place that connects to SQLite), ``state.files`` (the state dir and the
lock file beside each store). This module puts them together in ``open_store``:

* WAL lets readers run while one writer commits; ``busy_timeout`` makes a second writer wait.
  "database is locked" is always waited out (up to the timeout), never taken for corruption.
* Migrations run inside one ``BEGIN IMMEDIATE`` transaction, so an upgrade is all or nothing.
* A file that is really damaged is handled by the caller's policy: the ledger refuses it (it is
  the record), a cache moves it aside and starts over, but only while it holds an exclusive
  ``flock`` on the store's lock file, which every open connection holds shared. So a file another
  process still uses is never moved or deleted.
* Damage is found two ways. A store opened with ``check_at_open`` (the ledger) runs
  ``PRAGMA quick_check`` before its first write, under a time budget (``QUICK_CHECK_BUDGET_S``):
  it reads every page, about 0.3-0.45 s for an 87 MB ledger of 720,000 outcome rows (measured
  with ``benchmarks/ledger_prune.py``'s writer), so a ledger up to about that size is checked
  in full and a bigger one as far as the budget goes. And a store opened with ``on_damage`` turns
  every "malformed"/"not a database" answer of any later statement into the caller's exception,
  so a page that goes bad mid-run is one clear line too, never a traceback.
* A reader (``history``, ``status``, the status page) opens with ``readonly=True``: ``mode=ro``
  and ``query_only``, so it never takes the write lock, never migrates and never creates a file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import structlog

from faas_gitops.errors import ConfigError
from faas_gitops.state.files import ensure_state_dir, move_aside, shared_lock
from faas_gitops.state.guard import (
    Damaged,
    GuardedConnection,
    OnDamage,
    connect,
    is_busy,
    is_damage,
)
from faas_gitops.state.migrate import StoreSpec, check_identity, migrate, scalar, show_as_newest

__all__ = [
    "BUSY_TIMEOUT_S",
    "QUICK_CHECK_BUDGET_S",
    "Connection",
    "Damaged",
    "OnDamage",
    "StoreSpec",
    "from_utc_text",
    "move_aside_if_unused",
    "open_or_move_aside",
    "open_store",
    "quick_check",
    "text_or_none",
    "to_utc_text",
    "transaction",
]

log = structlog.get_logger(__name__)

#: How long an opener or a writer waits for another process before giving up.
BUSY_TIMEOUT_S = 15.0

#: How long ``check_at_open`` may spend on ``PRAGMA quick_check`` (see the module docstring).
QUICK_CHECK_BUDGET_S = 0.5


class Connection:
    """An open store: the SQLite connection plus the shared lock that keeps the file in place."""

    def __init__(self, conn: sqlite3.Connection, lock_fd: int | None, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock_fd = lock_fd

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def open_store(
    directory: Path,
    spec: StoreSpec,
    *,
    readonly: bool = False,
    on_damage: OnDamage | None = None,
) -> Connection:
    """Open (creating and migrating) ``directory/spec.filename``; with ``readonly``, open an
    existing file to read it only (no write lock, no migration, nothing created).

    Raises ``Damaged`` for a file that is not a usable database, ``ConfigError`` for everything a
    person must fix (someone else's database, a newer schema, a read-only or missing dir). With
    ``on_damage``, a statement that later finds the file damaged raises what it returns.
    """
    path = directory / spec.filename
    if readonly:
        if not path.is_file():
            raise ConfigError(f"{spec.label} {path} does not exist; run a sync first")
    else:
        ensure_state_dir(directory)
    lock_fd = shared_lock(path, timeout_s=BUSY_TIMEOUT_S, create=not readonly)
    try:
        conn = _connect(path, spec, readonly=readonly)
    except BaseException:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    if on_damage is not None and isinstance(conn, GuardedConnection):
        conn.on_damage = on_damage
    return Connection(conn, lock_fd, path)


def move_aside_if_unused(directory: Path, spec: StoreSpec) -> Path | None:
    """Rename a damaged store out of the way, but only if no other process has it open.

    Returns the new name, or ``None`` when another process holds it (the caller then works
    without the store for this run: a cache is an optimisation).
    """
    return move_aside(directory / spec.filename)


def open_or_move_aside(
    directory: Path,
    spec: StoreSpec,
    *,
    event: str,
    without: str,
    on_damage: OnDamage | None = None,
    damaged: Callable[[ConfigError], bool] = lambda _exc: False,
) -> Connection | None:
    """Open a store its caller can do without (the cache, the notification log).

    A damaged file is moved aside (only if no other process has it open) and made anew, once;
    if it cannot be moved, or the new one is damaged too, ``None``: the caller goes on as
    ``without`` says for this run. Each failure is one warning, ``event``, naming the file, the
    error, where it went and what happens next. ``damaged`` picks the ``ConfigError``s to treat
    as damage too; every other one is raised (a person must fix it).
    """
    for attempt in (1, 2):
        try:
            return open_store(directory, spec, on_damage=on_damage)
        except (Damaged, ConfigError) as exc:
            if isinstance(exc, ConfigError) and not damaged(exc):
                raise
            aside = move_aside_if_unused(directory, spec) if attempt == 1 else None
            log.warning(
                event,
                path=str(directory / spec.filename),
                error=str(exc),
                moved_to=str(aside) if aside else None,
                then=f"a new {spec.label} is made" if aside else without,
            )
            if aside is None:
                return None
    return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: take the write lock up front, so two writers never deadlock
    upgrading a read lock, and a batch is all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(path: Path, spec: StoreSpec, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            conn = connect(
                f"{path.absolute().as_uri()}?mode=ro", timeout_s=BUSY_TIMEOUT_S, uri=True
            )
        else:
            conn = connect(path, timeout_s=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise ConfigError(f"{spec.label} {path} cannot be opened: {exc}") from exc
    prepare = _prepare_reader if readonly else _prepare
    try:
        _retry_busy(lambda: prepare(conn, path, spec))
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
            raise ConfigError(
                f"{spec.label} {path}: still locked after {BUSY_TIMEOUT_S:.0f} s"
            ) from exc
        if "readonly" in str(exc) or "read-only" in str(exc) or "unable to open" in str(exc):
            raise ConfigError(f"{spec.label} {path} is not usable: {exc}") from exc
        raise Damaged(f"{spec.label} {path} is not usable: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _retry_busy(step: Callable[[], None]) -> None:
    """Run ``step`` until it stops failing with "database is locked" (or time runs out).

    Some statements (the WAL switch, a first schema write racing another creator) answer
    SQLITE_BUSY at once instead of calling the busy handler, so the wait is ours.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.002
    while True:
        try:
            step()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        else:
            return


def _prepare(conn: sqlite3.Connection, path: Path, spec: StoreSpec) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if spec.check_at_open:
        quick_check(conn, path, spec)
    conn.execute("BEGIN IMMEDIATE")  # fails early, and clearly, on a read-only file or dir
    try:
        check_identity(conn, path, spec)
        migrate(conn, spec)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    if scalar(conn, "PRAGMA journal_mode") != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


def quick_check(
    conn: sqlite3.Connection, path: Path, spec: StoreSpec, budget_s: float | None = None
) -> bool:
    """``PRAGMA quick_check`` for at most ``budget_s`` (default ``QUICK_CHECK_BUDGET_S``).

    Raises ``Damaged`` naming the first problem found; True when the whole file was checked,
    False when the budget ran out first (the rest is left to ``on_damage`` at use).
    """
    budget = QUICK_CHECK_BUDGET_S if budget_s is None else budget_s
    if budget <= 0:
        return False
    deadline = time.monotonic() + budget
    ran_out = False

    def over_budget() -> int:
        nonlocal ran_out
        ran_out = time.monotonic() > deadline
        return int(ran_out)

    conn.set_progress_handler(over_budget, 10_000)
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        if ran_out and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_INTERRUPT:
            return False
        if is_damage(exc):
            raise Damaged(f"{spec.label} {path} is damaged: {exc}") from None
        raise
    finally:
        conn.set_progress_handler(None, 0)
    problem = str(rows[0][0]) if rows else "ok"
    if problem != "ok":  # "*** in database main ***\nPage 8: ..." made one line
        problem = "; ".join(
            line.strip() for line in problem.splitlines() if line.strip() and "***" not in line
        )
        raise Damaged(f"{spec.label} {path} is damaged: {problem}")
    return True


def _prepare_reader(conn: sqlite3.Connection, path: Path, spec: StoreSpec) -> None:
    """Check the file is ours, show an older schema as the newest, then forbid every write."""
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("BEGIN")  # one snapshot for the checks (a read transaction: no write lock)
    try:
        check_identity(conn, path, spec, adopt=False)
        version = int(scalar(conn, "PRAGMA user_version"))
    finally:
        conn.execute("COMMIT")
    if version < len(spec.migrations):
        show_as_newest(conn, spec)
    conn.execute("PRAGMA query_only = ON")


def to_utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC, so text order is time order; naive datetimes are taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def text_or_none(value: object) -> str | None:
    """A nullable TEXT column as read: ``None`` stays ``None`` (never the string ``"None"``)."""
    return None if value is None else str(value)

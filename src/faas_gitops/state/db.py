"""The one way faas-gitops opens an SQLite file in the state directory.

Every store (the ledger, the caches) shares the file rules, because every store is opened by
several processes at once: the daemon, a ``--sync-once`` in a cron job, ``history``, ``status``,
three replicas on one volume.

* ``PRAGMA application_id`` marks a file as ours, so ``--state-dir`` pointed at someone else's
  database fails with one clear line instead of scribbling tables into it.
* ``PRAGMA user_version`` versions the schema: ``migrations[i]`` takes version ``i`` to ``i + 1``,
  all inside one ``BEGIN IMMEDIATE`` transaction, so an upgrade is all or nothing.
* WAL lets readers run while one writer commits; ``busy_timeout`` makes a second writer wait.
  "database is locked" is always waited out (up to the timeout), never taken for corruption.
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
  A file of an older schema is shown to it as the newest schema (TEMP views over the old tables,
  with each missing column's default), so a reader of a newer faas-gitops still answers while
  an older daemon keeps writing the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faas_gitops.errors import ConfigError

#: How long an opener or a writer waits for another process before giving up.
BUSY_TIMEOUT_S = 15.0

#: How long ``check_at_open`` may spend on ``PRAGMA quick_check`` (see the module docstring).
QUICK_CHECK_BUDGET_S = 0.5

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

OnDamage = Callable[[sqlite3.DatabaseError], Exception]
"""Turns a statement's "the file is damaged" error into the exception the store's caller sees."""


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """What makes a store's file its own: name, identity and schema history."""

    filename: str
    application_id: int
    migrations: Sequence[str]
    label: str  # how errors name it: "ledger", "cache"
    #: The tables of a file written before the store carried an application id: such a file
    #: (user_version 0, exactly these tables) is ours and is adopted, not refused.
    legacy_tables: frozenset[str] = field(default_factory=frozenset)
    #: ``PRAGMA quick_check`` (within ``QUICK_CHECK_BUDGET_S``) before a writer's first write.
    check_at_open: bool = False


class Damaged(Exception):
    """The file is not a usable database (not SQLite, malformed); the caller decides."""


def is_damage(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT/NOTADB: the file itself is bad (not a lock, not a read-only dir)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return "malformed" in str(exc) or "not a database" in str(exc)


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


class _GuardedConnection(sqlite3.Connection):
    """A connection whose statements report damage through ``on_damage`` (see ``open_store``)."""

    on_damage: OnDamage | None = None

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _GuardedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY/LOCKED: another process holds the file; wait, it is not damage."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


def ensure_state_dir(directory: Path) -> None:
    """Create the state dir 0700 before anything is written into it; one line if it cannot be."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"state dir {directory} cannot be created: {exc.strerror or exc}"
        ) from exc
    if not directory.is_dir():
        raise ConfigError(f"state dir {directory} is not a directory")


class Connection:
    """An open store: the sqlite3 connection plus the shared lock that keeps the file in place."""

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
    lock_fd = _shared_lock(path, create=not readonly)
    try:
        conn = _connect(path, spec, readonly=readonly)
    except BaseException:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    if on_damage is not None and isinstance(conn, _GuardedConnection):
        conn.on_damage = on_damage
    return Connection(conn, lock_fd, path)


def move_aside_if_unused(directory: Path, spec: StoreSpec) -> Path | None:
    """Rename a damaged store out of the way, but only if no other process has it open.

    Returns the new name, or ``None`` when another process holds it (the caller then works
    without the store for this run: a cache is an optimisation).
    """
    path = directory / spec.filename
    try:
        fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        return aside
    finally:
        os.close(fd)


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


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _shared_lock(path: Path, *, create: bool = True) -> int | None:
    """Hold the store's lock file shared while connected (see ``move_aside_if_unused``).

    A reader (``create=False``) takes it only if it exists: it creates nothing in the state dir.
    """
    try:
        if create:
            fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
        else:
            fd = os.open(_lock_path(path), os.O_RDONLY)
    except OSError as exc:
        if not create:
            return None
        raise ConfigError(
            f"state dir {path.parent} is not writable: {exc.strerror or exc}"
        ) from exc
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            # Someone is moving a damaged file aside right now: wait for them to finish.
            if time.monotonic() > deadline:
                os.close(fd)
                raise ConfigError(f"{path}: locked by another process for too long") from None
            time.sleep(0.01)
        else:
            return fd


def _sqlite(database: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    """The only place faas-gitops connects to SQLite: every store and every reader comes here."""
    return sqlite3.connect(
        database,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,  # BEGIN/COMMIT are ours
        check_same_thread=False,  # every store guards its connection with a lock
        uri=uri,
        factory=_GuardedConnection,  # inert until ``open_store`` gives it an ``on_damage``
    )


def _connect(path: Path, spec: StoreSpec, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            conn = _sqlite(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        else:
            conn = _sqlite(path)
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
        _check_identity(conn, path, spec)
        _migrate(conn, spec)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    if _scalar(conn, "PRAGMA journal_mode") != "wal":
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
        _check_identity(conn, path, spec, adopt=False)
        version = int(_scalar(conn, "PRAGMA user_version"))
    finally:
        conn.execute("COMMIT")
    if version < len(spec.migrations):
        _show_as_newest(conn, spec)
    conn.execute("PRAGMA query_only = ON")


def _show_as_newest(conn: sqlite3.Connection, spec: StoreSpec) -> None:
    """TEMP views named like the newest schema's tables over what an older file holds.

    A column the file lacks reads as its default (what the migration would have filled in); a
    table it lacks reads as empty. TEMP names come first in SQLite's lookup, so every query of
    the store reads them unchanged.
    """
    for table, columns in _newest_tables(tuple(spec.migrations)).items():
        present = {row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")}
        if present.issuperset(name for name, _ in columns):
            continue
        shown = ", ".join(
            f"{name}" if name in present else f"{default or 'NULL'} AS {name}"
            for name, default in columns
        )
        source = f" FROM main.{table}" if present else " WHERE 0"
        conn.execute(f"CREATE TEMP VIEW {table} AS SELECT {shown}{source}")


@functools.cache
def _newest_tables(migrations: tuple[str, ...]) -> dict[str, list[tuple[str, str | None]]]:
    """Every table of the newest schema with its columns (name, default), built in memory."""
    scratch = _sqlite(":memory:")
    try:
        for script in migrations:
            for statement in split_statements(script):
                scratch.execute(statement)
        names = [
            str(row[0])
            for row in scratch.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            name: [(str(r[1]), r[4]) for r in scratch.execute(f"PRAGMA table_info({name})")]
            for name in names
        }
    finally:
        scratch.close()


def _check_identity(
    conn: sqlite3.Connection, path: Path, spec: StoreSpec, *, adopt: bool = True
) -> None:
    """Ours (by application id, or a new empty file, or a legacy file), and not too new.

    ``adopt`` (writers only) stamps a new or legacy file with the store's application id.
    """
    app_id = int(_scalar(conn, "PRAGMA application_id"))
    version = int(_scalar(conn, "PRAGMA user_version"))
    if app_id == 0:  # a brand-new file is empty; anything else belongs to someone else
        tables = {
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        ours = version == 0 and (
            int(_scalar(conn, "SELECT count(*) FROM sqlite_master")) == 0
            or (bool(spec.legacy_tables) and tables == spec.legacy_tables)
        )
        if ours:
            if adopt:
                conn.execute(f"PRAGMA application_id = {spec.application_id}")
            app_id = spec.application_id
        else:
            app_id = -1
    if app_id != spec.application_id:
        raise ConfigError(f"{path} is an SQLite database but not a faas-gitops {spec.label}")
    if version > len(spec.migrations):
        raise ConfigError(
            f"{spec.label} {path} has schema version {version}, newer than this faas-gitops "
            f"understands ({len(spec.migrations)}); upgrade faas-gitops"
        )


def _migrate(conn: sqlite3.Connection, spec: StoreSpec) -> None:
    """Run every migration the file has not seen yet, inside the caller's transaction."""
    version = int(_scalar(conn, "PRAGMA user_version"))
    for target, script in enumerate(spec.migrations[version:], start=version + 1):
        for statement in split_statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target}")


def _scalar(conn: sqlite3.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return row[0]


def split_statements(script: str) -> list[str]:
    """Split a migration into statements so each runs inside our transaction.

    ``executescript`` would COMMIT first, breaking the all-or-nothing upgrade. Migrations are
    our own DDL, without semicolons inside literals, so a plain split is enough.
    """
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def to_utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC, so text order is time order; naive datetimes are taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)

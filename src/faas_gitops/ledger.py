"""The sync history: one SQLite file in the state directory, shared by every faas-gitops process.

Why SQLite: the daemon, a ``--sync-once`` in a cron job and ``faas-gitops history`` may all open
the same state dir at once. WAL journal mode lets readers run while one writer commits,
``busy_timeout`` makes a second writer wait instead of failing, and ``BEGIN IMMEDIATE`` takes the
write lock up front so two writers never deadlock upgrading a read lock.

Why one transaction per sync: a sync is recorded completely or not at all, so
``last_synced_commit`` can never see half a sync.

The schema is versioned with ``PRAGMA user_version``: ``_MIGRATIONS[i]`` upgrades version ``i``
to ``i + 1``, and only ever gets appended to. ``PRAGMA application_id`` marks the file as ours, so
pointing ``--state-dir`` at someone else's database fails with one clear line instead of
scribbling tables into it.

This module sees results, never the API key.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from faas_gitops.errors import ConfigError
from faas_gitops.models import Status, SyncResult

LEDGER_FILENAME = "ledger.sqlite3"

#: Marks the file as a faas-gitops ledger (``PRAGMA application_id``; ASCII "FGL1").
APPLICATION_ID = 0x46474C31

#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 10_000

#: ``_MIGRATIONS[i]`` takes the schema from ``user_version`` ``i`` to ``i + 1``. Append only.
_MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE syncs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        commit_sha    TEXT    NOT NULL,
        ref           TEXT    NOT NULL,
        dry_run       INTEGER NOT NULL,
        trigger_name  TEXT    NOT NULL,
        started_at    TEXT    NOT NULL,
        finished_at   TEXT    NOT NULL,
        total         INTEGER NOT NULL,
        created       INTEGER NOT NULL,
        unchanged     INTEGER NOT NULL,
        would_create  INTEGER NOT NULL,
        failed        INTEGER NOT NULL,
        fatal_error   TEXT
    );
    CREATE TABLE outcomes (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id        INTEGER NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
        path           TEXT    NOT NULL,
        package_id     TEXT,
        status         TEXT    NOT NULL,
        revision_name  TEXT,
        revision_id    TEXT,
        correlation_id TEXT,
        error          TEXT
    );
    CREATE INDEX outcomes_by_sync ON outcomes (sync_id);
    CREATE INDEX outcomes_by_path ON outcomes (path, sync_id);
    CREATE INDEX outcomes_by_package_id ON outcomes (package_id, sync_id);
    CREATE INDEX syncs_by_ref ON syncs (ref, id);
    """,
]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One package's outcome in one recorded sync, as ``history`` shows it.

    ``recorded_at`` is when that sync finished (UTC); ``trigger`` says what started it
    (``sync-once``, ``poll``, ``webhook``...).
    """

    id: int
    recorded_at: datetime
    commit: str
    ref: str
    path: str
    package_id: str | None
    status: str
    revision_name: str | None
    revision_id: str | None
    correlation_id: str | None
    error: str | None
    trigger: str


def _to_utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC, so text order is time order; naive datetimes are taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class Ledger:
    """The sync history in ``<state_dir>/ledger.sqlite3``.

    One connection per object, guarded by a lock so the daemon may call it from worker threads
    (``asyncio.to_thread``). Several objects, in one process or many, may share the file.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILENAME
        self._lock = threading.Lock()
        try:
            Path(state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"state dir {state_dir} cannot be created: {exc.strerror or exc}"
            ) from exc
        try:
            self._conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # safe: every use holds self._lock
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"ledger {self.path} cannot be opened: {exc}") from exc
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ConfigError(f"ledger {self.path} is not usable: {exc}") from exc
        except ConfigError:
            self._conn.close()
            raise

    def _prepare(self) -> None:
        """Set the connection up and bring the schema to the newest version."""
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")  # fails early, and clearly, on a read-only file or dir
        try:
            self._check_identity()
            self._migrate()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")

    def _enable_wal(self) -> None:
        """Switch the file to WAL (persistent once set), waiting out other openers.

        The switch needs a moment of exclusive access and SQLite answers "database is locked"
        at once instead of calling the busy handler, so several processes opening a new ledger
        together would fail; retry until the busy timeout instead. It cannot run inside a
        transaction, hence outside the migration.
        """
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

    def _check_identity(self) -> None:
        """Refuse a database that is someone else's, or from a newer faas-gitops."""
        app_id = self._scalar("PRAGMA application_id")
        version = self._scalar("PRAGMA user_version")
        if app_id == 0:  # a brand-new file is empty; anything else belongs to someone else
            if version != 0 or self._scalar("SELECT count(*) FROM sqlite_master") > 0:
                app_id = -1
            else:
                self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                app_id = APPLICATION_ID
        if app_id != APPLICATION_ID:
            raise ConfigError(f"{self.path} is an SQLite database but not a faas-gitops ledger")
        if version > len(_MIGRATIONS):
            raise ConfigError(
                f"ledger {self.path} has schema version {version}, newer than this faas-gitops"
                f" understands ({len(_MIGRATIONS)}); upgrade faas-gitops"
            )

    def _migrate(self) -> None:
        """Run every migration the file has not seen yet (inside the caller's transaction)."""
        version = self._scalar("PRAGMA user_version")
        for target, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            for statement in _split_statements(script):
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {target}")

    def _scalar(self, sql: str) -> int:
        row = self._conn.execute(sql).fetchone()
        return int(row[0])

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        with self._lock:
            return self._scalar("PRAGMA user_version")

    def record(self, result: SyncResult, *, trigger: str = "sync-once") -> int:
        """Store one whole sync, every outcome included, atomically; return the sync id."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                sync_id = self._insert(result, trigger)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return sync_id

    def _insert(self, result: SyncResult, trigger: str) -> int:
        counts = result.summary
        cursor = self._conn.execute(
            "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at, finished_at,"
            " total, created, unchanged, would_create, failed, fatal_error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                result.commit,
                result.ref,
                int(result.dry_run),
                trigger,
                _to_utc_text(result.started_at),
                _to_utc_text(result.finished_at),
                counts["total"],
                counts[Status.CREATED.value],
                counts[Status.UNCHANGED.value],
                counts[Status.WOULD_CREATE.value],
                counts[Status.FAILED.value],
                result.fatal_error,
            ),
        )
        sync_id = cursor.lastrowid
        if sync_id is None:  # pragma: no cover -- sqlite always sets it after an INSERT
            raise RuntimeError("sqlite returned no id for the new sync row")
        self._conn.executemany(
            "INSERT INTO outcomes (sync_id, path, package_id, status, revision_name,"
            " revision_id, correlation_id, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    sync_id,
                    outcome.path,
                    outcome.package_id,
                    outcome.status.value,
                    outcome.revision_name,
                    outcome.revision_id,
                    outcome.correlation_id,
                    outcome.error,
                )
                for outcome in sorted(result.outcomes, key=lambda o: o.path)
            ],
        )
        return sync_id

    def history(self, *, package: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        """Outcomes newest sync first (by path within a sync), optionally of one package.

        ``package`` matches a package path or a package id exactly. Order follows the sync id,
        not the clock, so a clock that jumps back cannot reorder the history.
        """
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, not {limit}")
        sql = (
            "SELECT o.id, s.finished_at, s.commit_sha, s.ref, o.path, o.package_id, o.status,"
            " o.revision_name, o.revision_id, o.correlation_id, o.error, s.trigger_name"
            " FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id"
        )
        params: tuple[object, ...] = ()
        if package is not None:
            sql += " WHERE o.path = ? OR o.package_id = ?"
            params = (package, package)
        sql += " ORDER BY o.sync_id DESC, o.path ASC, o.id ASC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, (*params, limit)).fetchall()
        return [
            LedgerEntry(
                id=row[0],
                recorded_at=_from_utc_text(row[1]),
                commit=row[2],
                ref=row[3],
                path=row[4],
                package_id=row[5],
                status=row[6],
                revision_name=row[7],
                revision_id=row[8],
                correlation_id=row[9],
                error=row[10],
                trigger=row[11],
            )
            for row in rows
        ]

    def last_synced_commit(self, ref: str | None = None) -> str | None:
        """The commit of the newest complete, successful, real (not dry-run) sync.

        The daemon starts from it after a restart: a commit whose sync failed anywhere must be
        tried again, so only syncs with no failed package and no fatal error count.
        """
        sql = "SELECT commit_sha FROM syncs WHERE failed = 0 AND fatal_error IS NULL"
        sql += " AND dry_run = 0"
        params: tuple[str, ...] = ()
        if ref is not None:
            sql += " AND ref = ?"
            params = (ref,)
        sql += " ORDER BY id DESC LIMIT 1"
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _split_statements(script: str) -> list[str]:
    """Split a migration into statements, so each runs inside our transaction.

    ``executescript`` would COMMIT first, breaking the all-or-nothing upgrade. Migrations are
    our own DDL, without semicolons inside literals, so a plain split is enough.
    """
    return [statement.strip() for statement in script.split(";") if statement.strip()]


__all__ = ["APPLICATION_ID", "LEDGER_FILENAME", "Ledger", "LedgerEntry"]

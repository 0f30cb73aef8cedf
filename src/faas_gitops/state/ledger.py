"""The ledger: every sync and every package outcome, written as things happen.

A sync is journaled, not recorded at the end: ``begin_sync`` writes its row first; before a
create, ``record_pending`` commits a row saying what is about to be created (package, revision
name, a digest of the desired functions); right after the API's answer, ``resolve`` fills in
the revision id and the correlation ID of **that** answer. So ``history`` is true at any moment,
including right after ``kill -9``, and a later run finds the rows a killed run left ``pending``
and resolves them (``pending_writes``, ``adopt_pending``, ``abandon_pending``).

Outcomes that wrote nothing (``unchanged``, ``failed`` before any write) are buffered and
committed with the next write or at ``finish_sync``: losing them to a kill loses nothing the
next sync does not say again. This module sees results, never the API key.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import structlog

from faas_gitops.closing import Closing
from faas_gitops.errors import ConfigError
from faas_gitops.models import DeploymentOutcome, Outcome, Status, SyncResult
from faas_gitops.state.cache_file import CACHE_FILENAME, remembers_syncs
from faas_gitops.state.db import (
    Connection,
    Damaged,
    StoreSpec,
    open_store,
    to_utc_text,
    transaction,
)
from faas_gitops.state.guard import is_damage
from faas_gitops.state.history import HistoryQueries
from faas_gitops.state.ledger_rows import (
    INSERT_DEPLOYMENT,
    OUTCOME_COLUMNS,
    answer,
    deployment_row,
    failed_deployments,
    new_row_id,
    outcome_row,
)
from faas_gitops.state.pending import (
    PENDING,
    UNSETTLED_STEPS,
    PendingDeploymentStep,
    PendingRows,
    PendingWrite,
    StepAnswer,
)
from faas_gitops.state.retention import Pruned, prune
from faas_gitops.state.schema import LEDGER_MIGRATIONS

log = structlog.get_logger(__name__)

LEDGER_FILENAME = "ledger.sqlite3"

#: Marks the file as a faas-gitops ledger (``PRAGMA application_id``; ASCII "FGL1").
APPLICATION_ID = 0x46474C31

#: The schema history (``state/schema.py``); read at each open so tests can extend it.
_MIGRATIONS: list[str] = list(LEDGER_MIGRATIONS)


def _spec() -> StoreSpec:
    return StoreSpec(LEDGER_FILENAME, APPLICATION_ID, _MIGRATIONS, "ledger", check_at_open=True)


def damaged(path: Path, why: object) -> ConfigError:
    """The one line for a damaged ledger: which file, what SQLite said, and what to do.

    Never moved aside automatically: it is the record of every sync, and a person decides
    whether to restore a backup or start a new history.
    """
    reason = str(why).removeprefix(f"ledger {path} is damaged: ")
    return ConfigError(
        f"ledger {path} is damaged ({reason}); nothing was written. It is the record of every "
        f"sync and is never replaced automatically: restore it from a backup, or move it aside "
        f"(mv {path} {path}.damaged) to start a new history"
    )


def _open(state_dir: Path, *, readonly: bool) -> Connection:
    """The ledger file; a damaged one is refused (it is the record, never moved aside), at open
    (``PRAGMA quick_check`` within its budget) and at every later statement."""
    path = Path(state_dir) / LEDGER_FILENAME
    try:
        return open_store(
            Path(state_dir),
            _spec(),
            readonly=readonly,
            on_damage=lambda exc: damaged(path, exc),
        )
    except Damaged as exc:
        cause = exc.__cause__
        if isinstance(cause, sqlite3.Error) and not is_damage(cause):
            raise ConfigError(str(exc)) from None  # a failing migration, say: not the file
        raise damaged(path, str(exc).removeprefix(f"ledger {path} is not usable: ")) from None


def _history_restarts(state_dir: Path) -> None:
    """Warn when a ledger is about to be created (missing, or 0 bytes) beside a cache that
    remembers earlier syncs: the history of those syncs is gone, and a person should know."""
    path = state_dir / LEDGER_FILENAME
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        why = "missing"
    except OSError:
        return  # the opener says what is wrong with it
    else:
        if size:
            return
        why = "empty (0 bytes)"
    if not remembers_syncs(state_dir):
        return
    log.warning(
        "ledger.history_restarts",
        path=str(path),
        why=f"the ledger is {why} but {CACHE_FILENAME} remembers earlier syncs: the history "
        "of syncs starts again here; restore the ledger from a backup to keep it",
    )


class LedgerReader(HistoryQueries, Closing):
    """The ledger opened to read only (``Ledger.open_readonly``): ``history``, ``status``, the
    status page. It never takes the write lock, never migrates, and reads an older schema as if
    it were the newest (``state.db``), so it answers while a writer of any version works."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILENAME
        self._db = _open(state_dir, readonly=True)
        self._lock = threading.Lock()
        super().__init__(self._db.conn, self._lock)

    def close(self) -> None:
        """Idempotent."""
        with self._lock:
            self._db.close()


class Ledger(HistoryQueries, PendingRows, Closing):
    """The sync history in ``<state_dir>/ledger.sqlite3``, shared by every process.

    One connection per object, guarded by a lock so the daemon may call it from worker threads.
    Opening it creates or migrates the file; readers use ``Ledger.open_readonly`` instead.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILENAME
        _history_restarts(Path(state_dir))
        self._db: Connection = _open(state_dir, readonly=False)
        self._lock = threading.Lock()
        self._buffer: list[tuple[object, ...]] = []
        super().__init__(self._db.conn, self._lock)

    @staticmethod
    def open_readonly(state_dir: Path) -> LedgerReader:
        """The ledger to read only; ``ConfigError`` when there is none yet (run a sync first)."""
        return LedgerReader(state_dir)

    # ---- a sync, as it happens ---------------------------------------------------------
    def begin_sync(
        self,
        *,
        commit: str,
        ref: str,
        trigger: str,
        dry_run: bool,
        started_at: datetime,
        verified_by: str | None = None,
    ) -> int:
        """The sync's row, committed at once; ``finished_at`` equals ``started_at`` until done.
        ``verified_by``: the fingerprint of the key that signed the commit, if verified."""
        moment = to_utc_text(started_at)
        with self._lock, self._transaction():
            cursor = self._db.conn.execute(
                "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at,"
                " finished_at, total, created, unchanged, would_create, failed, completed,"
                " verified_by) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?)",
                (commit, ref, int(dry_run), trigger, moment, moment, verified_by),
            )
        return new_row_id(cursor.lastrowid)

    def record_pending(
        self,
        sync_id: int,
        *,
        path: str,
        package_id: str | None,
        name: str | None,
        revision_name: str,
        digest: str,
    ) -> int:
        """Before a create: say what is about to be created, durably, and return the row id."""
        with self._lock, self._transaction():
            self._flush_buffer()
            cursor = self._db.conn.execute(
                f"INSERT INTO outcomes ({OUTCOME_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL,"  # noqa: S608 - constant columns
                " NULL, ?, ?, NULL)",
                (sync_id, path, package_id, PENDING, revision_name, name, digest),
            )
        return new_row_id(cursor.lastrowid)

    def resolve(self, row_id: int, outcome: Outcome) -> None:
        """Right after the answer: the pending row becomes the package's outcome."""
        with self._lock, self._transaction():
            self._flush_buffer()
            self._db.conn.execute(
                "UPDATE outcomes SET package_id = ?, status = ?, revision_name = ?,"
                " revision_id = ?, correlation_id = ?, error = ?, lookup_correlation_id = ?"
                " WHERE id = ?",
                (*answer(outcome), outcome.lookup_correlation_id, row_id),
            )

    def add_outcome(self, sync_id: int, outcome: Outcome) -> None:
        """An outcome that wrote nothing: buffered until the next write or ``finish_sync``."""
        with self._lock:
            self._buffer.append(outcome_row(sync_id, outcome))

    def record_deployment(
        self,
        sync_id: int,
        *,
        path: str,
        package_id: str | None,
        step: str,
        outcome: DeploymentOutcome,
        status: str | None = None,
    ) -> None:
        """One deployment step (create, start, update, stop, result), committed at once.

        ``status``: a step's own answer (``pending``, ``ok``, ``busy``...); default the outcome's.
        A step journaled before its write must be durable before the write is sent, so each is
        its own transaction; results, written after the last answer, go by
        ``record_deployments``.
        """
        with self._lock, self._transaction():
            self._db.conn.execute(
                INSERT_DEPLOYMENT,
                deployment_row(sync_id, path, package_id, step, outcome, status),
            )

    def record_deployments(
        self, sync_id: int, rows: Sequence[tuple[str, str | None, str, DeploymentOutcome]]
    ) -> None:
        """Many deployment rows ``(path, package_id, step, outcome)`` in one transaction: all
        or none. For rows no write waits on (the release stage's results, one per package and
        environment): one commit instead of one per row, after the run's last answer."""
        if not rows:
            return
        with self._lock, self._transaction():
            self._db.conn.executemany(
                INSERT_DEPLOYMENT,
                [
                    deployment_row(sync_id, path, package_id, step, outcome, None)
                    for path, package_id, step, outcome in rows
                ],
            )

    def finish_sync(self, sync_id: int, result: SyncResult) -> None:
        """The sync's counts and end; only a finished sync can be the daemon's restart point."""
        with self._lock, self._transaction():
            self._flush_buffer()
            self._finish(sync_id, result)

    def _finish(self, sync_id: int, result: SyncResult) -> None:
        counts = result.summary
        self._db.conn.execute(
            "UPDATE syncs SET finished_at = ?, total = ?, created = ?, adopted = ?,"
            " unchanged = ?, would_create = ?, failed = ?, fatal_error = ?, completed = 1"
            " WHERE id = ?",
            (
                to_utc_text(result.finished_at),
                counts["total"],
                counts[Status.CREATED.value],
                counts[Status.ADOPTED.value],
                counts[Status.UNCHANGED.value],
                counts[Status.WOULD_CREATE.value],
                counts[Status.FAILED.value] + failed_deployments(result),
                result.fatal_error,
                sync_id,
            ),
        )

    def record(self, result: SyncResult, *, trigger: str = "sync-once") -> int:
        """A whole sync at once (what a dry run or a test has in hand); returns the sync id."""
        with self._lock, self._transaction():
            cursor = self._db.conn.execute(
                "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at,"
                " finished_at, total, created, unchanged, would_create, failed, completed)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0)",
                (
                    result.commit,
                    result.ref,
                    int(result.dry_run),
                    trigger,
                    to_utc_text(result.started_at),
                    to_utc_text(result.started_at),
                ),
            )
            sync_id = new_row_id(cursor.lastrowid)
            self._insert_outcomes(
                [outcome_row(sync_id, o) for o in sorted(result.outcomes, key=lambda o: o.path)]
            )
            self._finish(sync_id, result)
        return sync_id

    # ---- retention -------------------------------------------------------------------
    def prune(self, before: datetime) -> Pruned:
        """Forget what syncs that started before ``before`` recorded, except what the record's
        questions still return (see ``state.retention``). Holds no lock of this object while it
        computes what to keep, so other threads' writes and reads go on meanwhile."""
        self.flush()  # buffered outcomes are rows like any other
        return prune(self.path.parent, _spec(), to_utc_text(before))

    # ---- plumbing --------------------------------------------------------------------
    def write(self, statements: Sequence[tuple[str, Sequence[object]]]) -> int:
        """Run ``statements`` in one transaction under the ledger's lock, for a table another
        module of the state layer owns (``ticks``); returns the first statement's row id."""
        first: int | None = None
        with self._lock, self._transaction():
            for sql, params in statements:
                cursor = self._db.conn.execute(sql, tuple(params))
                first = cursor.lastrowid if first is None else first
        return new_row_id(first)

    def _transaction(self) -> AbstractContextManager[None]:
        return transaction(self._db.conn)

    def _flush_buffer(self) -> None:
        rows, self._buffer = self._buffer, []
        self._insert_outcomes(rows)

    def _insert_outcomes(self, rows: list[tuple[object, ...]]) -> None:
        if rows:
            placeholders = ", ".join("?" * 11)
            self._db.conn.executemany(
                f"INSERT INTO outcomes ({OUTCOME_COLUMNS}) VALUES ({placeholders})",  # noqa: S608 - constant columns
                rows,
            )

    def flush(self) -> None:
        with self._lock, self._transaction():
            self._flush_buffer()

    def close(self) -> None:
        """Write what is buffered and close; idempotent."""
        try:
            self.flush()
        except ConfigError:
            pass
        finally:
            with self._lock:
                self._db.close()


__all__ = [
    "APPLICATION_ID",
    "LEDGER_FILENAME",
    "PENDING",
    "UNSETTLED_STEPS",
    "Ledger",
    "LedgerReader",
    "PendingDeploymentStep",
    "PendingWrite",
    "StepAnswer",
]

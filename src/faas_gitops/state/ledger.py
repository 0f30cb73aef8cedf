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

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from faas_gitops.closing import Closing
from faas_gitops.errors import ConfigError
from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state.db import (
    Connection,
    Damaged,
    StoreSpec,
    open_store,
    to_utc_text,
    transaction,
)
from faas_gitops.state.history import HistoryQueries
from faas_gitops.state.retention import Pruned, prune
from faas_gitops.state.schema import LEDGER_MIGRATIONS

LEDGER_FILENAME = "ledger.sqlite3"

#: Marks the file as a faas-gitops ledger (``PRAGMA application_id``; ASCII "FGL1").
APPLICATION_ID = 0x46474C31

#: The schema history (``state/schema.py``); read at each open so tests can extend it.
_MIGRATIONS: list[str] = list(LEDGER_MIGRATIONS)

#: The status of a journal row written before a create whose answer has not arrived yet.
PENDING = "pending"

#: Deployment step statuses still waiting for their answer: a write sent (``pending``) or
#: answered ambiguously (``unknown``). A later row of the same step is its answer.
UNSETTLED_STEPS = ("pending", "unknown")

# A later row of the same step (same sync, path, environment; same deployment unless the
# unsettled row names none, as a create's ``pending`` row does) answers an unsettled one.
_LATER_ROW_OF_STEP = (
    "SELECT 1 FROM deployments AS later WHERE later.sync_id = d.sync_id"
    " AND later.path = d.path AND later.environment = d.environment AND later.step = d.step"
    " AND later.id > d.id"
    " AND (d.deployment_id IS NULL OR later.deployment_id = d.deployment_id)"
)

# ``?1`` is the sync to search before (-1: every sync), then the unsettled statuses.
_PENDING_STEPS_SQL = (
    "SELECT d.id, d.sync_id, d.path, d.package_id, d.environment, d.keyset_id, d.step,"  # noqa: S608 - constant SQL
    " d.status, d.revision_id, d.deployment_id FROM deployments AS d"
    " WHERE d.sync_id IN (SELECT id FROM syncs WHERE (completed = 0 OR failed > 0)"
    " AND (?1 < 0 OR id < ?1))"
    f" AND d.status IN ({', '.join('?' * len(UNSETTLED_STEPS))})"
    f" AND NOT EXISTS ({_LATER_ROW_OF_STEP}) ORDER BY d.id"
)

# A copy of an unsettled row with its answer, unless another row answered it first.
_SETTLE_STEP_SQL = (
    "INSERT INTO deployments (sync_id, path, package_id, environment, keyset_id, step, status,"  # noqa: S608 - constant SQL
    " revision_name, revision_id, deployment_id, previous_deployment_id,"
    " previous_revision_name, correlation_id, error, recorded_at)"
    " SELECT sync_id, path, package_id, environment, keyset_id, step, ?, revision_name,"
    " revision_id, COALESCE(?, deployment_id), previous_deployment_id,"
    " previous_revision_name, ?, ?, ?"
    f" FROM deployments AS d WHERE d.id = ? AND NOT EXISTS ({_LATER_ROW_OF_STEP})"
)

_OUTCOME_COLUMNS = (
    "sync_id, path, package_id, status, revision_name, revision_id, correlation_id, error,"
    " name, digest, lookup_correlation_id"
)


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A create that was journaled but never answered (its process was killed)."""

    row_id: int
    sync_id: int
    path: str
    package_id: str | None
    revision_name: str | None
    digest: str | None
    name: str | None = None  # the manifest's name (the package's when ``package_id`` is None)


@dataclass(frozen=True, slots=True)
class PendingDeploymentStep:
    """A deployment write journaled ``pending`` or ``unknown`` that no later row answered.

    ``deployment_id`` is the one the step wrote to (the old one, for a rolling update; none for
    a create or a stop by package); ``revision_id`` the revision being deployed, if known.
    """

    row_id: int
    sync_id: int
    path: str
    package_id: str | None
    environment: str
    keyset_id: int
    step: str
    status: str
    revision_id: str | None
    deployment_id: str | None


class Ledger(HistoryQueries, Closing):
    """The sync history in ``<state_dir>/ledger.sqlite3``, shared by every process.

    One connection per object, guarded by a lock so the daemon may call it from worker threads.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILENAME
        try:
            spec = StoreSpec(LEDGER_FILENAME, APPLICATION_ID, _MIGRATIONS, "ledger")
            self._db: Connection = open_store(Path(state_dir), spec)
        except Damaged as exc:
            raise ConfigError(str(exc)) from None
        self._lock = threading.Lock()
        self._buffer: list[tuple[object, ...]] = []
        super().__init__(self._db.conn, self._lock)

    # ---- a sync, as it happens ---------------------------------------------------------
    def begin_sync(
        self, *, commit: str, ref: str, trigger: str, dry_run: bool, started_at: datetime
    ) -> int:
        """The sync's row, committed at once; ``finished_at`` equals ``started_at`` until done."""
        moment = to_utc_text(started_at)
        with self._lock, self._transaction():
            cursor = self._db.conn.execute(
                "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at,"
                " finished_at, total, created, unchanged, would_create, failed, completed)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0)",
                (commit, ref, int(dry_run), trigger, moment, moment),
            )
        return _row_id(cursor.lastrowid)

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
                f"INSERT INTO outcomes ({_OUTCOME_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL,"  # noqa: S608 - constant columns
                " NULL, ?, ?, NULL)",
                (sync_id, path, package_id, PENDING, revision_name, name, digest),
            )
        return _row_id(cursor.lastrowid)

    def resolve(self, row_id: int, outcome: Outcome) -> None:
        """Right after the answer: the pending row becomes the package's outcome."""
        with self._lock, self._transaction():
            self._flush_buffer()
            self._db.conn.execute(
                "UPDATE outcomes SET package_id = ?, status = ?, revision_name = ?,"
                " revision_id = ?, correlation_id = ?, error = ?, lookup_correlation_id = ?"
                " WHERE id = ?",
                (*_answer(outcome), outcome.lookup_correlation_id, row_id),
            )

    def add_outcome(self, sync_id: int, outcome: Outcome) -> None:
        """An outcome that wrote nothing: buffered until the next write or ``finish_sync``."""
        with self._lock:
            self._buffer.append(_outcome_row(sync_id, outcome))

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
        """
        with self._lock, self._transaction():
            self._db.conn.execute(
                "INSERT INTO deployments (sync_id, path, package_id, environment, keyset_id,"
                " step, status, revision_name, revision_id, deployment_id,"
                " previous_deployment_id, previous_revision_name, correlation_id, error,"
                " recorded_at, note, pinned)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sync_id, path, package_id, outcome.environment, outcome.keyset_id, step,
                    status or outcome.status.value, outcome.revision_name, outcome.revision_id,
                    outcome.deployment_id, outcome.previous_deployment_id,
                    outcome.previous_revision_name, outcome.correlation_id, outcome.error,
                    to_utc_text(datetime.now(UTC)), outcome.note, int(outcome.pinned),
                ),
            )  # fmt: skip

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
                counts[Status.FAILED.value] + _failed_deployments(result),
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
            sync_id = _row_id(cursor.lastrowid)
            self._insert_outcomes(
                [_outcome_row(sync_id, o) for o in sorted(result.outcomes, key=lambda o: o.path)]
            )
            self._finish(sync_id, result)
        return sync_id

    # ---- what killed runs left behind ------------------------------------------------
    def pending_writes(self, *, before_sync: int | None = None) -> list[PendingWrite]:
        """Creates journaled by earlier syncs that never got their answer recorded."""
        sql = (
            "SELECT id, sync_id, path, package_id, revision_name, digest, name FROM outcomes"
            " WHERE status = ?"
        )
        params: tuple[object, ...] = (PENDING,)
        if before_sync is not None:
            sql += " AND sync_id < ?"
            params = (PENDING, before_sync)
        with self._lock:
            rows = self._db.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [PendingWrite(*row) for row in rows]

    def adopt_pending(
        self,
        row_id: int,
        *,
        revision_id: str,
        revision_name: str,
        lookup_correlation_id: str | None,
    ) -> None:
        """The killed run's create did land: record the revision, with no correlation ID."""
        with self._lock, self._transaction():
            self._db.conn.execute(
                "UPDATE outcomes SET status = ?, revision_id = ?, revision_name = ?,"
                " lookup_correlation_id = ? WHERE id = ? AND status = ?",
                (
                    Status.ADOPTED.value,
                    revision_id,
                    revision_name,
                    lookup_correlation_id,
                    row_id,
                    PENDING,
                ),
            )

    def abandon_pending(self, row_id: int, error: str) -> None:
        """The killed run's create never landed: say so instead of leaving it pending."""
        with self._lock, self._transaction():
            self._db.conn.execute(
                "UPDATE outcomes SET status = ?, error = ? WHERE id = ? AND status = ?",
                (Status.FAILED.value, error, row_id, PENDING),
            )

    def pending_deployment_steps(
        self, *, before_sync: int | None = None
    ) -> list[PendingDeploymentStep]:
        """Deployment writes of earlier syncs left ``pending`` or ``unknown``, oldest first.

        Only syncs that were killed (never finished) or had a failure are searched: a sync
        that finished cleanly answered every write it journaled, and the deployments table of
        a long-lived ledger is too big to scan at the start of every sync.
        """
        params = (before_sync if before_sync is not None else -1, *UNSETTLED_STEPS)
        with self._lock:
            rows = self._db.conn.execute(_PENDING_STEPS_SQL, params).fetchall()
        return [PendingDeploymentStep(*row) for row in rows]

    def settle_deployment_step(
        self,
        row_id: int,
        *,
        status: str,
        deployment_id: str | None = None,
        correlation_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Answer an unsettled step: a copy of its row with ``status`` (``ok``, ``abandoned``).

        ``deployment_id`` replaces the row's (a create found its deployment); the correlation
        id is that of the read that told. Appended, like every answer, so the ``pending`` row
        stays as written. ``False`` when the step had an answer already (another process
        settled it first), and nothing is written.
        """
        with self._lock, self._transaction():
            cursor = self._db.conn.execute(
                _SETTLE_STEP_SQL,
                (
                    status,
                    deployment_id,
                    correlation_id,
                    error,
                    to_utc_text(datetime.now(UTC)),
                    row_id,
                ),
            )
        return cursor.rowcount == 1

    # ---- retention -------------------------------------------------------------------
    def prune(self, before: datetime) -> Pruned:
        """Forget what syncs that started before ``before`` recorded, except what the record's
        questions still return (see ``state.retention``). Holds no lock of this object while it
        computes what to keep, so other threads' writes and reads go on meanwhile."""
        self.flush()  # buffered outcomes are rows like any other
        return prune(self.path, to_utc_text(before))

    # ---- plumbing --------------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[None]:
        return transaction(self._db.conn)

    def _flush_buffer(self) -> None:
        rows, self._buffer = self._buffer, []
        self._insert_outcomes(rows)

    def _insert_outcomes(self, rows: list[tuple[object, ...]]) -> None:
        if rows:
            placeholders = ", ".join("?" * 11)
            self._db.conn.executemany(
                f"INSERT INTO outcomes ({_OUTCOME_COLUMNS}) VALUES ({placeholders})",  # noqa: S608 - constant columns
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


def _answer(outcome: Outcome) -> tuple[object, ...]:
    """What an outcome says of the API's answer, in the ledger's column order."""
    return (
        outcome.package_id,
        outcome.status.value,
        outcome.revision_name,
        outcome.revision_id,
        outcome.correlation_id,
        outcome.error,
    )


def _outcome_row(sync_id: int, outcome: Outcome) -> tuple[object, ...]:
    return (
        sync_id,
        outcome.path,
        *_answer(outcome),
        outcome.name,
        None,
        outcome.lookup_correlation_id,
    )


def _failed_deployments(result: SyncResult) -> int:
    """A package whose deployment failed keeps its sync out of ``last_synced_commit``."""
    return sum(
        1
        for outcome in result.outcomes
        if outcome.status is not Status.FAILED
        and any(d.status is DeployStatus.FAILED for d in outcome.deployments)
    )


def _row_id(value: int | None) -> int:
    if value is None:  # pragma: no cover -- sqlite always sets it after an INSERT
        raise RuntimeError("sqlite returned no id for the new row")
    return value


__all__ = [
    "APPLICATION_ID",
    "LEDGER_FILENAME",
    "PENDING",
    "UNSETTLED_STEPS",
    "Ledger",
    "PendingDeploymentStep",
    "PendingWrite",
]

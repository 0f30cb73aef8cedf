"""What killed runs left behind in the ledger, and how a later run settles it.

A create is journaled ``pending`` before it is sent, a deployment step ``pending`` (or
``unknown``) before its answer; a process killed in between leaves those rows. The next sync
finds them here and records what really happened (``adopt_pending``, ``abandon_pending``,
``settle_deployment_step``). Mixed into ``Ledger``, which owns the connection and its lock.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from faas_gitops.models import Status
from faas_gitops.state.db import to_utc_text, transaction

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


@dataclass(frozen=True, slots=True)
class StepAnswer:
    """What a later run found out about a ``PendingDeploymentStep`` (``settle_deployment_step``).

    ``status`` is ``ok`` or ``abandoned``; ``deployment_id`` replaces the row's (a create found
    its deployment); ``correlation_id`` is that of the read that told; ``error`` says why a step
    was abandoned.
    """

    status: str
    deployment_id: str | None = None
    correlation_id: str | None = None
    error: str | None = None


class PendingRows:
    """The journal's unanswered rows: found, adopted, abandoned or settled by a later run."""

    _conn: sqlite3.Connection
    _lock: threading.Lock

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
            rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
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
        with self._lock, transaction(self._conn):
            self._conn.execute(
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
        with self._lock, transaction(self._conn):
            self._conn.execute(
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
            rows = self._conn.execute(_PENDING_STEPS_SQL, params).fetchall()
        return [PendingDeploymentStep(*row) for row in rows]

    def settle_deployment_step(self, row_id: int, answer: StepAnswer) -> bool:
        """Record ``answer`` for an unsettled step: a copy of its row with the answer's fields.

        Appended, like every answer, so the ``pending`` row stays as written. ``False`` when the
        step had an answer already (another process settled it first), and nothing is written.
        """
        with self._lock, transaction(self._conn):
            cursor = self._conn.execute(
                _SETTLE_STEP_SQL,
                (
                    answer.status,
                    answer.deployment_id,
                    answer.correlation_id,
                    answer.error,
                    to_utc_text(datetime.now(UTC)),
                    row_id,
                ),
            )
        return cursor.rowcount == 1

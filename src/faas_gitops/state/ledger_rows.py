"""How results become ledger rows: the column orders of ``outcomes`` and ``deployments`` and
the tuples written into them, apart from the ledger's connection and transactions (``ledger``),
so the one place that knows a row's shape is small enough to read at once."""

from __future__ import annotations

from datetime import UTC, datetime

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state.db import to_utc_text

OUTCOME_COLUMNS = (
    "sync_id, path, package_id, status, revision_name, revision_id, correlation_id, error,"
    " name, digest, lookup_correlation_id"
)

INSERT_DEPLOYMENT = (
    "INSERT INTO deployments (sync_id, path, package_id, environment, keyset_id,"
    " step, status, revision_name, revision_id, deployment_id,"
    " previous_deployment_id, previous_revision_name, correlation_id, error,"
    " recorded_at, note, pinned)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def deployment_row(  # noqa: PLR0917 - the columns of one row
    sync_id: int,
    path: str,
    package_id: str | None,
    step: str,
    outcome: DeploymentOutcome,
    status: str | None,
) -> tuple[object, ...]:
    """One ``deployments`` row in ``INSERT_DEPLOYMENT``'s column order, recorded now."""
    return (
        sync_id, path, package_id, outcome.environment, outcome.keyset_id, step,
        status or outcome.status.value, outcome.revision_name, outcome.revision_id,
        outcome.deployment_id, outcome.previous_deployment_id,
        outcome.previous_revision_name, outcome.correlation_id, outcome.error,
        to_utc_text(datetime.now(UTC)), outcome.note, int(outcome.pinned),
    )  # fmt: skip


def answer(outcome: Outcome) -> tuple[object, ...]:
    """What an outcome says of the API's answer, in the ledger's column order."""
    return (
        outcome.package_id,
        outcome.status.value,
        outcome.revision_name,
        outcome.revision_id,
        outcome.correlation_id,
        outcome.error,
    )


def outcome_row(sync_id: int, outcome: Outcome) -> tuple[object, ...]:
    return (
        sync_id,
        outcome.path,
        *answer(outcome),
        outcome.name,
        None,
        outcome.lookup_correlation_id,
    )


def failed_deployments(result: SyncResult) -> int:
    """Packages whose deployment failed: they count as failed in the sync's row (never quiet)."""
    return sum(
        1
        for outcome in result.outcomes
        if outcome.status is not Status.FAILED
        and any(d.status is DeployStatus.FAILED for d in outcome.deployments)
    )


def new_row_id(value: int | None) -> int:
    if value is None:  # pragma: no cover -- sqlite always sets it after an INSERT
        raise RuntimeError("sqlite returned no id for the new row")
    return value

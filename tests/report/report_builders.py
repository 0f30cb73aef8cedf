"""Hand-built results for the rendering tests: the renderers are pure, so no sync is needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult

COMMIT = "abc123def4567890abc123def4567890abc12345"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def make_result(
    *outcomes: Outcome, dry_run: bool = False, fatal_error: str | None = None
) -> SyncResult:
    return SyncResult(
        commit=COMMIT,
        ref="main",
        dry_run=dry_run,
        outcomes=outcomes,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=0.42),
        fatal_error=fatal_error,
    )


STAGING_DEPLOYED = DeploymentOutcome(
    environment="staging",
    keyset_id=412345,
    status=DeployStatus.DEPLOYED,
    revision_name="v1.4.0",
    revision_id="rev-14",
    deployment_id="dep-2",
    previous_deployment_id="dep-1",
    previous_revision_name="v1.3.0",
    correlation_id="corr-d",
)
PRODUCTION_IN_SYNC = DeploymentOutcome(
    environment="production",
    keyset_id=498765,
    status=DeployStatus.IN_SYNC,
    revision_name="v1.4.0",
    revision_id="rev-14",
    deployment_id="dep-9",
    previous_revision_name="v1.4.0",
)
GEO = Outcome(
    path="geo-fence",
    status=Status.CREATED,
    package_id="550e8400-e29b-41d4-a716-446655440000",
    revision_name="v1.4.0",
    revision_id="rev-14",
    correlation_id="corr-c",
    name="geo-fence-prod",
    deployments=(STAGING_DEPLOYED, PRODUCTION_IN_SYNC),
)

"""Sync results and notifier set-ups shared by the notification tests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.notify import DeliveryPolicy

SHA = "0123456789abcdef0123456789abcdef01234567"
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
FAST = DeliveryPolicy(deadline=3.0, attempt_timeout=1.0, base_delay=0.01, max_delay=0.05)


def sync_result(*outcomes: Outcome, fatal: str | None = None, sha: str = SHA) -> SyncResult:
    return SyncResult(sha, "main", False, outcomes, AT, AT, fatal_error=fatal)


def created(path: str) -> Outcome:
    return Outcome(
        path,
        Status.CREATED,
        package_id=f"id-{path}",
        name=f"name-{path}",
        revision_name="v1",
        revision_id=f"rev-{path}",
        correlation_id=f"corr-{path}",
    )


def failed(path: str, error: str = "manifest: bad function type") -> Outcome:
    return Outcome(path, Status.FAILED, package_id=f"id-{path}", error=error)


def unchanged(path: str, *deployments: DeploymentOutcome) -> Outcome:
    return Outcome(path, Status.UNCHANGED, package_id=f"id-{path}", deployments=deployments)


def deployed(env: str, status: DeployStatus = DeployStatus.DEPLOYED) -> DeploymentOutcome:
    return DeploymentOutcome(env, 7, status, revision_name="v1", correlation_id="c-dep")


class Counts(Counter[tuple[str, str]]):
    """An ``on_result`` callback that counts (target kind, result)."""

    def __call__(self, kind: str, result: str) -> None:
        self[(kind, result)] += 1

"""The page's questions of the deployment rows, on a real ledger: since when a state holds
(``deployed`` then ``in-sync`` is one state), what is deploying right now, an environment's
freeze and since when, deployment counts per sync, and a package's revisions and history with
every step's correlation ID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import Ledger
from faas_gitops.state.release_reads import (
    deployment_counts,
    package_deployments,
    package_revisions,
    release_facts,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def sync(ledger: Ledger, minute: int, *steps: tuple[str, str, DeploymentOutcome]) -> int:
    """One finished sync of ``chat`` (revision created at minute 0) with deployment rows."""
    created = Status.CREATED if minute == 0 else Status.UNCHANGED
    outcome = Outcome(
        "chat", created, package_id="pkg", revision_name="v1", revision_id="r1",
        correlation_id=f"corr-{minute}",
    )  # fmt: skip
    at = T0 + timedelta(minutes=minute)
    result = SyncResult("c" * 40, "main", False, (outcome,), at, at)
    sync_id = ledger.record(result, trigger="webhook")
    for path, step, deployment in steps:
        ledger.record_deployment(
            sync_id, path=path, package_id="pkg", step=step, outcome=deployment
        )
    return sync_id


def d(env: str, status: DeployStatus, **fields: Any) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env, keyset_id=7 if env == "prod" else 3, status=status, **fields
    )


def test_since_spans_deployed_then_in_sync_and_restarts_when_the_state_changes(
    tmp_path: Path,
) -> None:
    with Ledger(tmp_path) as ledger:
        first = sync(
            ledger, 0,
            ("chat", "create", d("staging", DeployStatus.DEPLOYED, correlation_id="c-create")),
            ("chat", "result", d("staging", DeployStatus.DEPLOYED, revision_name="v1")),
            ("chat", "result", d("prod", DeployStatus.FROZEN, revision_name="v1",
                                 previous_revision_name="v0", note="frozen in faas-gitops.yaml")),
        )  # fmt: skip
        sync(
            ledger, 5,
            ("chat", "result", d("staging", DeployStatus.IN_SYNC, revision_name="v1")),
            ("chat", "result", d("prod", DeployStatus.FROZEN, revision_name="v1",
                                 previous_revision_name="v0", note="frozen in faas-gitops.yaml")),
        )  # fmt: skip
        facts = release_facts(ledger)
        counts = deployment_counts(ledger, [first])
        history = package_deployments(ledger, "chat")
        revisions = package_revisions(ledger, "chat")
        sync(ledger, 9, ("chat", "result", d("staging", DeployStatus.DEPLOYED, revision_name="v2")))
        later = release_facts(ledger)
        newest = package_deployments(ledger, "chat")[0]
    oldest: dict[str, datetime] = {}
    for h in history:
        oldest[h.environment] = h.at  # newest first: the last assignment is the oldest row
    assert facts.since[("chat", "staging")] == oldest["staging"]  # deployed, then in sync
    assert facts.since[("chat", "prod")] == oldest["prod"]
    assert later.since[("chat", "staging")] == newest.at  # v2 deployed: a new state
    prod = facts.environments["prod"]
    assert (prod.keyset_id, prod.frozen_note) == (7, "frozen in faas-gitops.yaml")
    assert prod.frozen_since is not None
    assert facts.environments["staging"].frozen_note is None
    assert facts.deploying == frozenset()  # every sync finished
    assert counts == {first: {"deployed": 1, "frozen": 1}}
    oldest_staging = [h for h in history if h.environment == "staging"][-1]
    assert (oldest_staging.status, oldest_staging.to_revision) == ("deployed", "v1")
    assert [s.correlation_id for s in oldest_staging.steps] == ["c-create"]
    made = {r.name: r.made_by for r in revisions}
    assert made == {"v1": "faas-gitops", "v0": "outside faas-gitops"}


def test_a_step_of_an_unfinished_sync_newer_than_the_result_is_deploying(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        sync(ledger, 0, ("chat", "result", d("staging", DeployStatus.IN_SYNC, revision_name="v1")))
        running = ledger.begin_sync(
            commit="d" * 40, ref="main", trigger="webhook", dry_run=False, started_at=T0
        )
        ledger.record_deployment(
            running, path="chat", package_id="pkg", step="create",
            outcome=d("staging", DeployStatus.DEPLOYED, revision_name="v2"), status="pending",
        )  # fmt: skip
        facts = release_facts(ledger)
    assert facts.deploying == frozenset({("chat", "staging")})

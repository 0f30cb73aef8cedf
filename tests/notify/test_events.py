"""Which outcome of a sync becomes which notification event: the rule as a table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.notify import EventKind, events_of, sync_failed_event

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SHA = "a" * 40


def result(*outcomes: Outcome, fatal: str | None = None, dry_run: bool = False) -> SyncResult:
    return SyncResult(SHA, "main", dry_run, outcomes, AT, AT, fatal_error=fatal)


def outcome(path: str, status: Status, **extra: object) -> Outcome:
    return Outcome(path, status, package_id="pkg-" + path, name="name-" + path, **extra)  # type: ignore[arg-type]


def deployment(env: str, status: DeployStatus, **extra: object) -> DeploymentOutcome:
    return DeploymentOutcome(env, 1, status, **extra)  # type: ignore[arg-type]


CASES = [
    pytest.param(
        result(outcome("a", Status.CREATED)), set(), [("revision-created", "a", None)], id="created"
    ),
    pytest.param(
        result(outcome("a", Status.CREATED)),
        {"a"},
        [("drift-corrected", "a", None)],
        id="created-on-drift",
    ),
    pytest.param(
        result(outcome("a", Status.CREATED)),
        {"b"},
        [("revision-created", "a", None)],
        id="drift-elsewhere",
    ),
    pytest.param(result(outcome("a", Status.ADOPTED)), set(), [], id="adopted-is-silent"),
    pytest.param(result(outcome("a", Status.UNCHANGED)), {"a"}, [], id="unchanged-is-silent"),
    pytest.param(
        result(outcome("a", Status.WOULD_CREATE), dry_run=True), set(), [], id="dry-run-is-silent"
    ),
    pytest.param(
        result(outcome("a", Status.FAILED, error="boom")),
        set(),
        [("package-failed", "a", None)],
        id="failed",
    ),
    pytest.param(result(fatal="API down"), set(), [("sync-failed", None, None)], id="fatal"),
    pytest.param(
        result(outcome("b", Status.FAILED), outcome("a", Status.CREATED), fatal="later"),
        set(),
        [
            ("sync-failed", None, None),
            ("revision-created", "a", None),
            ("package-failed", "b", None),
        ],
        id="sync-first-then-by-path",
    ),
    pytest.param(
        result(
            outcome(
                "a",
                Status.UNCHANGED,
                deployments=(
                    deployment("prod", DeployStatus.FAILED, error="no"),
                    deployment("dev", DeployStatus.DEPLOYED),
                    deployment("qa", DeployStatus.IN_SYNC),
                    deployment("x", DeployStatus.FROZEN),
                    deployment("y", DeployStatus.PRUNED),
                ),
            )
        ),
        set(),
        [
            ("deployed", "a", "dev"),
            ("deploy-failed", "a", "prod"),
            ("frozen", "a", "x"),
            ("pruned", "a", "y"),
        ],
        id="deployments",
    ),
]


@pytest.mark.parametrize(("sync", "drift", "expected"), CASES)
def test_each_outcome_maps_to_its_event(
    sync: SyncResult, drift: set[str], expected: list[tuple[str, str | None, str | None]]
) -> None:
    events = events_of(sync, drift_paths=frozenset(drift))
    assert [(e.kind.value, e.path, e.environment) for e in events] == expected


def test_a_created_event_carries_the_documented_json_fields() -> None:
    created = outcome(
        "svc/geo", Status.CREATED, revision_name="v1", revision_id="rev-1", correlation_id="c-1"
    )
    [event] = events_of(result(created))
    assert event.to_json() == {
        "event": "revision-created",
        "commit": SHA,
        "ref": "main",
        "package": {"path": "svc/geo", "packageId": "pkg-svc/geo", "name": "name-svc/geo"},
        "revisionName": "v1",
        "revisionId": "rev-1",
        "correlationId": "c-1",
        "error": None,
        "at": "2026-11-02T09:30:00Z",
        "commitUrl": None,
        "pageUrl": None,
    }


def test_a_deployed_event_names_environment_keyset_and_the_revisions_from_and_to() -> None:
    deployed = DeploymentOutcome(
        "staging",
        412345,
        DeployStatus.DEPLOYED,
        revision_name="v2",
        revision_id="r2",
        previous_revision_name="v1",
        correlation_id="c9",
    )
    [event] = events_of(result(outcome("a", Status.UNCHANGED, deployments=(deployed,))))
    doc = event.to_json()
    assert {
        k: doc[k]
        for k in ("event", "environment", "keysetId", "fromRevision", "toRevision", "correlationId")
    } == {
        "event": "deployed",
        "environment": "staging",
        "keysetId": 412345,
        "fromRevision": "v1",
        "toRevision": "v2",
        "correlationId": "c9",
    }


def test_a_first_deployment_comes_from_no_revision() -> None:
    first = deployment("staging", DeployStatus.DEPLOYED, revision_name="v1")
    [event] = events_of(result(outcome("a", Status.UNCHANGED, deployments=(first,))))
    assert (event.to_json()["fromRevision"], event.to_json()["toRevision"]) == (None, "v1")


def test_a_failed_package_event_always_says_why() -> None:
    [event] = events_of(result(outcome("a", Status.FAILED, error="manifest: bad type")))
    assert event.to_json()["error"] == "manifest: bad type"


def test_a_sync_that_raised_is_a_sync_failed_event_without_a_package() -> None:
    event = sync_failed_event(SHA, "main", "ref main not found", AT)
    assert event.kind is EventKind.SYNC_FAILED
    assert event.to_json()["package"] is None
    assert "environment" not in event.to_json()


def test_the_dedup_key_tells_events_of_other_packages_environments_and_commits_apart() -> None:
    keys = {
        e.key
        for e in events_of(
            result(
                outcome("a", Status.FAILED),
                outcome("b", Status.FAILED, deployments=(deployment("dev", DeployStatus.FAILED),)),
            )
        )
    }
    assert len(keys) == 3

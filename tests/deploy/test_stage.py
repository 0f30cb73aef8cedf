"""The release stage against an in-memory deployment API (the real ``ApiClient`` over it)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from faas_gitops.api import ApiClient
from faas_gitops.deploy import (
    DeployTarget,
    PackageToPromote,
    ReleaseEnvironment,
    ReleaseInputs,
    Timing,
    promote,
    run_release,
)
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.apply import Outcomes
from faas_gitops.errors import ApiAuthError
from faas_gitops.models import DeployStatus
from tests.deploy.fake_faas import FakeFaas
from tests.fake_clock import FakeClock

STAGING = ReleaseEnvironment("staging", 412345)
PROD = ReleaseEnvironment("production", 498765)
OWNER = "acme/functions"


@pytest.fixture
def fake() -> FakeFaas:
    faas = FakeFaas()
    for pkg in ("a", "b"):
        faas.add_revision(f"pkg-{pkg}", f"{pkg}1", "v1.0.0")
        faas.add_revision(f"pkg-{pkg}", f"{pkg}2", "v1.1.0")
    return faas


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def target(pkg: str, rev: str, name: str, **extra: Any) -> DeployTarget:
    return DeployTarget(f"packages/{pkg}", f"pkg-{pkg}", rev, name, **extra)


def run(
    fake: FakeFaas,
    fake_clock: FakeClock,
    targets: list[DeployTarget],
    *,
    deploy_timeout: float = 5.0,
    environments: list[ReleaseEnvironment] | None = None,
    configured: list[ReleaseEnvironment] | None = None,
    journal: Any = None,
    **inputs: Any,
) -> Outcomes:
    """One ``run_release`` over a fresh client; staging is the default environment, and both
    staging and production are configured. Removed packages' rows are merged in by path."""
    timing = Timing(deploy_timeout=deploy_timeout, sleep=fake_clock.sleep, clock=fake_clock)
    active = environments if environments is not None else [STAGING]
    names = {env.keyset_id for env in active}
    everything = [*active, *(env for env in (STAGING, PROD) if env.keyset_id not in names)]
    release = asyncio.run(
        run_release(
            fake.client(),
            ReleaseInputs(
                environments=tuple(active),
                configured=tuple(configured if configured is not None else everything),
                targets=tuple(targets),
                owner=OWNER,
                declared_ids=frozenset(t.package_id for t in targets if t.package_id),
                **inputs,
            ),
            journal=journal,
            timing=timing,
        )
    )
    outcomes = dict(release.deployments)
    outcomes.update({removed.path: removed.deployments for removed in release.removed})
    return outcomes


def ours(fake: FakeFaas, package_id: str, path: str, owner: str = OWNER) -> None:
    """Mark a package as managed by ``owner`` from ``path``, as an earlier sync would have."""
    fake.tags[package_id] = tags.with_marks(fake.tags[package_id], owner=owner, directory=path)


def statuses(outcomes: Outcomes) -> dict[tuple[str, str], DeployStatus]:
    return {(p, o.environment): o.status for p, items in outcomes.items() for o in items}


def test_a_first_deploy_creates_and_starts_and_waits_until_running(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    steps: list[tuple[str, str]] = []
    outcomes = run(
        fake,
        fake_clock,
        [target("a", "a2", "v1.1.0")],
        journal=lambda step, env, path, dep, corr, status: steps.append((step, status)),
    )

    (outcome,) = outcomes["packages/a"]
    assert outcome.status is DeployStatus.DEPLOYED
    assert fake.running(STAGING.keyset_id) == {"v1.1.0": outcome.deployment_id}
    assert [m for m, _ in fake.deployment_writes()] == ["POST", "POST"]
    assert steps == [
        ("create", "pending"),
        ("create", "ok"),
        ("start", "pending"),
        ("start", "ok"),
        ("running", "ok"),
    ]
    assert outcome.correlation_id is not None


def test_a_second_run_is_in_sync_and_writes_nothing(fake: FakeFaas, fake_clock: FakeClock) -> None:
    run(fake, fake_clock, [target("a", "a2", "v1.1.0")])
    fake.log.clear()

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")])

    assert statuses(outcomes) == {("packages/a", "staging"): DeployStatus.IN_SYNC}
    assert fake.writes() == []


def test_a_new_revision_rolls_the_running_one_over(fake: FakeFaas, fake_clock: FakeClock) -> None:
    old = fake.run("a1", STAGING.keyset_id)

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")])

    (outcome,) = outcomes["packages/a"]
    assert (outcome.status, outcome.previous_deployment_id, outcome.previous_revision_name) == (
        DeployStatus.DEPLOYED,
        old,
        "v1.0.0",
    )
    assert fake.deployments[old].state == "STOPPED"
    assert fake.running(STAGING.keyset_id) == {"v1.1.0": outcome.deployment_id}
    assert [m for m, _ in fake.deployment_writes()] == ["POST", "PUT"]


def test_an_existing_deployment_of_the_revision_is_found_after_a_409(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    fake.run("a1", STAGING.keyset_id)
    run(fake, fake_clock, [target("a", "a2", "v1.1.0")])
    rollback = run(fake, fake_clock, [target("a", "a1", "v1.0.0")])  # rolls back onto a1

    assert statuses(rollback) == {("packages/a", "staging"): DeployStatus.DEPLOYED}
    assert list(fake.running(STAGING.keyset_id)) == ["v1.0.0"]


def test_a_package_restricted_to_staging_never_reaches_production(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    outcomes = run(
        fake,
        fake_clock,
        [target("a", "a2", "v1.1.0", environments=("staging",)), target("b", "b2", "v1.1.0")],
        environments=[STAGING, PROD],
    )

    assert statuses(outcomes) == {
        ("packages/a", "staging"): DeployStatus.DEPLOYED,
        ("packages/b", "staging"): DeployStatus.DEPLOYED,
        ("packages/b", "production"): DeployStatus.DEPLOYED,
    }
    assert fake.running(PROD.keyset_id) == {"v1.1.0": outcomes["packages/b"][1].deployment_id}


def test_a_pin_holds_production_while_staging_moves_on(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    pinned = target("a", "a2", "v1.1.0", pins=(("production", "v1.0.0"),))

    run(fake, fake_clock, [pinned], environments=[STAGING, PROD])

    assert list(fake.running(STAGING.keyset_id)) == ["v1.1.0"]
    assert list(fake.running(PROD.keyset_id)) == ["v1.0.0"]


def test_a_package_naming_an_undefined_environment_fails_alone(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    outcomes = run(
        fake,
        fake_clock,
        [target("a", "a2", "v1.1.0", environments=("qa",)), target("b", "b2", "v1.1.0")],
        defined_names=frozenset({"staging", "production"}),
    )

    (failed,) = outcomes["packages/a"]
    assert failed.error == (
        "packages/a/package.yaml: environments: 'qa' is not defined in faas-gitops.yaml;"
        " define it there or remove it here"
    )
    assert statuses(outcomes)[("packages/b", "staging")] is DeployStatus.DEPLOYED


def test_a_frozen_environment_shows_the_change_and_writes_nothing(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    fake.run("a1", PROD.keyset_id)
    frozen = ReleaseEnvironment("production", PROD.keyset_id, True, "frozen in faas-gitops.yaml")

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")], environments=[frozen])

    (outcome,) = outcomes["packages/a"]
    assert (outcome.status, outcome.previous_revision_name, outcome.revision_name) == (
        DeployStatus.FROZEN,
        "v1.0.0",
        "v1.1.0",
    )
    assert (outcome.running_revision_name, outcome.note) == (
        "v1.0.0",
        "frozen in faas-gitops.yaml",
    )
    assert fake.writes() == []


def test_a_dry_run_would_deploy_and_writes_nothing(fake: FakeFaas, fake_clock: FakeClock) -> None:
    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")], dry_run=True)

    assert statuses(outcomes) == {("packages/a", "staging"): DeployStatus.WOULD_DEPLOY}
    assert fake.writes() == []


def test_423_answers_are_waited_out(fake: FakeFaas, fake_clock: FakeClock) -> None:
    fake.busy = 3

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")])

    assert statuses(outcomes) == {("packages/a", "staging"): DeployStatus.DEPLOYED}
    assert [m for m, _ in fake.deployment_writes()] == ["POST"] + ["POST"] * 4
    assert fake_clock.sleeps[:3] == pytest.approx([0.1, 0.16, 0.256])


def test_423_past_the_deadline_fails_with_a_line_naming_the_timeout(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    fake.busy = 1_000

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")], deploy_timeout=3.0)

    (outcome,) = outcomes["packages/a"]
    assert outcome.status is DeployStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.endswith("within 3 s; raise --deploy-timeout")


def test_a_failed_start_fails_that_deployment(fake: FakeFaas, fake_clock: FakeClock) -> None:
    fake.fail_start = True

    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")])

    (outcome,) = outcomes["packages/a"]
    assert outcome.status is DeployStatus.FAILED
    assert outcome.error is not None
    assert "FAAS-1012" in outcome.error


def test_the_running_limit_fails_exactly_the_deployments_over_it(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    fake.max_running = 3
    for pkg in "cdef":
        fake.add_revision(f"pkg-{pkg}", f"{pkg}1", "v1.0.0")
    fake.run("f1", PROD.keyset_id)  # one slot already used elsewhere
    targets = [target(pkg, f"{pkg}1", "v1.0.0") for pkg in "abcde"]

    outcomes = run(fake, fake_clock, targets)

    failed = {p for (p, _), s in statuses(outcomes).items() if s is DeployStatus.FAILED}
    assert failed == {"packages/c", "packages/d", "packages/e"}
    assert outcomes["packages/e"][0].error == (
        "running-deployments limit reached: 3 of 3 running"
        " (GET /v2/faas/limits/package-deployments-running); stop a deployment or raise the"
        " account's limit"
    )
    running = [d for d in fake.deployments.values() if d.state == "RUNNING"]
    assert sorted(d.revision_id for d in running if d.keyset_id == STAGING.keyset_id) == [
        "a1",
        "b1",
    ]
    assert fake.log.count(("GET", "/v2/faas/limits/package-deployments-running")) == 1


def test_prune_stops_a_removed_package_on_the_active_keysets_only(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    ours(fake, "pkg-a", "packages/a")
    on_staging = fake.run("a1", STAGING.keyset_id)
    on_prod = fake.run("a1", PROD.keyset_id)

    outcomes = run(fake, fake_clock, [], prune=True)

    staging, production = sorted(outcomes["packages/a"], key=lambda o: o.environment != "staging")
    assert (staging.status, staging.previous_deployment_id) == (DeployStatus.PRUNED, on_staging)
    assert (production.status, production.running_revision_name) == (
        DeployStatus.ORPHANED,
        "v1.0.0",
    )
    assert production.note is not None
    assert "--prune stops it" in production.note
    assert fake.deployments[on_staging].state == "STOPPED"
    assert fake.deployments[on_prod].state == "RUNNING"
    assert fake.writes() == [
        ("DELETE", f"/v2/faas/package-deployments/{on_staging}/function-deployments")
    ]


def test_prune_stops_each_deployment_by_id_never_the_whole_package(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    ours(fake, "pkg-a", "packages/a")
    on_staging = fake.run("a1", STAGING.keyset_id)

    outcomes = run(fake, fake_clock, [], prune=True)

    assert statuses(outcomes) == {("packages/a", "staging"): DeployStatus.PRUNED}
    assert fake.writes() == [
        ("DELETE", f"/v2/faas/package-deployments/{on_staging}/function-deployments")
    ]
    assert fake.running(STAGING.keyset_id) == {}


def test_prune_never_stops_a_package_it_did_not_mark_or_another_owner_marked(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    ours(fake, "pkg-b", "packages/b", owner="someone/else")
    fake.run("a1", STAGING.keyset_id)  # pkg-a: no mark at all
    fake.run("b1", STAGING.keyset_id)

    outcomes = run(fake, fake_clock, [], prune=True)

    assert outcomes == {}
    assert fake.writes() == []


def test_prune_never_stops_what_a_directory_of_the_commit_still_targets(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    ours(fake, "pkg-a", "packages/old-name")  # renamed: same package id, another directory
    fake.run("a1", STAGING.keyset_id)

    outcomes = run(fake, fake_clock, [target("a", "a1", "v1.0.0")], prune=True)

    assert statuses(outcomes) == {("packages/a", "staging"): DeployStatus.IN_SYNC}
    assert fake.deployment_writes() == []
    assert tags.parse(fake.tags["pkg-a"]).directory == "packages/a"  # the mark follows the move


def test_prune_stays_inside_path(fake: FakeFaas, fake_clock: FakeClock) -> None:
    ours(fake, "pkg-a", "teamA/a")
    ours(fake, "pkg-b", "teamB/b")
    fake.run("a1", STAGING.keyset_id)
    on_b = fake.run("b1", STAGING.keyset_id)

    outcomes = run(fake, fake_clock, [], prune=True, scope="teamB")

    assert statuses(outcomes) == {("teamB/b", "staging"): DeployStatus.PRUNED}
    assert fake.writes() == [
        ("DELETE", f"/v2/faas/package-deployments/{on_b}/function-deployments")
    ]


def test_no_environment_makes_no_call(fake: FakeFaas, fake_clock: FakeClock) -> None:
    outcomes = run(fake, fake_clock, [target("a", "a2", "v1.1.0")], environments=[])

    assert outcomes == {}
    assert fake.log == []


def test_promote_deploys_the_revision_running_on_the_source(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    fake.run("a1", STAGING.keyset_id)
    fake.run("b2", PROD.keyset_id)
    timing = Timing(sleep=fake_clock.sleep, clock=fake_clock)

    outcomes = asyncio.run(
        promote(
            fake.client(),
            source_env=STAGING,
            target_env=PROD,
            packages=[
                PackageToPromote("packages/a", "pkg-a"),
                PackageToPromote("packages/b", "pkg-b"),
            ],
            timing=timing,
        )
    )

    (a,) = outcomes["packages/a"]
    assert (a.status, a.revision_id, a.environment) == (DeployStatus.DEPLOYED, "a1", "production")
    (b,) = outcomes["packages/b"]
    assert b.status is DeployStatus.FAILED
    assert b.error == (
        "packages/b: nothing runs on staging (keyset 412345) to promote; deploy it there first"
    )
    assert set(fake.running(PROD.keyset_id)) == {"v1.1.0", "v1.0.0"}


def test_a_dry_run_prune_would_stop_and_a_frozen_one_is_frozen_and_neither_writes(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    ours(fake, "pkg-a", "packages/a")
    on_staging = fake.run("a1", STAGING.keyset_id)
    fake.run("a1", PROD.keyset_id)
    frozen = ReleaseEnvironment("production", PROD.keyset_id, True, "frozen in faas-gitops.yaml")

    dry = run(fake, fake_clock, [], prune=True, dry_run=True)
    held = run(fake, fake_clock, [], prune=True, environments=[frozen])

    would = next(o for o in dry["packages/a"] if o.environment == "staging")
    assert (would.status, would.revision_id, would.previous_deployment_id) == (
        DeployStatus.WOULD_PRUNE,
        None,
        on_staging,
    )
    assert statuses(held)[("packages/a", "production")] is DeployStatus.FROZEN
    assert fake.writes() == []


def test_a_rolling_update_journals_each_step_with_its_answers_correlation_id(
    fake: FakeFaas, fake_clock: FakeClock
) -> None:
    old = fake.run("a1", STAGING.keyset_id)
    steps: list[tuple[str, str | None, str | None, str]] = []

    outcomes = run(
        fake,
        fake_clock,
        [target("a", "a2", "v1.1.0")],
        journal=lambda step, env, path, dep, corr, status: steps.append((step, dep, corr, status)),
    )

    (outcome,) = outcomes["packages/a"]
    new = outcome.deployment_id
    assert [(step, dep, status) for step, dep, _, status in steps] == [
        ("create", None, "pending"),
        ("create", new, "ok"),
        ("rolling-update", old, "pending"),
        ("rolling-update", old, "ok"),
        ("running", new, "ok"),
    ]
    assert all(corr is not None for _, _, corr, status in steps if status != "pending")
    assert outcome.correlation_id == steps[3][2]  # that of the last write


def test_a_rejected_key_stops_the_stage_with_the_auth_error_itself(fake_clock: FakeClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        errors = [{"code": "FAAS-1002", "message": "invalid key"}]
        return httpx.Response(401, json={"meta": {}, "errors": errors})

    http = httpx.AsyncClient(base_url="http://faas.test", transport=httpx.MockTransport(refuse))
    stage = run_release(
        ApiClient(http),
        ReleaseInputs(
            environments=(STAGING,),
            configured=(STAGING,),
            targets=(target("a", "a2", "v1.1.0"), target("b", "b2", "v1.1.0")),
            owner=OWNER,
        ),
        timing=Timing(sleep=fake_clock.sleep, clock=fake_clock),
    )

    with pytest.raises(ApiAuthError):
        asyncio.run(stage)


def test_promote_with_a_concurrency_of_one_finishes(fake: FakeFaas, fake_clock: FakeClock) -> None:
    fake.run("a1", STAGING.keyset_id)
    fake.run("b1", STAGING.keyset_id)
    packages = [PackageToPromote("packages/a", "pkg-a"), PackageToPromote("packages/b", "pkg-b")]

    outcomes = asyncio.run(
        promote(
            fake.client(),
            source_env=STAGING,
            target_env=PROD,
            packages=packages,
            concurrency=1,
            timing=Timing(sleep=fake_clock.sleep, clock=fake_clock),
        )
    )

    assert statuses(outcomes) == {
        ("packages/a", "production"): DeployStatus.DEPLOYED,
        ("packages/b", "production"): DeployStatus.DEPLOYED,
    }

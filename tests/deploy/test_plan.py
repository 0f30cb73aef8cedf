"""The deployment plan, one row per situation: what runs, what the commit wants, freeze, dry run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from faas_gitops.deploy.api import Deployment
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.models import DeployStatus
from faas_gitops.source.environments import Environment

STAGING = Environment("staging", 412345)
FROZEN = Environment("production", 498765, frozen=True)
PROD = Environment("production", 498765)
REVISIONS = (RevisionRef("r1", "v1.0.0"), RevisionRef("r2", "v1.1.0"), RevisionRef("r3", "v1.2.0"))
R3 = RevisionRef("r3", "v1.2.0")


def running(dep: str, rev: str, keyset: int = 412345) -> Deployment:
    return Deployment(dep, rev, keyset, "RUNNING")


def stopped(dep: str, rev: str, keyset: int = 412345) -> Deployment:
    return Deployment(dep, rev, keyset, "STOPPED")


@dataclass(frozen=True)
class Row:
    name: str
    on_keyset: tuple[Deployment, ...]
    action: DeployAction
    env: Environment = STAGING
    desired: RevisionRef | None = R3
    pin: str | None = None
    dry_run: bool = False
    revision_id: str | None = "r3"
    deployment_id: str | None = None
    previous: tuple[str | None, str | None] = (None, None)


ROWS = [
    Row("nothing runs: create and start", (), DeployAction.START),
    Row(
        "the desired revision runs: in sync",
        (running("d3", "r3"),),
        DeployAction.IN_SYNC,
        deployment_id="d3",
    ),
    Row(
        "an older revision runs: roll over from it",
        (running("d2", "r2"), stopped("d1", "r1")),
        DeployAction.ROLL,
        previous=("d2", "v1.1.0"),
    ),
    Row(
        "a stopped deployment of the desired revision is reused",
        (running("d2", "r2"), stopped("d3", "r3")),
        DeployAction.ROLL,
        deployment_id="d3",
        previous=("d2", "v1.1.0"),
    ),
    Row(
        "deployments on other keysets do not count",
        (running("d9", "r3", keyset=498765),),
        DeployAction.START,
    ),
    Row(
        "a frozen environment plans the change but marks it frozen",
        (running("p2", "r2", keyset=498765),),
        DeployAction.FROZEN,
        env=FROZEN,
        previous=("p2", "v1.1.0"),
    ),
    Row(
        "a frozen environment already in sync is in sync",
        (running("p3", "r3", keyset=498765),),
        DeployAction.IN_SYNC,
        env=FROZEN,
        deployment_id="p3",
    ),
    Row(
        "a dry run would deploy",
        (running("d2", "r2"),),
        DeployAction.WOULD_DEPLOY,
        dry_run=True,
        previous=("d2", "v1.1.0"),
    ),
    Row(
        "a pin replaces the commit's revision",
        (running("p3", "r3", keyset=498765),),
        DeployAction.ROLL,
        env=PROD,
        pin="v1.0.0",
        revision_id="r1",
        previous=("p3", "v1.2.0"),
    ),
    Row(
        "a pin already running is in sync",
        (running("p1", "r1", keyset=498765),),
        DeployAction.IN_SYNC,
        env=PROD,
        pin="v1.0.0",
        revision_id="r1",
        deployment_id="p1",
    ),
    Row(
        "a pin naming no revision fails",
        (),
        DeployAction.FAILED,
        env=PROD,
        pin="v9.9.9",
        revision_id=None,
    ),
    Row(
        "a dry run of a package not created yet would deploy",
        (),
        DeployAction.WOULD_DEPLOY,
        desired=RevisionRef(None, "v1.0.0"),
        dry_run=True,
        revision_id=None,
    ),
    Row(
        "no revision outside a dry run fails",
        (),
        DeployAction.FAILED,
        desired=None,
        revision_id=None,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_plan_deployment_decides_the_action_for_each_situation(row: Row) -> None:
    plan = plan_deployment(
        "pkg/a",
        row.env,
        desired=row.desired,
        pin=row.pin,
        revisions=REVISIONS,
        on_keyset=row.on_keyset,
        dry_run=row.dry_run,
    )

    assert plan.action is row.action
    assert plan.revision_id == row.revision_id
    assert plan.deployment_id == row.deployment_id
    assert (plan.previous_deployment_id, plan.previous_revision_name) == row.previous
    assert plan.keyset_id == row.env.keyset_id


def test_a_missing_pin_fails_with_one_line_naming_the_pin_and_environment() -> None:
    plan = plan_deployment(
        "pkg/a", PROD, desired=R3, pin="v9.9.9", revisions=REVISIONS, on_keyset=()
    )

    outcome = plan.settled()
    assert outcome is not None
    assert outcome.status is DeployStatus.FAILED
    assert outcome.error == (
        "pkg/a/package.yaml: pin: production: 'v9.9.9' is not a revision of this package;"
        " fix the pin or create that revision"
    )


def test_settled_outcomes_carry_what_ran_before_for_the_from_to_line() -> None:
    plan = plan_deployment(
        "pkg/a",
        STAGING,
        desired=R3,
        revisions=REVISIONS,
        on_keyset=(running("d1", "r1"),),
        dry_run=True,
    )

    outcome = plan.settled()
    assert outcome is not None
    assert (outcome.status, outcome.previous_revision_name, outcome.revision_name) == (
        DeployStatus.WOULD_DEPLOY,
        "v1.0.0",
        "v1.2.0",
    )


def test_plans_that_write_have_no_settled_outcome() -> None:
    plan = plan_deployment("pkg/a", STAGING, desired=R3, revisions=REVISIONS)

    assert plan.settled() is None


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_an_in_sync_plan_on_a_pin_is_the_whole_plan_with_pin_dry_run_and_extras(
    dry_run: bool,
) -> None:
    plan = plan_deployment(
        "pkg/a",
        STAGING,
        desired=R3,
        pin="v1.1.0",
        revisions=REVISIONS,
        on_keyset=(running("d2", "r2"), running("d3", "r3")),
        dry_run=dry_run,
    )

    assert plan == DeploymentPlan(
        "pkg/a",
        "staging",
        412345,
        DeployAction.IN_SYNC,
        revision_id="r2",
        revision_name="v1.1.0",
        deployment_id="d2",
        pinned=True,
        extra_running=("d3",),
        dry_run=dry_run,
    )


def test_an_in_sync_plan_by_content_names_the_twin_that_runs() -> None:
    """A twin revision (same content stamp) runs: in sync on it, named by its own name."""
    twins = (RevisionRef("r2", "v1.1.0", "same"), RevisionRef("r3", "v1.2.0"))

    plan = plan_deployment(
        "pkg/a",
        STAGING,
        desired=RevisionRef("r3", "v1.2.0", "same"),
        revisions=twins,
        on_keyset=(running("d2", "r2"),),
    )

    assert plan == DeploymentPlan(
        "pkg/a",
        "staging",
        412345,
        DeployAction.IN_SYNC,
        revision_id="r2",
        revision_name="v1.1.0",
        deployment_id="d2",
    )


@pytest.mark.slow
def test_the_deployment_stage_imports_neither_git_nor_httpx() -> None:
    probe = (
        "import sys, faas_gitops.deploy; "
        "print(sorted(m for m in ('git', 'httpx', 'faas_gitops.source') if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout

    assert shown.strip() == "[]"

"""One package's plans on the environments it deploys to, from what was read of it: pure.

The release stage (``stage.py``) plans with it after the gate, and the reads ahead
(``ahead.py``) as soon as a package's deployment lists arrive, so a plan made ahead is the very
plan the stage would have made from the same frozen values, and the stage takes it instead of
deciding again after the last answer. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.environment import DeployTarget, ReleaseEnvironment
from faas_gitops.deploy.observe import PackageView
from faas_gitops.deploy.orphans import unnamed_keyset
from faas_gitops.deploy.plan import DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.models import DeploymentOutcome, DeployStatus

PlanOrOutcome = DeploymentPlan | DeploymentOutcome


def plan_environments(
    target: DeployTarget,
    mine: Sequence[ReleaseEnvironment],
    view: PackageView,
    configured: Collection[int],
    marks: tags.Marks,
    *,
    dry_run: bool,
) -> list[PlanOrOutcome]:
    """A plan per environment of ``mine`` (a ``wait`` one when something is in flight there),
    and an ``orphaned`` outcome per keyset where the package runs that no environment of
    ``configured`` (keyset ids) names any more."""
    desired = desired_of(target)
    plans: list[PlanOrOutcome] = []
    for env in mine:
        plans.append(
            plan_deployment(
                target.path,
                env,
                desired=desired,
                pin=target.pin_for(env.name),
                revisions=view.revisions,
                on_keyset=view.on(env.keyset_id),
                dry_run=dry_run,
                freeze_note=env.frozen_note,
                hold=marks.hold_on(env.keyset_id),
            )
        )
    for keyset in view.active_keysets():
        if keyset not in configured:
            plans.append(orphaned_keyset(view, keyset))
    return plans


def desired_of(target: DeployTarget) -> RevisionRef:
    """The revision the commit wants for ``target`` (its content digest: git's)."""
    return RevisionRef(target.revision_id, target.revision_name, target.digest)


def writes(plan: PlanOrOutcome) -> bool:
    """Whether the writer would act on ``plan`` (a start, a rollover, a second one stopped)."""
    return isinstance(plan, DeploymentPlan) and plan.settled() is None


def orphaned_keyset(view: PackageView, keyset: int) -> DeploymentOutcome:
    """The package runs on ``keyset``, which no environment names any more: reported."""
    env = unnamed_keyset(keyset)
    first = next(d for d in view.on(keyset) if d.running or d.in_transition)
    return DeploymentOutcome(
        environment=env.name,
        keyset_id=keyset,
        status=DeployStatus.ORPHANED,
        previous_deployment_id=first.id,
        previous_revision_name=view.name_of(first.revision_id),
        note=f"runs on keyset {keyset}, which no environment names any more",
    )


__all__ = ["PlanOrOutcome", "desired_of", "orphaned_keyset", "plan_environments", "writes"]

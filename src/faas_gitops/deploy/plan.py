"""The pure plan of one package on one environment: what should run there, and how to get there.

No I/O, no clock: a function of what the commit wants, the package's revisions and what runs on
the keyset, so every case is a row in a table test. The writer carries the plan out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from faas_gitops.deploy.api import Deployment
from faas_gitops.deploy.environment import EnvironmentLike
from faas_gitops.models import DeploymentOutcome, DeployStatus


class DeployAction(StrEnum):
    IN_SYNC = "in-sync"  # the desired revision already runs there: no write
    START = "start"  # nothing of this package runs there: create (or reuse) and start
    ROLL = "roll"  # another revision runs there: create (or reuse), rolling-update onto it
    FROZEN = "frozen"  # a change is due but the environment is frozen: shown, never written
    WOULD_DEPLOY = "would-deploy"  # a change is due, dry run
    FAILED = "failed"  # cannot even be planned (a pin naming no revision...)


@dataclass(frozen=True, slots=True)
class RevisionRef:
    """A revision by id and name; ``id`` is ``None`` for one a dry run would create."""

    id: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class DeploymentPlan:
    """One package on one environment.

    ``reuse_deployment_id`` is an existing, not running deployment of the desired revision on
    the keyset (left STOPPED by an earlier rollover): started or rolled onto instead of creating
    a second one, which the API refuses (FAAS-1015). ``previous_*`` is what runs there now.
    """

    path: str
    environment: str
    keyset_id: int
    action: DeployAction
    revision_id: str | None = None
    revision_name: str | None = None
    deployment_id: str | None = None  # in-sync: the running one; else the one to reuse
    previous_deployment_id: str | None = None
    previous_revision_name: str | None = None
    error: str | None = None

    @property
    def writes(self) -> bool:
        return self.action in (DeployAction.START, DeployAction.ROLL)

    def outcome(
        self,
        status: DeployStatus,
        *,
        deployment_id: str | None = None,
        correlation_id: str | None = None,
        error: str | None = None,
    ) -> DeploymentOutcome:
        """The outcome this plan reports with ``status`` (arguments override the plan's)."""
        return DeploymentOutcome(
            environment=self.environment,
            keyset_id=self.keyset_id,
            status=status,
            revision_name=self.revision_name,
            revision_id=self.revision_id,
            deployment_id=deployment_id or self.deployment_id,
            previous_deployment_id=self.previous_deployment_id,
            previous_revision_name=self.previous_revision_name,
            correlation_id=correlation_id,
            error=error or self.error,
        )

    def settled(self) -> DeploymentOutcome | None:
        """The outcome of a plan that writes nothing; ``None`` when the writer has work."""
        statuses = {
            DeployAction.IN_SYNC: DeployStatus.IN_SYNC,
            DeployAction.FROZEN: DeployStatus.FROZEN,
            DeployAction.WOULD_DEPLOY: DeployStatus.WOULD_DEPLOY,
            DeployAction.FAILED: DeployStatus.FAILED,
        }
        status = statuses.get(self.action)
        return None if status is None else self.outcome(status)


def plan_deployment(
    path: str,
    environment: EnvironmentLike,
    *,
    desired: RevisionRef | None,
    pin: str | None = None,
    revisions: Sequence[RevisionRef] = (),
    on_keyset: Sequence[Deployment] = (),
    dry_run: bool = False,
) -> DeploymentPlan:
    """Plan ``path`` on ``environment``.

    ``desired`` is the commit's revision; a ``pin`` (a revision name from ``package.yaml``)
    replaces it and is looked up in ``revisions``. ``on_keyset`` are the package's deployments
    known on any keyset (only those on this environment's keyset count), with their states.
    The desired revision already running wins over a freeze and a dry run: nothing to do is
    ``in-sync`` everywhere.
    """
    names = {rev.id: rev.name for rev in revisions if rev.id is not None}
    base = DeploymentPlan(path, environment.name, environment.keyset_id, DeployAction.FAILED)
    if pin is not None:
        pinned = next((r for r in revisions if r.name == pin and r.id is not None), None)
        if pinned is None:
            error = (
                f"{path}/package.yaml: pin: {environment.name}: '{pin}' is not a revision of this"
                " package; fix the pin or create that revision"
            )
            return replace(base, revision_name=pin, error=error)
        desired = pinned
    if desired is None or desired.id is None:
        if dry_run:  # a revision this run would create: show what it would replace
            name = desired.name if desired else None
            here = [d for d in on_keyset if d.keyset_id == environment.keyset_id and d.running]
            previous = min(here, key=_order) if here else None
            return replace(
                base,
                action=DeployAction.WOULD_DEPLOY,
                revision_name=name,
                previous_deployment_id=previous.id if previous else None,
                previous_revision_name=names.get(previous.revision_id) if previous else None,
            )
        return replace(base, error=f"{path}: no revision to deploy to {environment.name}")
    name = desired.name or names.get(desired.id)
    return _plan_change(
        replace(base, revision_id=desired.id, revision_name=name),
        environment,
        names,
        on_keyset,
        dry_run=dry_run,
    )


def _plan_change(
    wanted: DeploymentPlan,
    environment: EnvironmentLike,
    names: dict[str, str | None],
    on_keyset: Sequence[Deployment],
    *,
    dry_run: bool,
) -> DeploymentPlan:
    """The desired revision is known: in sync, or which change (and whether it may be made)."""
    here = sorted((d for d in on_keyset if d.keyset_id == environment.keyset_id), key=_order)
    running = [d for d in here if d.running]
    for deployment in running:
        if deployment.revision_id == wanted.revision_id:
            return replace(wanted, action=DeployAction.IN_SYNC, deployment_id=deployment.id)
    previous = running[0] if running else None
    reuse = next((d.id for d in here if d.revision_id == wanted.revision_id), None)
    plan = replace(
        wanted,
        deployment_id=reuse,
        previous_deployment_id=previous.id if previous else None,
        previous_revision_name=names.get(previous.revision_id) if previous else None,
    )
    if environment.frozen:
        return replace(plan, action=DeployAction.FROZEN)
    if dry_run:
        return replace(plan, action=DeployAction.WOULD_DEPLOY)
    return replace(plan, action=DeployAction.ROLL if previous else DeployAction.START)


def _order(deployment: Deployment) -> tuple[str, str]:
    """Deterministic choice when several deployments of one package run on one keyset."""
    return (deployment.revision_id, deployment.id)

"""The pure plan of one package on one environment: what should run there, and how to get there.

No I/O, no clock: a function of what the commit wants, the package's revisions, what runs on
the keyset, the environment's freeze and a rollback's hold, so every case is a row in a table
test. The writer carries the plan out.

Content, not ids: a running revision whose content stamp equals the commit's content is in
sync, even when a newer revision with the same content exists (one made by hand in the portal
must not roll the keyset over to a twin). A deployment starting or stopping is in flight, never
absent: the plan says ``wait`` and the stage re-plans once it settled, so a run never starts a
second revision beside one that is coming up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from faas_gitops.deploy.api import Deployment
from faas_gitops.deploy.environment import EnvironmentLike
from faas_gitops.deploy.marks import Hold
from faas_gitops.models import DeploymentOutcome, DeployStatus


class DeployAction(StrEnum):
    IN_SYNC = "in-sync"  # the desired revision already runs there: no write
    START = "start"  # nothing of this package runs there: create (or reuse) and start
    ROLL = "roll"  # another revision runs there: create (or reuse), rolling-update onto it
    FROZEN = "frozen"  # a change is due but the environment is frozen: shown, never written
    HELD = "held"  # a change is due but a rollback holds what runs: shown, never written
    WAIT = "wait"  # a deployment of the package is starting or stopping there: re-plan later
    WOULD_DEPLOY = "would-deploy"  # a change is due, dry run
    FAILED = "failed"  # cannot even be planned (a pin naming no revision...)


@dataclass(frozen=True, slots=True)
class RevisionRef:
    """A revision by id and name; ``id`` is ``None`` for one a dry run would create.

    ``digest`` is its content digest when known (our content stamp, or git's content for the
    commit's own revision): equal digests mean equal functions.
    """

    id: str | None
    name: str | None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class DeploymentPlan:
    """One package on one environment.

    ``deployment_id`` is the running deployment when in sync; otherwise an existing, not running
    deployment of the desired revision on the keyset (left STOPPED by an earlier rollover),
    started or rolled onto instead of creating a second one, which the API refuses (FAAS-1015).
    ``previous_*`` is what runs there now.
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
    note: str | None = None
    pinned: bool = False
    #: Other deployments of the package running on the keyset (overlapping runs left them):
    #: stopped once the planned one runs, so exactly one is active.
    extra_running: tuple[str, ...] = ()
    #: The hold this plan lifts (git's content changed since the rollback): removed once done.
    lifts_hold: bool = False
    dry_run: bool = False

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
            note=self.note,
            pinned=self.pinned,
        )

    def settled(self) -> DeploymentOutcome | None:
        """The outcome of a plan that writes nothing; ``None`` when the writer has work."""
        statuses = {
            DeployAction.IN_SYNC: DeployStatus.IN_SYNC,
            DeployAction.FROZEN: DeployStatus.FROZEN,
            DeployAction.HELD: DeployStatus.HELD,
            DeployAction.WOULD_DEPLOY: DeployStatus.WOULD_DEPLOY,
            DeployAction.FAILED: DeployStatus.FAILED,
        }
        status = statuses.get(self.action)
        if self.extra_running and self.action is DeployAction.IN_SYNC and not self.dry_run:
            return None  # in sync, but a second deployment runs beside it: the writer stops it
        return None if status is None else self.outcome(status)


def plan_deployment(  # noqa: PLR0911 - one return per row of the decision table
    path: str,
    environment: EnvironmentLike,
    *,
    desired: RevisionRef | None,
    pin: str | None = None,
    revisions: Sequence[RevisionRef] = (),
    on_keyset: Sequence[Deployment] = (),
    dry_run: bool = False,
    freeze_note: str | None = None,
    hold: Hold | None = None,
) -> DeploymentPlan:
    """Plan ``path`` on ``environment``.

    ``desired`` is the commit's revision (its ``digest`` git's content); a ``pin`` (a revision
    name from ``package.yaml``) replaces it and is looked up in ``revisions``. ``on_keyset`` are
    the package's deployments known on any keyset (only those on this environment's keyset
    count), with their states. ``freeze_note`` says why a frozen environment is frozen (and
    until when); ``hold`` is a rollback's hold on this keyset, if any.

    Order of the decision: in sync wins over everything (nothing to do is ``in-sync``
    everywhere); then a deployment in flight (``wait``); then the hold, the freeze, the dry run.
    """
    names = {rev.id: rev.name for rev in revisions if rev.id is not None}
    base = DeploymentPlan(
        path, environment.name, environment.keyset_id, DeployAction.FAILED, dry_run=dry_run
    )
    if pin is not None:
        pinned = next((r for r in revisions if r.name == pin and r.id is not None), None)
        if pinned is None:
            error = (
                f"{path}/package.yaml: pin: {environment.name}: '{pin}' is not a revision of this"
                " package; fix the pin or create that revision"
            )
            return replace(base, revision_name=pin, error=error, pinned=True)
        desired = pinned
        base = replace(base, pinned=True)
    here = sorted((d for d in on_keyset if d.keyset_id == environment.keyset_id), key=_order)
    running = [d for d in here if d.running]
    previous = running[0] if running else None
    if desired is None or desired.id is None:
        if dry_run:  # a revision this run would create: show what it would replace
            return replace(
                base,
                action=DeployAction.WOULD_DEPLOY,
                revision_name=desired.name if desired else None,
                previous_deployment_id=previous.id if previous else None,
                previous_revision_name=names.get(previous.revision_id) if previous else None,
            )
        return replace(base, error=f"{path}: no revision to deploy to {environment.name}")
    name = desired.name or names.get(desired.id)
    digests = {rev.id: rev.digest for rev in revisions if rev.id is not None and rev.digest}
    digest = desired.digest or digests.get(desired.id)
    same = _same_content(running, desired.id, digest, digests, by_content=not base.pinned)
    if same is not None:  # the common case, once per package and environment: built directly
        return DeploymentPlan(
            path,
            environment.name,
            environment.keyset_id,
            DeployAction.IN_SYNC,
            revision_id=same.revision_id,
            revision_name=names.get(same.revision_id) or name,
            deployment_id=same.id,
            pinned=base.pinned,
            extra_running=tuple(d.id for d in running if d.id != same.id),
            dry_run=dry_run,
        )
    wanted = replace(base, revision_id=desired.id, revision_name=name)
    moving = [d for d in here if d.in_transition]
    if moving:
        states = ", ".join(f"{d.id} {d.state}" for d in moving)
        return replace(wanted, action=DeployAction.WAIT, note=f"in transition: {states}")
    plan = replace(
        wanted,
        deployment_id=next((d.id for d in here if d.revision_id == desired.id), None),
        previous_deployment_id=previous.id if previous else None,
        previous_revision_name=names.get(previous.revision_id) if previous else None,
        extra_running=tuple(d.id for d in running[1:]),
    )
    if hold is not None:
        if not hold.lifted_by(digest):
            return replace(plan, action=DeployAction.HELD, note=hold_note(hold, revisions))
        plan = replace(plan, lifts_hold=True)
    if environment.frozen:
        return replace(plan, action=DeployAction.FROZEN, note=freeze_note)
    if dry_run:
        return replace(plan, action=DeployAction.WOULD_DEPLOY)
    return replace(plan, action=DeployAction.ROLL if previous else DeployAction.START)


def hold_note(hold: Hold, revisions: Sequence[RevisionRef]) -> str:
    """``held since 2026-12-07T09:30Z: rolled back to v1.3.0 from v1.4.0``, for every view."""
    since = hold.since.strftime("%Y-%m-%dT%H:%MZ")
    target = next((r.name for r in revisions if r.id == hold.revision_id), None)
    replaced = next(
        (r.name for r in revisions if r.digest and r.digest.startswith(hold.replaced_digest)),
        None,
    )
    text = f"held since {since}: rolled back to {target or hold.revision_id}"
    if replaced:
        text += f" from {replaced}"
    return text + "; a content change in git or 'faas-gitops rollback --release' lifts it"


def _same_content(
    running: Sequence[Deployment],
    desired_id: str,
    digest: str | None,
    digests: dict[str, str],
    *,
    by_content: bool,
) -> Deployment | None:
    """The running deployment of the desired revision, else (``by_content``) of a revision
    whose content stamp equals the desired content."""
    for deployment in running:
        if deployment.revision_id == desired_id:
            return deployment
    if not by_content or digest is None:
        return None
    return next((d for d in running if digests.get(d.revision_id) == digest), None)


def _order(deployment: Deployment) -> tuple[str, str]:
    """Deterministic choice when several deployments of one package run on one keyset."""
    return (deployment.revision_id, deployment.id)

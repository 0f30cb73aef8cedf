"""``rollback``: put an earlier revision back on one environment now, and keep it there.

No new revision, no commit, no waiting for a pipeline: the deployment is rolled over through
the API with the stage's own steps (journaled with their correlation IDs). Then it is **held**:
a hold mark on the package's tags (where every runner, cold or warm, reads it) keeps every
later sync from deploying over it until git's content for the package differs from the content
that was rolled back, or until ``rollback --release``. That is the gap Argo CD users have asked
about for years (a rollback the next sync silently undoes).

Which revision: ``to`` (a revision name or id); else ``content`` (a content digest: the
revision stamped with it, ``rollback --ref v1.4.0`` puts back what that tag deployed); else the
one that ran on the keyset before the current one: the most recently updated stopped deployment
of another revision there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from faas_gitops.content import stamp_of
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.api import Deployment, Requester
from faas_gitops.deploy.environment import ReleaseEnvironment
from faas_gitops.deploy.plan import DeployAction, RevisionRef, plan_deployment
from faas_gitops.deploy.writer import Journal, Timing, Writes, apply_plan, no_journal
from faas_gitops.errors import ApiError, ConfigError
from faas_gitops.models import DeploymentOutcome, DeployStatus, RemoteRevision

#: Reads a revision's content digest when its description has no stamp (a hand-made one).
DigestReader = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    """The package to roll back: its id, the directory it is known by, its current tags."""

    path: str
    package_id: str
    tags: tuple[str, ...]


async def rollback(
    api: Requester,
    target: RollbackTarget,
    environment: ReleaseEnvironment,
    *,
    to: str | None = None,
    content: tuple[str, str] | None = None,
    dry_run: bool = False,
    timing: Timing | None = None,
    journal: Journal | None = None,
    read_digest: DigestReader | None = None,
    now: datetime | None = None,
) -> DeploymentOutcome:
    """Roll ``target`` back on ``environment`` and hold it there; the outcome says what ran.

    ``content`` is ``(where, digest)``: put back the revision with that content (``where``
    names it in the error when none has it, e.g. ``--ref v1.4.0``). Raises ``ConfigError``
    (one line) when there is nothing to roll back to, or ``to``/``content`` names no revision
    of the package; ``ApiError`` when a read fails. A failed write is the outcome's
    ``failed`` status (the hold is only set once the earlier revision runs).
    """
    timing = timing or Timing()
    revisions, _ = await api.list_revisions(target.package_id, sort=None)  # every page
    deployments = await _keyset_deployments(api, revisions, environment.keyset_id)
    current = next((d for d in deployments if d.running or d.in_transition), None)
    refs = [RevisionRef(r.id, r.name, stamp_of(r.description)) for r in revisions]
    if to is None and content is not None:
        wanted = _with_content(refs, deployments, content, target.path)
    else:
        wanted = _choose(refs, deployments, current, to, target.path, environment)
    plan = plan_deployment(
        target.path,
        replace(environment, frozen=False),  # a rollback is the incident's manual action
        desired=wanted,
        revisions=refs,
        on_keyset=deployments,
        dry_run=dry_run,
    )
    if plan.action is DeployAction.WAIT:
        raise ConfigError(f"{target.path}: {plan.note} on {environment.name}; try again shortly")
    outcome = await apply_plan(Writes(api, timing, journal or no_journal), plan)
    if outcome.status not in (
        DeployStatus.DEPLOYED,
        DeployStatus.IN_SYNC,
        DeployStatus.WOULD_DEPLOY,
    ):
        return outcome
    replaced = current.revision_id if current is not None else None
    digest = await _replaced_digest(refs, replaced, read_digest)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    held = outcome.revision_id or wanted.id or ""
    hold = tags.Hold(environment.keyset_id, held, moment, digest[: tags.DIGEST_LENGTH])
    note = (
        f"rolled back from {_name(refs, replaced) or 'nothing'}; held until git changes the"
        " package or 'faas-gitops rollback --release'"
    )
    if dry_run:
        return replace(outcome, note=f"would be {note}")
    marked = tags.with_marks(target.tags, holds={environment.keyset_id: hold})
    try:
        correlation = await deploy_api.update_package_tags(api, target.package_id, marked)
    except ApiError as exc:
        return replace(
            outcome,
            status=DeployStatus.FAILED,
            error=f"rolled back, but the hold could not be set (the next sync may undo it): {exc}",
        )
    if journal is not None:
        journal("hold", environment.name, target.path, outcome.deployment_id, correlation, "ok")
    return replace(outcome, note=note)


async def release_hold(
    api: Requester,
    target: RollbackTarget,
    environment: ReleaseEnvironment,
    *,
    dry_run: bool = False,
    journal: Journal | None = None,
) -> DeploymentOutcome:
    """Lift the hold on ``environment``: the next sync deploys what git wants again."""
    hold = tags.parse(target.tags).hold_on(environment.keyset_id)
    base = DeploymentOutcome(
        environment=environment.name,
        keyset_id=environment.keyset_id,
        status=DeployStatus.IN_SYNC,
        revision_id=hold.revision_id if hold else None,
    )
    if hold is None:
        return replace(base, note="no hold to release")
    if dry_run:
        return replace(base, status=DeployStatus.WOULD_DEPLOY, note="would release the hold")
    marked = tags.with_marks(target.tags, holds={environment.keyset_id: None})
    correlation = await deploy_api.update_package_tags(api, target.package_id, marked)
    if journal is not None:
        journal("release", environment.name, target.path, None, correlation, "ok")
    return replace(
        base,
        correlation_id=correlation,
        note="hold released; the next sync deploys what git wants",
    )


async def _keyset_deployments(
    api: Requester, revisions: list[RemoteRevision], keyset_id: int
) -> list[Deployment]:
    """Every deployment of the package on the keyset, stopped ones included (the candidates)."""
    found: list[Deployment] = []
    for revision in revisions:
        if revision.total == 0:
            continue
        listed = await deploy_api.list_revision_deployments(api, revision.id)
        found.extend(d for d in listed if d.keyset_id == keyset_id)
    return found


def _choose(  # noqa: PLR0917 - one call site
    refs: list[RevisionRef],
    deployments: list[Deployment],
    current: Deployment | None,
    to: str | None,
    path: str,
    environment: ReleaseEnvironment,
) -> RevisionRef:
    if to is not None:
        found = next((r for r in refs if to in (r.id, r.name)), None)
        if found is None:
            names = ", ".join(r.name or "" for r in refs[-5:])
            raise ConfigError(
                f"--to {to}: not a revision of {path} (by name or id); its newest: {names}"
            )
        return found
    current_revision = current.revision_id if current else None
    earlier = sorted(
        (d for d in deployments if not d.running and d.revision_id != current_revision),
        key=lambda d: (d.updated, d.id),
    )
    if not earlier:
        raise ConfigError(
            f"{path}: no earlier revision ran on {environment.name} (keyset"
            f" {environment.keyset_id}); name one with --to REVISION"
        )
    previous = earlier[-1].revision_id
    return next(r for r in refs if r.id == previous)


def _with_content(
    refs: list[RevisionRef],
    deployments: list[Deployment],
    content: tuple[str, str],
    path: str,
) -> RevisionRef:
    """The revision stamped with ``content``'s digest; of twins, one that ran on the keyset
    (the most recently updated deployment), else the last listed with that content."""
    where, digest = content
    same = [r for r in refs if r.digest == digest and r.id is not None]
    if not same:
        raise ConfigError(
            f"{where}: no revision of {path} has the content {path} has there (was that commit"
            " ever synced?); name the revision with --to REVISION"
        )
    ids = {r.id for r in same}
    ran = sorted((d for d in deployments if d.revision_id in ids), key=lambda d: (d.updated, d.id))
    if ran:
        return next(r for r in same if r.id == ran[-1].revision_id)
    return same[-1]


async def _replaced_digest(
    refs: list[RevisionRef], replaced: str | None, read_digest: DigestReader | None
) -> str:
    if replaced is None:
        return tags.MANUAL
    stamp = next((r.digest for r in refs if r.id == replaced), None)
    if stamp is None and read_digest is not None:
        stamp = await read_digest(replaced)
    return stamp or tags.MANUAL


def _name(refs: list[RevisionRef], revision_id: str | None) -> str | None:
    return next((r.name for r in refs if r.id == revision_id), None)


__all__ = ["DigestReader", "RollbackTarget", "release_hold", "rollback"]

"""``promote``: run on one environment exactly the revision that runs on another.

"Promote what we tested": no new revision, the very revision id RUNNING on the source keyset,
deployed onto the target with the same steps (and journal) as a sync's deployment stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.api import Requester
from faas_gitops.deploy.apply import Outcomes, apply_plans, gather_gated
from faas_gitops.deploy.environment import DeployTarget, EnvironmentLike, PackageToPromote
from faas_gitops.deploy.observe import KnownDeployments, observe_settled
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.deploy.writer import DEFAULT_DEPLOY_TIMEOUT, Journal, Timing, Writes, no_journal
from faas_gitops.errors import ApiAuthError, ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus


async def promote(
    api: Requester,
    *,
    source_env: EnvironmentLike,
    target_env: EnvironmentLike,
    packages: Sequence[PackageToPromote],
    dry_run: bool = False,
    deploy_timeout: float = DEFAULT_DEPLOY_TIMEOUT,
    concurrency: int = 8,
    known: KnownDeployments | None = None,
    journal: Journal | None = None,
    timing: Timing | None = None,
) -> Outcomes:
    """Deploy onto ``target_env`` the revision RUNNING on ``source_env``, per package.

    Needs: ``api`` with ``ApiClient.request``; ``packages`` as ``(path, package_id)`` pairs
    (``PackageToPromote``: the ledger's packages, or those named by ``--package``). Pins and
    ``environments:`` restrictions are the caller's to apply (it knows the manifests).
    Returns ``{path: (outcome,)}`` with one outcome on ``target_env`` per package: ``deployed``,
    ``in-sync``, ``would-deploy``, ``frozen`` or ``failed`` (nothing RUNNING on the source is a
    failure with one line). Raises only ``ApiAuthError``.
    """
    timing = timing or Timing(deploy_timeout=deploy_timeout)
    gate = asyncio.Semaphore(max(1, concurrency))
    keysets = [source_env.keyset_id, target_env.keyset_id]
    holds = await _holds(api, target_env.keyset_id)

    async def plan_one(
        package: PackageToPromote,
    ) -> tuple[DeployTarget, list[DeploymentPlan | DeploymentOutcome]]:
        try:  # a package mid-rollover on either keyset is waited for, then read again
            view = await observe_settled(api, package.package_id, keysets, known, timing)
        except ApiAuthError:
            raise
        except ApiError as exc:
            return _target(package, None), [_failed(target_env, str(exc))]
        source = view.running_on(source_env.keyset_id)
        if not source:
            error = (
                f"{package.path}: nothing runs on {source_env.name} (keyset"
                f" {source_env.keyset_id}) to promote; deploy it there first"
            )
            return _target(package, None), [_failed(target_env, error)]
        revision = RevisionRef(
            source[0].revision_id,
            view.name_of(source[0].revision_id),
            view.digest_of(source[0].revision_id),
        )
        plan = plan_deployment(
            package.path,
            target_env,
            desired=revision,
            revisions=view.revisions,
            on_keyset=view.on(target_env.keyset_id),
            dry_run=dry_run,
            freeze_note=getattr(target_env, "frozen_note", None),
            hold=holds.get(package.package_id),
        )
        if plan.action is DeployAction.WAIT:
            error = f"{package.path}: still {plan.note} after {timing.deploy_timeout:g} s"
            return _target(package, revision), [_failed(target_env, error)]
        return _target(package, revision), [plan]

    plans = await gather_gated(gate, [plan_one(package) for package in packages])
    planned = sorted(plans, key=lambda item: item[0].path)
    writes = Writes(api, timing, journal or no_journal)
    results = await apply_plans(writes, planned, [target_env], gate=gate, known=known)
    return dict(sorted(results.items()))


async def _holds(api: Requester, keyset_id: int) -> dict[str, tags.Hold]:
    """Rollback holds on the target keyset, by package id (a promotion respects them too)."""
    inventory = await deploy_api.list_packages(api)  # unreadable: no promotion over a hold
    found = {}
    for package in inventory:
        hold = tags.parse(package.tags).hold_on(keyset_id)
        if hold is not None:
            found[package.id] = hold
    return found


def _target(package: PackageToPromote, revision: RevisionRef | None) -> DeployTarget:
    return DeployTarget(
        path=package.path,
        package_id=package.package_id,
        revision_id=revision.id if revision else None,
        revision_name=revision.name if revision else None,
    )


def _failed(env: EnvironmentLike, error: str) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env.name, keyset_id=env.keyset_id, status=DeployStatus.FAILED, error=error
    )

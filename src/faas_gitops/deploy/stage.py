"""The release stage: frozen inputs in, deployment outcomes out. It never reads git.

``run_release`` takes ``ReleaseInputs`` (the revision stage's results as targets, the policy
read from the configuration branch, this repository's owner mark) and:

1. reads the inventory once (``GET /v2/faas/packages``: every package's tags, where ownership
   marks and rollback holds live, so a cold runner with an empty state dir knows them), or
   takes the one read ahead while the revision stage ran (``ahead``, ``deploy/ahead.py``);
2. reads and plans every target, concurrently; a deployment starting or stopping is waited for
   (within ``--deploy-timeout``) and the package re-read before it is planned. The revision
   list the revision stage read is used (``listed``) when it is complete (as many revisions
   as the inventory's ``revisionsTotal``), else read again; deployments remembered from an
   earlier run are trusted while the list's counters agree with them, and read again before
   any write is planned on them (``deploy/observe.py``); deployment lists read ahead are not
   read again, and a package planned ahead from the same inputs is not planned again
   (``ReleaseReads.plan_for``);
3. hands out running-deployment slots in a fixed order (environment, then path), in a dry run
   too, so the limit fails exactly the deployments beyond it and a pull request goes red;
4. applies the plans (concurrently), stopping any second deployment overlapping runs left;
5. marks the packages it deployed as this repository's (and lifts holds git's content ended);
6. lists what the repository manages but no longer declares, and prunes it with ``--prune``.

One package's failure is its own outcome; the others go on. Only a rejected key (or the API out
of reach) stops the stage, raised as itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.ahead import PlanBasis, ReleaseReads, complete, environments_of
from faas_gitops.deploy.api import Requester, TaggedPackage
from faas_gitops.deploy.apply import Outcomes, apply_plans, gather_gated
from faas_gitops.deploy.environment import DeployTarget, ReleaseEnvironment, ReleaseInputs
from faas_gitops.deploy.observe import KnownDeployments, PackageView, ReadAhead, observe_settled
from faas_gitops.deploy.orphans import candidates, release_orphan
from faas_gitops.deploy.package_plans import PlanOrOutcome, desired_of, plan_environments, writes
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef
from faas_gitops.deploy.writer import Journal, Timing, Writes, no_journal
from faas_gitops.errors import ApiAuthError, ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, RemoteRevision, Status

log = structlog.get_logger(__name__)

_RUNS = (DeployStatus.DEPLOYED, DeployStatus.IN_SYNC)
Planned = list[tuple[DeployTarget, list[DeploymentPlan | DeploymentOutcome]]]


@dataclass(frozen=True, slots=True)
class Release:
    """The stage's results: per declared path; and the packages the repository manages that
    the commit no longer declares but that still ran, each already the package's ``removed``
    outcome with where it ran (what the report and the ledger show for it)."""

    deployments: Mapping[str, tuple[DeploymentOutcome, ...]]
    removed: tuple[Outcome, ...] = ()


async def run_release(
    api: Requester,
    inputs: ReleaseInputs,
    *,
    known: KnownDeployments | None = None,
    journal: Journal | None = None,
    timing: Timing | None = None,
    listed: Mapping[str, Sequence[RemoteRevision]] | None = None,
    ahead: ReleaseReads | None = None,
) -> Release:
    """Deploy every target onto the active environments it belongs to; see the module doc.

    ``listed``: revision lists already read this run, by package id (the revision stage's,
    newest first, possibly only its first page); one that is complete is not read again.
    ``ahead``: the inventory and deployment lists read while the revision stage ran; an
    inventory that lacks a target's package (created by this run) is read again.
    Makes no call at all when no environment is active. Raises only ``ApiAuthError`` and the
    errors that would fail every call alike.
    """
    if not inputs.environments:
        return Release({})
    writes = Writes(api, timing or Timing(), journal or no_journal)
    gate = asyncio.Semaphore(max(1, inputs.concurrency))
    results: Outcomes = {
        path: tuple(_failed(env, error) for env in inputs.environments)
        for path, error in inputs.failed
    }
    ahead = ahead or ReleaseReads()
    try:
        inventory = await _inventory(api, ahead.inventory, inputs.targets)
    except ApiAuthError:
        raise
    except ApiError as exc:  # holds and marks unknown: deploying could undo a rollback
        error = f"cannot read the package inventory (holds, ownership): {exc}"
        for target in inputs.targets:
            results[target.path] = tuple(_failed(env, error) for env in inputs.environments)
        return Release(dict(sorted(results.items())))
    by_id = {package.id: package for package in inventory}
    lists = listed or {}
    basis = PlanBasis(
        tuple(inputs.environments),
        frozenset(env.keyset_id for env in inputs.configured),
        inputs.defined_names,
        inputs.dry_run,
    )
    planned: Planned = []
    to_plan: list[tuple[DeployTarget, Sequence[RemoteRevision] | None]] = []
    for target in inputs.targets:
        package_id = target.package_id or ""
        shared = complete(lists.get(package_id), by_id.get(package_id))
        early = ahead.plan_for(target, shared, basis, inventory)
        if early is None:
            to_plan.append((target, shared))
            continue
        if known is not None and early.keep is not None:
            known.keep(package_id, early.keep)  # what the stage's own read would keep
        planned.append((target, list(early.plans)))

    async def plan_one(
        target: DeployTarget, shared: Sequence[RemoteRevision] | None
    ) -> tuple[DeployTarget, list[Any]]:
        read = ahead.deployments.get(target.package_id or "")
        plans = await _plan_target(api, target, inputs, by_id, known, writes.timing, shared, read)
        return target, plans

    planned += await gather_gated(gate, [plan_one(t, shared) for t, shared in to_plan])
    planned.sort(key=lambda item: item[0].path)
    applied = await apply_plans(
        writes, planned, inputs.environments, gate=gate, known=known, dry_run=inputs.dry_run
    )
    results.update(applied)
    if inputs.mark and not inputs.dry_run:
        await _mark(api, planned, applied, inputs, by_id, gate)
    removed = await _orphans(writes, inventory, inputs, gate)
    return Release(dict(sorted(results.items())), removed)


async def _inventory(
    api: Requester,
    read: Sequence[TaggedPackage] | ApiError | None,
    targets: Sequence[DeployTarget],
) -> Sequence[TaggedPackage]:
    """The inventory read ahead (its error raised as the read's own), else read now; read
    again when it lacks a target's package: one created by this run is marked by this run."""
    if isinstance(read, ApiError):
        raise read
    if read is not None:
        known = {package.id for package in read}
        if all(t.package_id in known for t in targets if t.package_id):
            return read
    return await deploy_api.list_packages(api)


async def _plan_target(  # noqa: PLR0917 - one call site
    api: Requester,
    target: DeployTarget,
    inputs: ReleaseInputs,
    inventory: Mapping[str, TaggedPackage],
    known: KnownDeployments | None,
    timing: Timing,
    listed: Sequence[RemoteRevision] | None,
    ahead: ReadAhead | None = None,
) -> list[DeploymentPlan | DeploymentOutcome]:
    """The plans of one package, or failed outcomes (one per environment) when it cannot plan.

    A plan made on remembered deployments that would write is made again on a fresh read of
    them: memory spares the reads of what is in sync, never the one a write is decided on.
    """
    mine = environments_of(target, inputs.environments, inputs.defined_names)
    if isinstance(mine, str):
        return [_failed(env, mine) for env in inputs.environments]
    if not mine:
        return []
    desired = desired_of(target)
    package = inventory.get(target.package_id or "")
    marks = tags.parse(package.tags if package else ())
    if target.package_id is None:
        return _plans(target, mine, PackageView("", (), ()), inputs, marks, timing)
    keysets = [env.keyset_id for env in mine]
    also = [target.revision_id] if target.revision_id else []
    try:
        view = await observe_settled(
            api, target.package_id, keysets, known, timing,
            also=also, listed=listed, trust=True, ahead=ahead,
        )  # fmt: skip
        plans = _plans(target, mine, view, inputs, marks, timing)
        if view.remembered and any(writes(plan) for plan in plans):
            view = await observe_settled(
                api, target.package_id, keysets, known, timing, also=also, listed=view.listing
            )
            plans = _plans(target, mine, view, inputs, marks, timing)
    except ApiAuthError:
        raise
    except ApiError as exc:
        return [_failed(env, str(exc), revision=desired) for env in mine]
    return plans


def _plans(  # noqa: PLR0917 - one call site
    target: DeployTarget,
    mine: Sequence[ReleaseEnvironment],
    view: PackageView,
    inputs: ReleaseInputs,
    marks: tags.Marks,
    timing: Timing,
) -> list[PlanOrOutcome]:
    """``plan_environments``, with a ``wait`` still waiting after the timeout turned into a
    failure that says what to do."""
    configured = {env.keyset_id for env in inputs.configured}
    plans = plan_environments(target, mine, view, configured, marks, dry_run=inputs.dry_run)
    for index, plan in enumerate(plans):
        if isinstance(plan, DeploymentPlan) and plan.action is DeployAction.WAIT:
            plans[index] = replace(
                plan,
                action=DeployAction.FAILED,
                error=f"{target.path}: still {plan.note} after {timing.deploy_timeout:g} s;"
                " raise --deploy-timeout or look at the deployment in the portal",
            )
    return plans


async def _mark(  # noqa: PLR0917 - one call site
    api: Requester,
    planned: Planned,
    applied: Outcomes,
    inputs: ReleaseInputs,
    inventory: Mapping[str, TaggedPackage],
    gate: asyncio.Semaphore,
) -> None:
    """Mark each package that runs from this repository (deployed or in sync somewhere) as
    this repository's, with its directory; lift holds that git's new content ended once that
    content runs. Only changed tags are written: the same tags in another order are no change,
    or an API that sorts them would be written every run."""

    def new_tags(target: DeployTarget, plans: Sequence[Any]) -> list[str] | None:
        """The package's tags with the marks, or ``None`` when nothing is to be written."""
        package = inventory.get(target.package_id or "")
        if package is None:
            return None  # created after the inventory was read: marked by the next run
        outcomes = {d.environment: d for d in applied.get(target.path, ())}
        if not any(d.status in _RUNS for d in outcomes.values()):
            return None  # nothing of ours runs (frozen, failed): a frozen keyset sees no write
        lifted: dict[int, tags.Hold | None] = {
            plan.keyset_id: None
            for plan in plans
            if isinstance(plan, DeploymentPlan)
            and plan.lifts_hold
            and outcomes.get(plan.environment, plan.outcome(DeployStatus.FAILED)).status
            is DeployStatus.DEPLOYED
        }
        wanted = tags.with_marks(
            package.tags, owner=inputs.owner, directory=target.path, holds=lifted
        )
        if sorted(wanted) == sorted(package.tags):
            return None  # the same tags: their order is not ours to keep (the API may reorder)
        return wanted

    async def mark_one(target: DeployTarget, package_id: str, wanted: list[str]) -> None:
        try:
            await deploy_api.update_package_tags(api, package_id, wanted)
        except ApiAuthError:
            raise
        except ApiError as exc:
            log.warning(
                "deploy.mark_failed", path=target.path, package_id=package_id, error=str(exc)
            )

    changing = []  # decided in place: a task only for a package whose tags change
    for target, plans in planned:
        wanted = new_tags(target, plans)
        if wanted is not None:
            changing.append(mark_one(target, target.package_id or "", wanted))
    await gather_gated(gate, changing)


async def _orphans(
    writes: Writes,
    inventory: Sequence[TaggedPackage],
    inputs: ReleaseInputs,
    gate: asyncio.Semaphore,
) -> tuple[Outcome, ...]:
    found = candidates(inventory, inputs)

    async def one(path: str, package: TaggedPackage) -> Outcome:
        outcomes = await release_orphan(writes, path, package, inputs)
        return Outcome(path, Status.REMOVED, package.id, name=package.name, deployments=outcomes)

    removed = await gather_gated(gate, [one(path, package) for path, package in found])
    return tuple(r for r in removed if r.deployments)


def _failed(
    env: ReleaseEnvironment | Any, error: str, *, revision: RevisionRef | None = None
) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env.name,
        keyset_id=env.keyset_id,
        status=DeployStatus.FAILED,
        revision_id=revision.id if revision else None,
        revision_name=revision.name if revision else None,
        error=error,
    )


__all__ = ["Release", "run_release"]

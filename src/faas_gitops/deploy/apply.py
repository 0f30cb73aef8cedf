"""Applying deployment plans: running-deployment slots handed out in a fixed order, then every
plan applied concurrently under one gate.

Shared by the release stage (``run_release``) and ``promote``. The slots go in (environment,
path) order, in a dry run too, so the account's limit fails exactly the deployments beyond it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from faas_gitops.deploy.api import RUNNING, Deployment
from faas_gitops.deploy.environment import DeployTarget, ReleaseEnvironment
from faas_gitops.deploy.observe import KnownDeployments, Remembered
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan
from faas_gitops.deploy.prune import stop_deployment
from faas_gitops.deploy.writer import Headroom, Writes, apply_plan
from faas_gitops.errors import ApiAuthError
from faas_gitops.models import DeploymentOutcome, DeployStatus

_T = TypeVar("_T")
Outcomes = dict[str, tuple[DeploymentOutcome, ...]]


async def apply_plans(
    writes: Writes,
    planned: Sequence[tuple[DeployTarget, Sequence[DeploymentPlan | DeploymentOutcome]]],
    environments: Sequence[ReleaseEnvironment] | Sequence[Any],
    *,
    gate: asyncio.Semaphore,
    known: KnownDeployments | None,
    dry_run: bool = False,
) -> Outcomes:
    """Reserve start slots in (environment, path) order, then apply every plan concurrently.

    In a dry run the would-be starts reserve slots too: those beyond the account's limit fail
    with the limit's line, so the plan of a pull request shows what the merge would fail.
    """
    order = {env.name: index for index, env in enumerate(environments)}
    headroom = Headroom(writes.api)
    starts = sorted(
        (
            item
            for _, items in planned
            for item in items
            if isinstance(item, DeploymentPlan) and _starts(item)
        ),
        key=lambda plan: (order.get(plan.environment, len(order)), plan.path),
    )
    refused: dict[tuple[str, str], str] = {}
    for plan in starts:
        answer = await headroom.reserve((plan.environment, plan.path))
        if answer is not None:
            refused[(plan.environment, plan.path)] = answer
    results: Outcomes = {}

    async def apply_one(
        target: DeployTarget, items: Sequence[DeploymentPlan | DeploymentOutcome]
    ) -> None:
        outcomes: list[DeploymentOutcome] = []
        wrote = False
        for item in items:
            if isinstance(item, DeploymentOutcome):
                outcomes.append(item)
                continue
            refusal = refused.get((item.environment, item.path))
            if refusal is not None and dry_run:
                outcomes.append(item.outcome(DeployStatus.FAILED, error=refusal))
                continue
            wrote = wrote or item.settled() is None
            outcome = await apply_plan(writes, item, headroom)
            if item.extra_running and outcome.status in (
                DeployStatus.DEPLOYED,
                DeployStatus.IN_SYNC,
            ):
                outcome = await _stop_extras(writes, item, outcome)
            outcomes.append(outcome)
        if wrote and known is not None and target.package_id is not None:
            # What was read before the writes is past; what they left running is a hint.
            known.keep(target.package_id, Remembered.after_writes(_running(outcomes)))
        if outcomes:
            results[target.path] = tuple(outcomes)

    to_apply = []
    for target, items in planned:
        settled = _all_settled(items, refused)
        if settled is None:
            to_apply.append(apply_one(target, items))
        elif settled:
            results[target.path] = settled
    await gather_gated(gate, to_apply)
    return results


def _all_settled(
    items: Sequence[DeploymentPlan | DeploymentOutcome], refused: Mapping[tuple[str, str], str]
) -> tuple[DeploymentOutcome, ...] | None:
    """The outcomes of a package whose plans write nothing (in sync, frozen, held, failed...),
    as ``apply_one`` would return them, without a task each; ``None`` when one has work (a
    write, a second deployment to stop, a dry run's refused start)."""
    outcomes: list[DeploymentOutcome] = []
    for item in items:
        if isinstance(item, DeploymentOutcome):
            outcomes.append(item)
            continue
        if item.extra_running or (item.environment, item.path) in refused:
            return None
        settled = item.settled()
        if settled is None:
            return None
        outcomes.append(settled)
    return tuple(outcomes)


def _running(outcomes: Sequence[DeploymentOutcome]) -> list[Deployment]:
    """The deployments the outcomes say run now (deployed or in sync)."""
    return [
        Deployment(o.deployment_id, o.revision_id, o.keyset_id, RUNNING)
        for o in outcomes
        if o.status in (DeployStatus.DEPLOYED, DeployStatus.IN_SYNC)
        and o.deployment_id
        and o.revision_id
    ]


def _starts(plan: DeploymentPlan) -> bool:
    """Whether the plan takes a running-deployment slot (a start; in a dry run, a would-be one)."""
    if plan.action is DeployAction.START:
        return True
    return plan.action is DeployAction.WOULD_DEPLOY and plan.previous_deployment_id is None


async def _stop_extras(
    writes: Writes, plan: DeploymentPlan, outcome: DeploymentOutcome
) -> DeploymentOutcome:
    """Stop the second deployments overlapping runs left beside the one that now runs."""
    for deployment_id in plan.extra_running:
        if deployment_id == outcome.deployment_id:
            continue
        _, error = await stop_deployment(writes, deployment_id, (plan.path, plan.environment))
        if error is not None:
            return replace(outcome, status=DeployStatus.FAILED, error=error)
    return outcome


async def gather_gated(
    gate: asyncio.Semaphore, jobs: Sequence[Coroutine[Any, Any, _T]]
) -> list[_T]:
    """Run ``jobs`` concurrently, at most ``gate``'s worth at once, results in order.

    Jobs turn their own API errors into outcomes; the one that escapes on purpose,
    ``ApiAuthError``, is re-raised bare (not in the task group's ``ExceptionGroup``).
    """

    async def gated(job: Coroutine[Any, Any, _T]) -> _T:
        async with gate:
            return await job

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(gated(job)) for job in jobs]
    except ExceptionGroup as failures:
        auth = failures.subgroup(ApiAuthError)
        if auth is not None:
            raise _first(auth) from None
        raise
    return [task.result() for task in tasks]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


__all__ = ["Outcomes", "apply_plans", "gather_gated"]

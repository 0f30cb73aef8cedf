"""The deployment stage of a sync: every package onto every active environment it belongs to.

Three phases: read and plan every package (concurrently), hand out running-deployment slots in
a fixed order (environment, then path: so the limit fails exactly the deployments beyond it),
then apply the plans (concurrently). One package's failure is its own outcome; the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine, Sequence
from typing import Any, TypeVar

from faas_gitops.deploy.api import Requester
from faas_gitops.deploy.environment import DeployTarget, EnvironmentLike, PackageRef
from faas_gitops.deploy.observe import KnownDeployments, PackageView, observe_package
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.deploy.prune import prune_package
from faas_gitops.deploy.writer import (
    DEFAULT_DEPLOY_TIMEOUT,
    Headroom,
    Journal,
    Timing,
    apply_plan,
)
from faas_gitops.errors import ApiAuthError, ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus

_T = TypeVar("_T")
Outcomes = dict[str, tuple[DeploymentOutcome, ...]]


async def deploy_packages(
    api: Requester,
    *,
    environments: Sequence[EnvironmentLike],
    packages: Sequence[DeployTarget],
    dry_run: bool = False,
    deploy_timeout: float = DEFAULT_DEPLOY_TIMEOUT,
    concurrency: int = 8,
    known: KnownDeployments | None = None,
    prune_paths: Sequence[PackageRef] = (),
    defined_environments: Collection[str] | None = None,
    journal: Journal | None = None,
    timing: Timing | None = None,
) -> Outcomes:
    """Deploy each target's revision (or its pin) onto the active ``environments``.

    Needs: ``api`` with ``ApiClient.request``; ``environments`` the ones this sync acts on (any
    objects with ``name``, ``keyset_id``, ``frozen``); ``packages`` one ``DeployTarget`` per
    package whose revision stage did not fail (``DeployTarget.of(desired, outcome.package_id,
    outcome.revision_id, outcome.revision_name)``); ``defined_environments`` every name in
    ``faas-gitops.yaml``, to fail a package naming one that is not (``None``: no such check,
    for a caller whose loader already did it);
    ``known`` remembers deployment ids (read, verified, updated after each deploy);
    ``prune_paths`` packages removed from the commit (``--prune``); ``journal`` gets every step.

    Returns ``{path: outcomes}``, outcomes in the order of ``environments``; a path appears only
    if it has at least one (a package restricted elsewhere has none). Makes no call at all when
    ``environments`` is empty. Raises only ``ApiAuthError`` (every call would fail alike).
    """
    if not environments:
        return {}
    timing = timing or Timing(deploy_timeout=deploy_timeout)
    gate = asyncio.Semaphore(max(1, concurrency))
    defined = None if defined_environments is None else set(defined_environments)
    results: Outcomes = {}
    planned: list[tuple[DeployTarget, list[DeploymentPlan | DeploymentOutcome]]] = []

    async def plan_one(target: DeployTarget) -> None:
        planned.append(
            (target, await _plan_target(api, target, environments, defined, known, dry_run=dry_run))
        )

    await gather_gated(gate, [plan_one(t) for t in packages])
    planned.sort(key=lambda item: item[0].path)
    results.update(
        await apply_plans(
            api, planned, environments, gate=gate, timing=timing, journal=journal, known=known
        )
    )

    async def prune_one(target: PackageRef) -> None:
        outcomes = await _prune_target(
            api,
            target,
            environments,
            known=known,
            dry_run=dry_run,
            timing=timing,
            journal=journal,
        )
        if outcomes:
            results[target.path] = outcomes

    await gather_gated(gate, [prune_one(t) for t in prune_paths])
    return dict(sorted(results.items()))


async def apply_plans(
    api: Requester,
    planned: Sequence[tuple[DeployTarget, Sequence[DeploymentPlan | DeploymentOutcome]]],
    environments: Sequence[EnvironmentLike],
    *,
    gate: asyncio.Semaphore,
    timing: Timing,
    journal: Journal | None,
    known: KnownDeployments | None,
) -> Outcomes:
    """Reserve start slots in (environment, path) order, then apply every plan concurrently."""
    order = {env.name: index for index, env in enumerate(environments)}
    headroom = Headroom(api)
    starts = sorted(
        (
            item
            for _, items in planned
            for item in items
            if isinstance(item, DeploymentPlan) and item.action is DeployAction.START
        ),
        key=lambda plan: (order.get(plan.environment, len(order)), plan.path),
    )
    for plan in starts:
        await headroom.reserve((plan.environment, plan.path))
    results: Outcomes = {}

    async def apply_one(
        target: DeployTarget, items: Sequence[DeploymentPlan | DeploymentOutcome]
    ) -> None:
        outcomes: list[DeploymentOutcome] = []
        for item in items:
            if isinstance(item, DeploymentOutcome):
                outcomes.append(item)
                continue
            outcome = await apply_plan(api, item, timing=timing, headroom=headroom, journal=journal)
            _remember(known, target.package_id, outcome)
            outcomes.append(outcome)
        if outcomes:
            results[target.path] = tuple(outcomes)

    await gather_gated(gate, [apply_one(target, items) for target, items in planned])
    return results


async def _plan_target(
    api: Requester,
    target: DeployTarget,
    environments: Sequence[EnvironmentLike],
    defined: Collection[str] | None,
    known: KnownDeployments | None,
    *,
    dry_run: bool,
) -> list[DeploymentPlan | DeploymentOutcome]:
    """The plans of one package, or failed outcomes (one per environment) when it cannot plan."""
    error = None if defined is None else _undefined(target, defined)
    mine = [
        env
        for env in environments
        if target.environments is None or env.name in target.environments
    ]
    if error is not None:
        return [_failed(env, error) for env in environments]
    if not mine:
        return []
    desired = RevisionRef(target.revision_id, target.revision_name)
    if target.package_id is None:
        view = PackageView("", (), ())
    else:
        try:
            view = await observe_package(
                api, target.package_id, [env.keyset_id for env in mine], known
            )
        except ApiAuthError:
            raise
        except ApiError as exc:
            return [_failed(env, str(exc), revision=desired) for env in mine]
    return [
        plan_deployment(
            target.path,
            env,
            desired=desired,
            pin=target.pin_for(env.name),
            revisions=view.revisions,
            on_keyset=view.on(env.keyset_id),
            dry_run=dry_run,
        )
        for env in mine
    ]


async def _prune_target(
    api: Requester,
    target: PackageRef,
    environments: Sequence[EnvironmentLike],
    *,
    known: KnownDeployments | None,
    dry_run: bool,
    timing: Timing,
    journal: Journal | None,
) -> tuple[DeploymentOutcome, ...]:
    try:
        view = await observe_package(
            api, target.package_id, [env.keyset_id for env in environments], known
        )
    except ApiAuthError:
        raise
    except ApiError as exc:
        return tuple(_failed(env, str(exc)) for env in environments)
    return await prune_package(
        api,
        target.path,
        view,
        environments,
        dry_run=dry_run,
        timing=timing,
        journal=journal or _no_journal,
    )


def _undefined(target: DeployTarget, defined: Collection[str]) -> str | None:
    """The one line for a ``package.yaml`` naming an environment ``faas-gitops.yaml`` lacks."""
    for key, names in (
        ("environments", target.environments or ()),
        ("pin", tuple(name for name, _ in target.pins)),
    ):
        for name in names:
            if name not in defined:
                return (
                    f"{target.path}/package.yaml: {key}: '{name}' is not defined in"
                    " faas-gitops.yaml; define it there or remove it here"
                )
    return None


def _failed(
    env: EnvironmentLike, error: str, *, revision: RevisionRef | None = None
) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env.name,
        keyset_id=env.keyset_id,
        status=DeployStatus.FAILED,
        revision_id=revision.id if revision else None,
        revision_name=revision.name if revision else None,
        error=error,
    )


def _remember(
    known: KnownDeployments | None, package_id: str | None, outcome: DeploymentOutcome
) -> None:
    if known is None or package_id is None or outcome.deployment_id is None:
        return
    if outcome.status in (DeployStatus.DEPLOYED, DeployStatus.IN_SYNC):
        known.put(package_id, outcome.keyset_id, outcome.deployment_id)


def _no_journal(*_: object) -> None:
    return None


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

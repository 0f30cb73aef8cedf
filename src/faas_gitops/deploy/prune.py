"""``--prune``: stop what a removed package directory still runs on the active keysets.

The only stop this tool ever makes. One call by package id (5.24) when everything the package
runs is on keysets being pruned; otherwise one stop per deployment (5.21), so a keyset outside
this sync (production, while syncing ``main``) keeps running.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Deployment, DeploymentBusy, Requester
from faas_gitops.deploy.environment import EnvironmentLike
from faas_gitops.deploy.landed import package_stop_landed, stop_landed
from faas_gitops.deploy.observe import PackageView
from faas_gitops.deploy.writer import UNKNOWN, Journal, Pacer, Timing, ambiguous
from faas_gitops.errors import ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus


async def prune_package(
    api: Requester,
    path: str,
    view: PackageView,
    environments: Sequence[EnvironmentLike],
    *,
    dry_run: bool,
    timing: Timing,
    journal: Journal,
) -> tuple[DeploymentOutcome, ...]:
    """One outcome per environment where the package runs: pruned, frozen, would-deploy, failed.

    A dry run reports ``would-deploy`` with no revision (the deployment would stop).
    """
    running = {env.name: view.running_on(env.keyset_id) for env in environments}
    acting = [env for env in environments if running[env.name] and not env.frozen]
    stopping = {d.id for env in acting for d in running[env.name]}
    everything = {d.id for d in view.deployments if d.running}
    outcomes: list[DeploymentOutcome] = []
    by_package = not dry_run and bool(stopping) and stopping == everything
    package_answer: tuple[str | None, str | None] | None = None
    if by_package:
        package_answer = await _stop(
            timing,
            journal,
            (path, acting[0].name, None),
            functools.partial(deploy_api.stop_package, api, view.package_id),
            functools.partial(package_stop_landed, api, view.package_id),
        )
    for env in environments:
        here = running[env.name]
        if not here:
            continue
        if env.frozen or dry_run:
            status = DeployStatus.FROZEN if env.frozen else DeployStatus.WOULD_DEPLOY
            outcomes.append(_outcome(env, view, here[0], status))
            continue
        if package_answer is None:
            answers = [
                await _stop(
                    timing,
                    journal,
                    (path, env.name, d.id),
                    functools.partial(deploy_api.stop_deployment, api, d.id),
                    functools.partial(stop_landed, api, d.id),
                )
                for d in here
            ]
        else:
            answers = [package_answer]
        error = next((e for _, e in answers if e is not None), None)
        correlation = answers[-1][0]
        status = DeployStatus.FAILED if error else DeployStatus.PRUNED
        outcomes.append(_outcome(env, view, here[0], status, correlation=correlation, error=error))
    return tuple(outcomes)


def _outcome(
    env: EnvironmentLike,
    view: PackageView,
    first: Deployment,
    status: DeployStatus,
    *,
    correlation: str | None = None,
    error: str | None = None,
) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env.name,
        keyset_id=env.keyset_id,
        status=status,
        previous_deployment_id=first.id,
        previous_revision_name=view.name_of(first.revision_id),
        correlation_id=correlation,
        error=error,
    )


async def _stop(
    timing: Timing,
    journal: Journal,
    where: tuple[str, str, str | None],
    send: Callable[[], Awaitable[str | None]],
    applied: Callable[[], Awaitable[tuple[bool, str | None]]],
) -> tuple[str | None, str | None]:
    """Send one stop until it is applied or the deadline passes: (correlation id, error or None).

    423s are waited out. An ambiguous answer (a 5xx, none) is journaled ``unknown`` and
    ``applied`` reads whether the stop landed: if so that is its answer (``ok``, with the read's
    correlation id); if not it is sent again after a pause. The error names the last call and
    its answer.
    """
    path, environment, deployment_id = where
    pacer = Pacer(timing)
    tries = 0
    while True:
        tries += 1
        journal("stop", environment, path, deployment_id, None, "pending")
        try:
            correlation = await send()
        except DeploymentBusy as exc:
            journal("stop", environment, path, deployment_id, exc.correlation_id, "busy")
            if not await pacer.pause():
                return exc.correlation_id, (
                    f"stop still refused as in transition after {timing.deploy_timeout:g} s;"
                    " raise --deploy-timeout"
                )
            continue
        except ApiError as exc:
            if not ambiguous(exc):
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, str(exc)
            journal("stop", environment, path, deployment_id, exc.correlation_id, UNKNOWN)
            looked = await _look(pacer, applied, exc)
            if isinstance(looked, str):
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, looked
            landed, read_correlation = looked
            if landed:
                journal("stop", environment, path, deployment_id, read_correlation, "ok")
                return read_correlation, None
            if not await pacer.pause():
                times = "once" if tries == 1 else f"{tries} times"
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, (
                    f"stop not applied: {exc} (sent {times} within {timing.deploy_timeout:g} s)"
                )
            continue
        journal("stop", environment, path, deployment_id, correlation, "ok")
        return correlation, None


async def _look(
    pacer: Pacer,
    applied: Callable[[], Awaitable[tuple[bool, str | None]]],
    cause: ApiError,
) -> tuple[bool, str | None] | str:
    """Read whether an ambiguously answered stop landed, until a read answers.

    ``(landed, the read's correlation id)``, or the error line when no read could tell (the
    deployment is gone, or the reads failed until the deadline).
    """
    while True:
        try:
            return await applied()
        except ApiError as exc:
            if not ambiguous(exc) or not await pacer.pause():
                return f"{cause}; checking whether the stop was applied: {exc}"

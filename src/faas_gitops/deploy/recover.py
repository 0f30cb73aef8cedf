"""Settle the deployment writes a killed run left ``pending`` or ``unknown``.

A run killed between sending a write and journaling its answer leaves the step's row
``pending`` (or ``unknown``, when the answer was ambiguous and the check never finished).
Nothing else will ever answer it, so the next run reads the deployment the write was about and
appends the answer the killed run could not: ``ok`` when the write is visible (with the read's
correlation id, and for a create the deployment it made), else ``abandoned``. A step whose read
fails for a reason that may pass (a 5xx, a timeout) is left for the next run; one the API cannot
tell about (the deployment or revision is gone, no id was journaled) is ``abandoned``.

The revision stage's pending creates are settled the same way, by ``reconcile.recover``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from faas_gitops.deploy.api import Requester
from faas_gitops.deploy.landed import (
    deployment_on,
    package_stop_landed,
    rolling_update_landed,
    start_landed,
    stop_landed,
)
from faas_gitops.errors import RUN_STOPPERS, ApiError, ApiNotFound
from faas_gitops.state.pending import PendingDeploymentStep, StepAnswer

log = structlog.get_logger(__name__)

OK = "ok"
ABANDONED = "abandoned"
_KILLED = "the run was stopped before this write was answered"


class DeploymentSteps(Protocol):
    """The two ledger methods this module needs (``faas_gitops.state.ledger.Ledger``)."""

    def pending_deployment_steps(
        self, *, before_sync: int | None = None
    ) -> list[PendingDeploymentStep]: ...

    def settle_deployment_step(self, row_id: int, answer: StepAnswer) -> bool: ...


async def settle_pending_deployments(
    api: Requester, ledger: DeploymentSteps, *, sync_id: int | None
) -> int:
    """Answer every deployment step earlier runs left unanswered; returns how many were settled.

    ``sync_id`` is the sync now running: only earlier syncs' steps are settled (its own are in
    flight). ``None`` settles every sync's. Call it before the deployment stage writes anything.
    Raises only what every call of the run would meet alike (``RUN_STOPPERS``: a dead key, no
    API there); any other failed read leaves that step for the next run.
    """
    settled = 0
    for step in ledger.pending_deployment_steps(before_sync=sync_id):
        step_log = log.bind(path=step.path, step=step.step)
        try:
            verdict = await _verdict(api, step)
        except RUN_STOPPERS:
            raise
        except ApiNotFound as exc:
            verdict = StepAnswer(ABANDONED, error=f"{_KILLED}, and {exc}")
        except ApiError as exc:
            step_log.warning("deployment.settle_deferred", error=str(exc))
            continue
        if ledger.settle_deployment_step(step.row_id, verdict):
            settled += 1
            step_log.info(
                "deployment.settled",
                environment=step.environment,
                status=verdict.status,
                deployment_id=verdict.deployment_id or step.deployment_id,
            )
    return settled


async def _verdict(api: Requester, step: PendingDeploymentStep) -> StepAnswer:
    """Read whether ``step``'s write landed (raises ``ApiError`` when the read fails)."""
    check = _CHECKS.get(step.step)
    if check is None:
        return _abandoned(f"a {step.step!r} step cannot be checked")
    return await check(api, step)


async def _created(api: Requester, step: PendingDeploymentStep) -> StepAnswer:
    """A create made the revision's deployment on the keyset: the row gets its id."""
    if step.revision_id is None:
        return _abandoned("no revision id was journaled to look the deployment up by")
    found = await deployment_on(api, step.revision_id, step.keyset_id)
    if found is None:
        return _abandoned("the revision has no deployment on this keyset: never created")
    return StepAnswer(OK, deployment_id=found.id)


async def _started(api: Requester, step: PendingDeploymentStep) -> StepAnswer:
    if step.deployment_id is None:
        return _abandoned("no deployment id was journaled to look it up by")
    return _answer(await start_landed(api, step.deployment_id))


async def _stopped(api: Requester, step: PendingDeploymentStep) -> StepAnswer:
    """One deployment's stop, or (no deployment id) the stop of the whole package."""
    if step.deployment_id is not None:
        return _answer(await stop_landed(api, step.deployment_id))
    if step.package_id is None:
        return _abandoned("no package id was journaled to look its deployments up by")
    return _answer(await package_stop_landed(api, step.package_id))


async def _rolled_over(api: Requester, step: PendingDeploymentStep) -> StepAnswer:
    """A rolling update's row names the old deployment; the new one is found by revision."""
    if step.revision_id is None or step.deployment_id is None:
        return _abandoned("no revision or deployment id was journaled to look it up by")
    new = await deployment_on(api, step.revision_id, step.keyset_id)
    if new is None:
        return _not_applied()
    return _answer(await rolling_update_landed(api, step.deployment_id, new.id))


_CHECKS: dict[str, Callable[[Requester, PendingDeploymentStep], Awaitable[StepAnswer]]] = {
    "create": _created,
    "start": _started,
    "rolling-update": _rolled_over,
    "stop": _stopped,
}


def _answer(read: tuple[bool, str | None]) -> StepAnswer:
    landed, correlation = read
    return StepAnswer(OK, correlation_id=correlation) if landed else _not_applied()


def _not_applied() -> StepAnswer:
    return _abandoned("the deployment shows it was not applied")


def _abandoned(why: str) -> StepAnswer:
    return StepAnswer(ABANDONED, error=f"{_KILLED}; {why}")


__all__ = ["ABANDONED", "OK", "DeploymentSteps", "settle_pending_deployments"]

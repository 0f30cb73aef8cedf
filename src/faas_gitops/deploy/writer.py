"""Carries out a ``DeploymentPlan``: create, start or roll over, then wait until RUNNING.

Every answer is journaled as it arrives (the step, the deployment id, the answer's correlation
id), and a write is journaled ``pending`` before it is sent, so a killed run leaves a record the
next one can explain. 423 (FAAS-1008/1009) means "in transition": wait and try again until the
deadline. Any other refusal ends this deployment as ``failed`` with one line; nothing raised
here escapes to stop the other packages, except cancellation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import (
    Deployment,
    DeploymentBusy,
    DeploymentExists,
    DeploymentStartFailed,
    Requester,
)
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan
from faas_gitops.errors import ApiAmbiguous, ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus

DEFAULT_DEPLOY_TIMEOUT = 120.0
LIMIT_CALL = "GET /v2/faas/limits/package-deployments-running"

Journal = Callable[[str, str, str, str | None, str | None, str], None]
"""``(step, environment, package path, deployment id, correlation id, status)``.

Steps: ``create``, ``start``, ``rolling-update``, ``stop``, ``running`` (the poll that saw it
RUNNING). Status: ``pending`` (before a write), ``ok``, ``exists`` (409 FAAS-1015 or an
ambiguous create: the deployment was found and used), ``busy`` (423), ``failed``.
"""


def _no_journal(*_: object) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Timing:
    """Deadline and poll pacing: polls start at ``first_poll`` and grow to ``max_poll``."""

    deploy_timeout: float = DEFAULT_DEPLOY_TIMEOUT
    first_poll: float = 0.1
    max_poll: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


class Headroom:
    """The running-deployments limit, read once and shared by every start of a run.

    Slots are handed out in the order ``reserve`` is called, so a caller that reserves in a
    fixed order (the stage: by environment, then path) fails exactly the deployments beyond the
    limit, whatever order the concurrent writes then run in. A repeated ``reserve`` of the same
    key returns the first answer. Rolling updates need no slot (one stops as one starts).
    """

    def __init__(self, api: Requester) -> None:
        self._api = api
        self._lock = asyncio.Lock()
        self._limit: deploy_api.RunningLimit | None = None
        self._answers: dict[Hashable, str | None] = {}
        self._granted = 0

    async def reserve(self, key: Hashable) -> str | None:
        """``None`` when a slot is granted, else the one line saying why not."""
        async with self._lock:
            if key in self._answers:
                return self._answers[key]
            if self._limit is None:
                try:
                    self._limit, _ = await deploy_api.running_limit(self._api)
                except ApiError as exc:
                    self._answers[key] = f"cannot read the running-deployments limit: {exc}"
                    return self._answers[key]
            limit = self._limit
            if self._granted < limit.headroom:
                self._granted += 1
                answer = None
            else:
                answer = (
                    f"running-deployments limit reached: {limit.current + self._granted} of"
                    f" {limit.maximum} running ({LIMIT_CALL}); stop a deployment or raise the"
                    " account's limit"
                )
            self._answers[key] = answer
            return answer


class _Failed(Exception):
    """Ends one deployment with ``message``; ``correlation_id`` of the answer that ended it."""

    def __init__(self, message: str, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.correlation_id = correlation_id


class _Run:
    """One plan being applied: its deadline, its journal and the last write's correlation id."""

    def __init__(
        self, api: Requester, plan: DeploymentPlan, timing: Timing, journal: Journal
    ) -> None:
        self.api = api
        self.plan = plan
        self.timing = timing
        self.journal = journal
        self.deadline = timing.clock() + timing.deploy_timeout
        self.last_write: str | None = None
        self._pause = timing.first_poll

    def note(
        self, step: str, deployment_id: str | None, correlation: str | None, status: str
    ) -> None:
        self.journal(
            step, self.plan.environment, self.plan.path, deployment_id, correlation, status
        )

    async def wait(self, what: str) -> None:
        """Sleep before the next try, or fail when the deadline would pass."""
        remaining = self.deadline - self.timing.clock()
        if remaining <= 0:
            raise _Failed(f"{what} within {self.timing.deploy_timeout:g} s; raise --deploy-timeout")
        await self.timing.sleep(min(self._pause, remaining))
        self._pause = min(self.timing.max_poll, self._pause * 1.6)

    async def reserve(self, headroom: Headroom) -> None:
        refusal = await headroom.reserve((self.plan.environment, self.plan.path))
        if refusal is not None:
            raise _Failed(refusal)

    async def create(self) -> str:
        plan = self.plan
        assert plan.revision_id is not None  # noqa: S101 - writes() plans always carry one
        if plan.deployment_id is not None:
            return plan.deployment_id
        self.note("create", None, None, "pending")
        try:
            deployment, correlation = await deploy_api.create_deployment(
                self.api, plan.revision_id, plan.keyset_id
            )
        except (DeploymentExists, ApiAmbiguous) as exc:
            found = await self._find_existing()
            if found is None:
                raise _Failed(str(exc), exc.correlation_id) from None
            self.note("create", found.id, exc.correlation_id, "exists")
            return found.id
        except ApiError as exc:
            self.note("create", None, exc.correlation_id, "failed")
            raise _Failed(str(exc), exc.correlation_id) from None
        self.last_write = correlation
        self.note("create", deployment.id, correlation, "ok")
        return deployment.id

    async def _find_existing(self) -> Deployment | None:
        assert self.plan.revision_id is not None  # noqa: S101
        try:
            found = await deploy_api.list_revision_deployments(self.api, self.plan.revision_id)
        except ApiError as exc:
            raise _Failed(str(exc), exc.correlation_id) from None
        return next((d for d in found if d.keyset_id == self.plan.keyset_id), None)

    async def write(
        self,
        step: str,
        deployment_id: str,
        new_id: str,
        send: Callable[[], Awaitable[str | None]],
    ) -> None:
        """Send a start/rolling-update, waiting out 423s; an ambiguous answer is left to the poll.

        After a 423 the new deployment is looked at before sending again: if whatever was in
        transition (another replica's start of it) left it RUNNING, sending again would restart
        it for nothing.
        """
        while True:
            self.note(step, deployment_id, None, "pending")
            try:
                self.last_write = await send()
            except DeploymentBusy as exc:
                self.note(step, deployment_id, exc.correlation_id, "busy")
                await self.wait(f"{step} of {deployment_id} still refused as in transition")
                if await self._already_running(new_id):
                    return
                continue
            except ApiAmbiguous as exc:
                self.note(step, deployment_id, exc.correlation_id, "failed")
                return
            except (DeploymentStartFailed, ApiError) as exc:
                self.note(step, deployment_id, exc.correlation_id, "failed")
                raise _Failed(str(exc), exc.correlation_id) from None
            self.note(step, deployment_id, self.last_write, "ok")
            return

    async def _already_running(self, deployment_id: str) -> bool:
        try:
            deployment, _ = await deploy_api.get_deployment(self.api, deployment_id)
        except ApiError:
            return False
        return deployment.running

    async def until_running(self, deployment_id: str) -> None:
        while True:
            try:
                deployment, correlation = await deploy_api.get_deployment(self.api, deployment_id)
            except ApiError as exc:
                raise _Failed(str(exc), exc.correlation_id) from None
            if deployment.running:
                self.note("running", deployment_id, correlation, "ok")
                return
            if deployment.state == "FAILED":
                self.note("running", deployment_id, correlation, "failed")
                raise _Failed(f"deployment {deployment_id} failed to start (state FAILED)")
            await self.wait(
                f"deployment {deployment_id} did not reach RUNNING (last state {deployment.state})"
            )


async def apply_plan(
    api: Requester,
    plan: DeploymentPlan,
    *,
    timing: Timing | None = None,
    headroom: Headroom | None = None,
    journal: Journal | None = None,
) -> DeploymentOutcome:
    """Apply ``plan`` and return its ``DeploymentOutcome``; never raises an ``ApiError``.

    ``headroom`` is the run's shared limit (a fresh one per call when omitted: one limit read
    per start). The outcome's ``correlation_id`` is that of the last write answered.
    """
    settled = plan.settled()
    if settled is not None:
        return settled
    run = _Run(api, plan, timing or Timing(), journal or _no_journal)
    deployment_id: str | None = plan.deployment_id
    try:
        if plan.action is DeployAction.START:
            await run.reserve(headroom or Headroom(api))
        deployment_id = await run.create()
        new_id = deployment_id
        if plan.action is DeployAction.ROLL and plan.previous_deployment_id is not None:
            old = plan.previous_deployment_id
            await run.write(
                "rolling-update", old, new_id, lambda: deploy_api.rolling_update(api, old, new_id)
            )
        else:
            await run.write(
                "start", new_id, new_id, lambda: deploy_api.start_deployment(api, new_id)
            )
        await run.until_running(new_id)
    except _Failed as failure:
        return plan.outcome(
            DeployStatus.FAILED,
            deployment_id=deployment_id,
            correlation_id=failure.correlation_id or run.last_write,
            error=failure.message,
        )
    return plan.outcome(
        DeployStatus.DEPLOYED, deployment_id=deployment_id, correlation_id=run.last_write
    )

"""Carries out a ``DeploymentPlan``: create, start or roll over, then wait until RUNNING.

Every answer is journaled as it arrives (the step, the deployment id, the answer's correlation
id), and a write is journaled ``pending`` before it is sent, so a killed run leaves a record the
next one can explain (``deploy.recover`` settles such rows). 423 (FAAS-1008/1009) means "in
transition": wait and try again until the deadline.

A write answered 5xx, or not answered at all (``ApiAmbiguous``), or still refused by 429s after
the client's retries (``ApiRetryable``) may or may not have been applied. It is journaled
``unknown`` and the deployment is read to find out: applied, the run goes on as if the answer
had arrived (journaled ``ok`` with the read's correlation id, ``exists`` for a create); not
applied, the write is sent again, with growing pauses, until the deploy deadline. Sending it
blindly could restart what just started or fail a rolling update that already happened;
waiting for the poll instead sat out the whole deadline for a write that never landed.

Any other refusal ends this deployment as ``failed`` with one line naming the call and its
answer; nothing raised here escapes to stop the other packages, except cancellation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from faas_gitops.backoff import Backoff, Pacer
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import (
    Deployment,
    DeploymentBusy,
    DeploymentExists,
    DeploymentStartFailed,
    Requester,
)
from faas_gitops.deploy.landed import deployment_on, rolling_update_landed, start_landed
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan
from faas_gitops.errors import RUN_STOPPERS, ApiError, ApiRetryable
from faas_gitops.models import DeploymentOutcome, DeployStatus

DEFAULT_DEPLOY_TIMEOUT = 120.0
POLL = Backoff(first=0.1, factor=1.6, cap=1.0)
"""The release stage's pacing between polls and tries: 0.1 s, growing by 1.6 to 1 s."""
LIMIT_CALL = "GET /v2/faas/limits/package-deployments-running"

#: Journal status of a write whose answer was ambiguous (a 5xx, none, or 429s to the end):
#: the next row of the same step says whether it was applied.
UNKNOWN = "unknown"
_T = TypeVar("_T")

Journal = Callable[[str, str, str, str | None, str | None, str], None]
"""``(step, environment, package path, deployment id, correlation id, status)``.

Steps: ``create``, ``start``, ``rolling-update``, ``stop``, ``running`` (the poll that saw it
RUNNING). Status: ``pending`` (before a write), ``ok``, ``exists`` (409 FAAS-1015 or an
ambiguous create: the deployment was found and used), ``busy`` (423), ``unknown`` (an ambiguous
answer, being checked: the step's next row says how it ended), ``failed``; ``abandoned`` is
written by ``deploy.recover`` for a killed run's write that never landed.
"""


def no_journal(*_: object) -> None:
    """The journal of a caller with nothing to record: every step is dropped."""
    return


def ambiguous(error: ApiError) -> bool:
    """Whether a write that met ``error`` may have landed, or may land if sent again.

    A 5xx or a lost answer (``ApiAmbiguous``) or retries that ran out (``ApiRetryable``); not
    what every call of the run would meet alike (no API there, a dead key).
    """
    return isinstance(error, ApiRetryable) and not isinstance(error, RUN_STOPPERS)


@dataclass(frozen=True, slots=True)
class Timing:
    """Deadline and poll pacing (``poll``: 0.1 s growing by 1.6 to 1 s), clock and sleep."""

    deploy_timeout: float = DEFAULT_DEPLOY_TIMEOUT
    poll: Backoff = POLL
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic

    def pacer(self) -> Pacer:
        """One deployment's deadline (``deploy_timeout`` from now) and the growing pauses
        between its tries and polls, the last one cut to the deadline. Shared by the writer's
        waits and prune's stops."""
        deadline = self.clock() + self.deploy_timeout
        return Pacer(self.poll, deadline=deadline, clock=self.clock, sleep=self.sleep)


@dataclass(frozen=True, slots=True)
class Writes:
    """What every deployment write of a run shares: the API, the deadline and pacing of its
    tries and polls, and the journal each step is recorded in.

    Handed down as one value (release stage, promote, rollback, prune) because the three always
    travel together to each call that may write.
    """

    api: Requester
    timing: Timing = field(default_factory=Timing)
    journal: Journal = no_journal


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


@dataclass(slots=True)
class _Run:
    """One plan being applied: its deadline, its journal and the last write's correlation id."""

    api: Requester
    plan: DeploymentPlan
    timing: Timing
    journal: Journal
    pacer: Pacer = field(init=False)  # the deadline starts when the run does
    last_write: str | None = None

    def __post_init__(self) -> None:
        self.pacer = self.timing.pacer()

    def note(
        self, step: str, deployment_id: str | None, correlation: str | None, status: str
    ) -> None:
        self.journal(
            step, self.plan.environment, self.plan.path, deployment_id, correlation, status
        )

    async def wait(self, what: str, failure: _Failed | None = None) -> None:
        """Sleep before the next try, or fail when the deadline has passed.

        ``failure`` is what to fail with when the last answer was an error (it names the call
        and its answer); without one, waiting longer might have helped, and the line says so.
        """
        if await self.pacer.pause():
            return
        if failure is not None:
            raise failure
        raise _Failed(f"{what} within {self.timing.deploy_timeout:g} s; raise --deploy-timeout")

    @contextmanager
    def failing(self, step: str, deployment_id: str | None) -> Iterator[None]:
        """A ``_Failed`` raised inside ends the step: journal it ``failed``, not left unknown."""
        try:
            yield
        except _Failed as failure:
            self.note(step, deployment_id, failure.correlation_id, "failed")
            raise

    def gave_up(self, what: str, cause: ApiError, tries: int) -> _Failed:
        """The failure of a write that was sent ``tries`` times and never applied."""
        times = "once" if tries == 1 else f"{tries} times"
        return _Failed(
            f"{what} not applied: {cause} (sent {times} within {self.timing.deploy_timeout:g} s)",
            cause.correlation_id,
        )

    async def look(self, read: Callable[[], Awaitable[_T]], what: str, cause: ApiError) -> _T:
        """After an ambiguous answer to ``what``: ``read`` until it answers, or fail.

        Until the read answers, whether the write was applied is unknown, so it is not sent
        again (a second start restarts, a second rolling update is refused).
        """
        while True:
            try:
                return await read()
            except ApiError as exc:
                failure = _Failed(
                    f"{what}: {cause}; checking whether it was applied: {exc}",
                    exc.correlation_id or cause.correlation_id,
                )
                if not ambiguous(exc):  # gone (not found), forbidden...: reading again won't do
                    raise failure from None
                await self.wait(what, failure)

    async def reserve(self, headroom: Headroom) -> None:
        refusal = await headroom.reserve((self.plan.environment, self.plan.path))
        if refusal is not None:
            raise _Failed(refusal)

    async def create(self) -> str:
        plan = self.plan
        assert plan.revision_id is not None  # noqa: S101 - writes() plans always carry one
        if plan.deployment_id is not None:
            return plan.deployment_id
        what = f"create of revision {plan.revision_id} on keyset {plan.keyset_id}"
        tries = 0
        while True:
            tries += 1
            self.note("create", None, None, "pending")
            try:
                deployment, correlation = await deploy_api.create_deployment(
                    self.api, plan.revision_id, plan.keyset_id
                )
            except DeploymentExists as exc:
                with self.failing("create", None):
                    found = await self.look(self._find_existing, what, exc)
                if found is None:
                    self.note("create", None, exc.correlation_id, "failed")
                    raise _Failed(str(exc), exc.correlation_id) from None
                self.note("create", found.id, exc.correlation_id, "exists")
                return found.id
            except ApiError as exc:
                if not ambiguous(exc):
                    self.note("create", None, exc.correlation_id, "failed")
                    raise _Failed(str(exc), exc.correlation_id) from None
                self.note("create", None, exc.correlation_id, UNKNOWN)
                with self.failing("create", None):
                    found = await self.look(self._find_existing, what, exc)
                    if found is None:
                        await self.wait(what, self.gave_up(what, exc, tries))
                        continue
                self.note("create", found.id, exc.correlation_id, "exists")
                return found.id
            self.last_write = correlation
            self.note("create", deployment.id, correlation, "ok")
            return deployment.id

    async def _find_existing(self) -> Deployment | None:
        """This revision's deployment on this keyset, if there is one (raises ``ApiError``)."""
        assert self.plan.revision_id is not None  # noqa: S101
        return await deployment_on(self.api, self.plan.revision_id, self.plan.keyset_id)

    async def write(
        self,
        step: str,
        deployment_id: str,
        new_id: str,
        send: Callable[[], Awaitable[str | None]],
        applied: Callable[[], Awaitable[tuple[bool, str | None]]],
    ) -> None:
        """Send a start/rolling-update, waiting out 423s and checking ambiguous answers.

        After a 423 the new deployment is looked at before sending again: if whatever was in
        transition (another replica's start of it) left it RUNNING, sending again would restart
        it for nothing. After an ambiguous answer ``applied`` reads whether the write landed
        (and the read's correlation id): if it did, that is the step's answer; if not, the
        write is sent again after a pause.
        """
        what = f"{step} of {deployment_id}"
        tries = 0
        while True:
            tries += 1
            self.note(step, deployment_id, None, "pending")
            try:
                self.last_write = await send()
            except DeploymentBusy as exc:
                self.note(step, deployment_id, exc.correlation_id, "busy")
                await self.wait(f"{what} still refused as in transition")
                if await self._already_running(new_id):
                    return
                continue
            except DeploymentStartFailed as exc:
                self.note(step, deployment_id, exc.correlation_id, "failed")
                raise _Failed(str(exc), exc.correlation_id) from None
            except ApiError as exc:
                if not ambiguous(exc):
                    self.note(step, deployment_id, exc.correlation_id, "failed")
                    raise _Failed(str(exc), exc.correlation_id) from None
                self.note(step, deployment_id, exc.correlation_id, UNKNOWN)
                with self.failing(step, deployment_id):
                    landed, correlation = await self.look(applied, what, exc)
                    if not landed:
                        await self.wait(what, self.gave_up(what, exc, tries))
                        continue
                self.last_write = correlation
                self.note(step, deployment_id, correlation, "ok")
                return
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
    writes: Writes, plan: DeploymentPlan, headroom: Headroom | None = None
) -> DeploymentOutcome:
    """Apply ``plan`` and return its ``DeploymentOutcome``; never raises an ``ApiError``.

    ``headroom`` is the run's shared limit (a fresh one per call when omitted: one limit read
    per start). The outcome's ``correlation_id`` is that of the last write answered.
    """
    settled = plan.settled()
    if settled is not None:
        return settled
    api = writes.api
    run = _Run(api, plan, writes.timing, writes.journal)
    deployment_id: str | None = plan.deployment_id
    try:
        if plan.action is DeployAction.START:
            await run.reserve(headroom or Headroom(api))
        deployment_id = await run.create()
        new_id = deployment_id
        if plan.action is DeployAction.ROLL and plan.previous_deployment_id is not None:
            old = plan.previous_deployment_id
            await run.write(
                "rolling-update",
                old,
                new_id,
                lambda: deploy_api.rolling_update(api, old, new_id),
                lambda: rolling_update_landed(api, old, new_id),
            )
        else:
            await run.write(
                "start",
                new_id,
                new_id,
                lambda: deploy_api.start_deployment(api, new_id),
                lambda: start_landed(api, new_id),
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

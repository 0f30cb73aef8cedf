"""The notifier: takes "a sync started / finished" from the sync side and returns at once.

Everything slow happens in background tasks: claiming keys in the sent log (SQLite, in a worker
thread), rendering each target's requests, and sending them with retries. A sync never waits
for a receiver and never fails because of one; ``drain`` lets ``--sync-once`` wait a bounded
time for what is in flight before the process exits.

Claims run in the order the calls were made (one planning task waits for the previous one), so
a GitHub ``pending`` is always claimed and queued before the ``success`` of the same sync.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine, Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from faas_gitops.models import SyncResult
from faas_gitops.notify.delivery import Attempted, DeliveryPolicy, Result, deliver
from faas_gitops.notify.events import events_of, sync_failed_event
from faas_gitops.notify.outgoing import Finished, Outgoing, Target
from faas_gitops.notify.sentlog import SentLog

log = structlog.get_logger(__name__)

OnResult = Callable[[str, Result], None]
"""``on_result(target_kind, result)``: one call per delivery, for ``notifications_total``."""

_Plan = Callable[[Target, Callable[[str], bool]], list[Outgoing]]


@dataclass(slots=True)
class _Delivery:
    kind: str
    outgoing: Outgoing
    superseded: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Notifier:
    """Sends every target its notifications; owns its HTTP client and the sent log."""

    def __init__(
        self,
        targets: Sequence[Target],
        sent_log: SentLog,
        *,
        policy: DeliveryPolicy | None = None,
        on_result: OnResult | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._targets = tuple(targets)
        self._sent_log = sent_log
        self._policy = policy or DeliveryPolicy()
        self._on_result = on_result
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        timeout = self._policy.attempt_timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
            follow_redirects=False,  # a redirect would carry the token to another host
            trust_env=False,  # no proxy or .netrc credentials slipped into our requests
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._planning: asyncio.Task[None] | None = None
        self._latest: dict[str, _Delivery] = {}  # by Outgoing.order
        self._closed = False

    @property
    def targets(self) -> tuple[Target, ...]:
        return self._targets

    # ------------------------------------------------------------------ the sync side
    async def sync_started(
        self, commit: str, ref: str, *, environments: Iterable[str] = ()
    ) -> None:
        """A sync of ``commit`` begins (GitHub: ``pending``). Returns at once."""
        envs = tuple(environments)
        self._enqueue(lambda target, claim: target.started(commit, ref, envs, claim))

    async def sync_finished(
        self, result: SyncResult, *, drift_paths: Set[str] = frozenset()
    ) -> None:
        """A sync ended with ``result``; ``drift_paths`` as for ``events_of``. Returns at once."""
        try:
            events = events_of(result, drift_paths=drift_paths)
        except Exception:  # a notification bug must never fail a sync
            log.exception("notification events could not be computed")
            return
        sync = Finished(result.commit, result.ref, events, result=result)
        self._enqueue(lambda target, claim: target.finished(sync, claim))

    async def sync_failed(
        self, commit: str, ref: str, error: str, *, at: datetime | None = None
    ) -> None:
        """A sync raised before it had a result (``sync-failed``, GitHub ``failure``)."""
        event = sync_failed_event(commit, ref, error, at or datetime.now(UTC))
        sync = Finished(commit, ref, (event,), error=error)
        self._enqueue(lambda target, claim: target.finished(sync, claim))

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a budget, not a cancel
        """Wait up to ``timeout`` seconds for every queued delivery; True when none is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("notifications still in flight", count=len(self._tasks))
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def aclose(self) -> None:
        """Cancel what is still in flight (counted as failed), close the client and the log."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        self._sent_log.close()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ background
    def _enqueue(self, plan: _Plan) -> None:
        if self._closed or not self._targets:
            return
        previous = self._planning
        self._planning = self._track(self._plan(previous, plan))

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _plan(self, previous: asyncio.Task[None] | None, plan: _Plan) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        planned, duplicates = await asyncio.to_thread(self._collect, plan)
        for kind in duplicates:
            self._count(kind, "duplicate")
        for kind, outgoing in planned:
            self._spawn(kind, outgoing)

    def _collect(self, plan: _Plan) -> tuple[list[tuple[str, Outgoing]], list[str]]:
        """In a worker thread: claim keys (SQLite may wait on a lock) and render requests."""
        planned: list[tuple[str, Outgoing]] = []
        duplicates: list[str] = []
        for target in self._targets:

            def claim(key: str, kind: str = target.kind) -> bool:
                try:
                    fresh = self._sent_log.claim(key)
                except Exception as exc:  # noqa: BLE001 - better a duplicate than silence
                    log.warning("notification log unusable", reason=type(exc).__name__)
                    return True
                if not fresh:
                    duplicates.append(kind)
                return fresh

            try:
                planned.extend((target.kind, out) for out in plan(target, claim))
            except Exception:  # one broken target must not silence the others
                log.exception("notifications could not be prepared", target=target.kind)
        return planned, duplicates

    def _spawn(self, kind: str, outgoing: Outgoing) -> None:
        if self._closed:
            self._count(kind, "failed")
            return
        delivery = _Delivery(kind, outgoing)
        prior = self._latest.get(outgoing.order) if outgoing.order else None
        if prior is not None:
            prior.superseded.set()
        if outgoing.order:
            self._latest[outgoing.order] = delivery
        delivery.task = self._track(self._send(delivery, prior))

    async def _send(self, delivery: _Delivery, prior: _Delivery | None) -> None:
        outcome: Attempted = "failed"  # stays so when aclose() cancels it: not delivered
        try:
            if prior is not None and prior.task is not None:
                await asyncio.wait({prior.task})  # keep the order GitHub sees them in
            outcome = await deliver(
                self._client,
                delivery.kind,
                delivery.outgoing,
                self._policy,
                superseded=delivery.superseded,
                rng=self._rng,
            )
        finally:
            order = delivery.outgoing.order
            if order and self._latest.get(order) is delivery:
                del self._latest[order]
            if outcome == "superseded":  # a newer status of the same context replaced it
                log.debug("notification superseded", notification=delivery.outgoing.what)
            else:
                self._count(delivery.kind, outcome)

    def _count(self, kind: str, result: Result) -> None:
        if self._on_result is None:
            return
        try:
            self._on_result(kind, result)
        except Exception:  # a metrics bug must not stop notifications
            log.exception("notification counter failed", target=kind)

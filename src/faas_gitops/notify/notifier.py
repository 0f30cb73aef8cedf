"""The notifier: takes "a sync started / finished" from the sync side and returns at once.

Everything slow happens in background tasks: claiming keys in the sent log (SQLite, in a worker
thread), rendering each target's requests, and sending them with retries. A sync never waits
for a receiver and never fails because of one; ``drain`` lets ``--sync-once`` wait a bounded
time for what is in flight before the process exits.

Claims run in the order the calls were made (one planning task waits for the previous one), so
a GitHub ``pending`` is always claimed and queued before the ``success`` of the same sync.

At least once: every request planned is kept in the sent log's outbox (in the transaction that
claims it) until a receiver takes it or refuses it for good. One still undelivered when this
run's retries end stays there, and the first call of a later run or daemon sync sends it again
(``_resend``), with the same delivery id, until ``retry_for`` seconds after it was first
queued; then it is dropped, counted (``dropped``) and logged. Nothing waits for that either.

How each run ended is noted in the sent log in the same transaction (``SentLog.note_failure``
/ ``note_success``): the first run to end well after failing ones gets ``recovered`` first among
its events, and a ``sync-failed`` is announced once per commit and failing spell. A dry run
notes nothing: it changed nothing, so it neither fails nor recovers what runs.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from faas_gitops.models import SyncResult
from faas_gitops.notify.delivery import Attempted, DeliveryPolicy, Result, deliver
from faas_gitops.notify.events import EventKind, events_of, recovered_event, sync_failed_event
from faas_gitops.notify.outgoing import Finished, Links, Outgoing, Target
from faas_gitops.notify.sentlog import SentLog
from faas_gitops.state.sent import Queued

log = structlog.get_logger(__name__)

OnResult = Callable[[str, Result], None]
"""``on_result(target_kind, result)``: one call per delivery, for ``notifications_total``."""

#: How long an undelivered notification is kept for later runs by default (24 h).
RETRY_FOR_S = 24 * 3600.0
#: At most this many queued notifications are sent again per pass (the oldest first), so a
#: receiver down for a day costs a run a bounded amount of work.
RESEND_LIMIT = 200
#: A daemon looks at the outbox again at most this often (each sync calls the notifier twice).
RESEND_EVERY_S = 5.0

_Plan = Callable[[Target, Callable[[str], bool]], list[Outgoing]]


@dataclass(frozen=True, slots=True)
class _Job:
    """One call of the sync side: a sync started, or one finished (``sync``). ``ended`` says
    how a finished one ended, for the failing record: ``(True, error)`` failed, ``(False, "")``
    ended well; None notes nothing (a dry run)."""

    started: tuple[str, str, tuple[str, ...]] | None = None
    sync: Finished | None = None
    ended: tuple[bool, str] | None = None


@dataclass(slots=True)
class _Delivery:
    kind: str
    outgoing: Outgoing
    queued_at: float  # when it was first queued (time.time()): ``retry_for`` counts from here
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
        retry_for: float = RETRY_FOR_S,
        links: Links | None = None,
    ) -> None:
        self._targets = tuple(targets)
        self._links = links or Links()
        self._by_ident = {target.ident: target for target in self._targets}
        self._sent_log = sent_log
        self._policy = policy or DeliveryPolicy()
        self._retry_for = retry_for
        # A process sending a notification holds it this long: its retries, plus slack.
        self._lease_s = self._policy.deadline + 2 * self._policy.attempt_timeout + 5.0
        self._resent_at: float | None = None
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
        self._enqueue(_Job(started=(commit, ref, tuple(environments))))

    async def sync_finished(
        self, result: SyncResult, *, drift_paths: Set[str] = frozenset()
    ) -> None:
        """A sync ended with ``result``; ``drift_paths`` as for ``events_of``. Returns at once."""
        try:
            events = events_of(result, drift_paths=drift_paths)
        except Exception:  # a notification bug must never fail a sync
            log.exception("notification events could not be computed")
            return
        sync = self._finished(Finished(result.commit, result.ref, events, result=result))
        ended = None if result.dry_run else (not result.ok, result.failure_line)
        self._enqueue(_Job(sync=sync, ended=ended))

    async def sync_failed(
        self, commit: str, ref: str, error: str, *, at: datetime | None = None
    ) -> None:
        """A sync raised before it had a result (``sync-failed``, GitHub ``failure``)."""
        event = sync_failed_event(commit, ref, error, at or datetime.now(UTC))
        sync = self._finished(Finished(commit, ref, (event,), error=error))
        self._enqueue(_Job(sync=sync, ended=(True, error)))

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

    def _finished(self, sync: Finished) -> Finished:
        """``sync`` with its links, and each of its events with theirs."""
        links = self._links
        return replace(
            sync,
            events=tuple(links.stamp(event) for event in sync.events),
            commit_url=links.commit(sync.commit),
            page_url=links.page(),
        )

    # ------------------------------------------------------------------ background
    def _enqueue(self, job: _Job) -> None:
        if self._closed or not self._targets:
            return
        loop = asyncio.get_running_loop()
        if self._resent_at is None or loop.time() - self._resent_at >= RESEND_EVERY_S:
            self._resent_at = loop.time()
            self._planning = self._track(self._resend(self._planning))
        previous = self._planning
        self._planning = self._track(self._plan(previous, job))

    async def _resend(self, previous: asyncio.Task[None] | None) -> None:
        """Send again what earlier runs queued and could not deliver; drop what is too old."""
        if previous is not None:
            await asyncio.wait({previous})
        try:
            dropped, due = await asyncio.to_thread(self._due)
        except Exception:  # the outbox must never stop this run's own notifications
            log.exception("queued notifications could not be read")
            return
        for item in dropped:
            self._count(item.kind, "dropped")
        if dropped:
            log.warning(
                "notifications dropped",
                count=len(dropped),
                notifications=sorted({item.what for item in dropped})[:10],
                reason=f"not delivered within --notify-retry-for ({self._retry_for:g} s)",
            )
        for item in due:
            target = self._by_ident.get(item.target)
            if target is None:  # not configured in this run: left for one that is
                await asyncio.to_thread(self._sent_log.release, item.delivery_id)
                continue
            try:
                outgoing = target.redeliver(item)
            except Exception:  # one broken row must not stop the others
                log.exception("a queued notification could not be rebuilt", target=item.kind)
                await asyncio.to_thread(self._sent_log.settle, item.delivery_id)
                continue
            log.info(
                "queued notification sent again",
                target=item.kind,
                notification=item.what,
                attempts=item.attempts + 1,
            )
            self._spawn(target.kind, outgoing, item.queued_at)

    def _due(self) -> tuple[list[Queued], list[Queued]]:
        """In a worker thread: expired items (removed), then the due ones (leased to us)."""
        dropped = self._sent_log.expire(self._retry_for)
        return dropped, self._sent_log.take_due(self._lease_s, RESEND_LIMIT)

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _plan(self, previous: asyncio.Task[None] | None, job: _Job) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        now = time.time()
        planned, duplicates = await asyncio.to_thread(self._collect, job, now)
        for kind in duplicates:
            self._count(kind, "duplicate")
        for kind, outgoing in planned:
            self._spawn(kind, outgoing, now)

    def _collect(self, job: _Job, now: float) -> tuple[list[tuple[str, Outgoing]], list[str]]:
        """In a worker thread: note how the run ended, claim keys and queue the requests they
        make, in one transaction (SQLite may wait on a lock), so a kill between loses nothing."""
        planned: list[tuple[str, Outgoing]] = []
        duplicates: list[str] = []
        try:
            with self._sent_log.batch():
                plan = self._plan_of(job)
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
                self._sent_log.queue(
                    [out.queued(now) for _, out in planned if out.letter.delivery_id],
                    self._lease_s,
                )
        except Exception as exc:  # noqa: BLE001 - sent now at least, just not kept for later
            log.warning("notifications not kept for a later run", reason=type(exc).__name__)
        return planned, duplicates

    def _plan_of(self, job: _Job) -> _Plan:
        """What each target is asked, once the sent log has noted how the run ended."""
        if job.started is not None:
            commit, ref, envs = job.started
            return lambda target, claim: target.started(commit, ref, envs, claim)
        sync = job.sync
        assert sync is not None  # noqa: S101 - a job is one or the other
        if job.ended is not None:
            sync = self._noted(sync, *job.ended)
        return lambda target, claim: target.finished(sync, claim)

    def _noted(self, sync: Finished, failed: bool, error: str) -> Finished:
        """Note the run's end in the sent log: a failure stamps its spell on ``sync-failed``
        (announced once per commit and spell); the first success after failures gets
        ``recovered``. A log that cannot note it costs the ``recovered`` event only."""
        try:
            if failed:
                spell = self._sent_log.note_failure(error)
                events = tuple(
                    replace(e, failing=spell) if e.kind is EventKind.SYNC_FAILED else e
                    for e in sync.events
                )
                return replace(sync, events=events)
            ended = self._sent_log.note_success()
        except Exception as exc:  # noqa: BLE001 - a notification must never break a sync
            log.warning("notification log unusable", reason=type(exc).__name__)
            return sync
        if ended is None or sync.result is None:
            return sync
        recovered = self._links.stamp(recovered_event(sync.result, ended))
        log.info("sync.recovered", failed_syncs=ended.syncs, since=ended.since_at.isoformat())
        return replace(sync, events=(recovered, *sync.events))

    def _spawn(self, kind: str, outgoing: Outgoing, queued_at: float) -> None:
        if self._closed:
            self._count(kind, "failed")
            return
        delivery = _Delivery(kind, outgoing, queued_at)
        order = outgoing.letter.order
        prior = self._latest.get(order) if order else None
        if prior is not None:
            prior.superseded.set()
        if order:
            self._latest[order] = delivery
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
            order = delivery.outgoing.letter.order
            if order and self._latest.get(order) is delivery:
                del self._latest[order]
            if outcome == "superseded":  # a newer status of the same context replaced it
                log.debug("notification superseded", notification=delivery.outgoing.letter.what)
            else:
                self._count(delivery.kind, "failed" if outcome == "refused" else outcome)
            self._after(delivery, outcome)  # synchronous: it also runs when cancelled

    def _after(self, delivery: _Delivery, outcome: Attempted) -> None:
        """Settle the outbox row: gone once delivered, refused or replaced; else kept for a
        later run, unless it has waited longer than ``retry_for`` (then dropped)."""
        outgoing = delivery.outgoing
        letter = outgoing.letter
        if not letter.delivery_id:
            return
        try:
            if outcome != "failed":
                self._sent_log.settle(letter.delivery_id)
            elif time.time() - delivery.queued_at >= self._retry_for:
                self._sent_log.settle(letter.delivery_id)
                self._count(delivery.kind, "dropped")
                log.warning(
                    "notifications dropped",
                    count=1,
                    notifications=[letter.what],
                    target=delivery.kind,
                    url=outgoing.shown_url,
                    reason=f"not delivered within --notify-retry-for ({self._retry_for:g} s)",
                )
            else:
                self._sent_log.release(letter.delivery_id)
                log.info(
                    "notification kept for a later sync",
                    target=delivery.kind,
                    url=outgoing.shown_url,
                    notification=letter.what,
                )
        except Exception as exc:  # noqa: BLE001 - the outbox must never break a sync
            log.warning("notification log unusable", reason=type(exc).__name__)

    def _count(self, kind: str, result: Result) -> None:
        if self._on_result is None:
            return
        try:
            self._on_result(kind, result)
        except Exception:  # a metrics bug must not stop notifications
            log.exception("notification counter failed", target=kind)

"""Sending one notification: retries with capped exponential backoff and jitter, under a deadline.

A receiver that is down must cost a sync nothing, so a delivery gives up at its deadline and
reports ``failed`` (the notifier keeps it for a later run); 429, 408, 5xx and transport
errors are retried (``Retry-After`` honoured within the deadline), any other answer is final
(``refused``: sending it again would be refused again). Log lines name the target kind, the
masked URL and the exception *class* only: an exception's text may quote a URL with its token.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Literal

import httpx
import structlog

from faas_gitops.backoff import Backoff
from faas_gitops.notify.outgoing import Outgoing

log = structlog.get_logger(__name__)

Result = Literal["sent", "failed", "duplicate", "dropped"]
Attempted = Literal["sent", "refused", "failed", "superseded"]
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard to try; a setting, so tests can make a dead receiver cost milliseconds."""

    deadline: float = 30.0  # seconds from the first attempt to giving up
    attempt_timeout: float = 5.0  # per request (connect, read, write, pool)
    base_delay: float = 0.5
    max_delay: float = 8.0

    @property
    def backoff(self) -> Backoff:
        """Between attempts: doubling from ``base_delay`` to ``max_delay``, in the upper half."""
        return Backoff(first=self.base_delay, factor=2.0, cap=self.max_delay, jitter=0.5)


async def deliver(
    client: httpx.AsyncClient,
    kind: str,
    outgoing: Outgoing,
    policy: DeliveryPolicy,
    *,
    superseded: asyncio.Event,
    rng: random.Random,
) -> Attempted:
    """POST ``outgoing`` until it is accepted, refused, superseded or out of time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.deadline
    fields = {"target": kind, "url": outgoing.shown_url, "notification": outgoing.letter.what}
    attempt = 0
    while True:
        attempt += 1
        final, reason, retry_after = await _attempt(client, outgoing, deadline - loop.time())
        if final is not None:
            if final == "sent":
                log.debug("notification sent", attempts=attempt, **fields)
            else:
                log.warning("notification refused", reason=reason, attempts=attempt, **fields)
            return final
        if superseded.is_set():
            return "superseded"
        wait = policy.backoff.delay(attempt, rng) if retry_after is None else retry_after
        if loop.time() + wait >= deadline:
            log.warning(
                "notification not sent before its deadline",
                reason=reason,
                attempts=attempt,
                deadline_s=policy.deadline,
                **fields,
            )
            return "failed"
        log.info("notification will be retried", reason=reason, attempt=attempt, **fields)
        try:
            async with asyncio.timeout(wait):
                await superseded.wait()
        except TimeoutError:
            continue
        return "superseded"


async def _attempt(
    client: httpx.AsyncClient, outgoing: Outgoing, remaining: float
) -> tuple[Attempted | None, str, float | None]:
    """One POST: (final result or None to retry, a secret-free reason, Retry-After seconds)."""
    try:
        async with asyncio.timeout(max(remaining, 0.001)):
            response = await client.post(
                outgoing.url, content=outgoing.letter.body, headers=dict(outgoing.headers)
            )
    except httpx.UnsupportedProtocol as exc:
        return "refused", type(exc).__name__, None
    except (TimeoutError, httpx.TransportError) as exc:
        return None, type(exc).__name__, None  # the class only: the text may quote the URL
    except Exception as exc:  # noqa: BLE001 - a notification must never break a sync
        return "refused", type(exc).__name__, None
    if response.is_success:
        return "sent", f"HTTP {response.status_code}", None
    reason = f"HTTP {response.status_code}"
    if response.status_code not in _RETRYABLE:
        return "refused", reason, None
    return None, reason, _retry_after(response)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date, or nonsense: our own backoff instead

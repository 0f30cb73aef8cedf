"""When to try again: the retry budget, the server's ``Retry-After``, a global rate.

The delays themselves are the project's one ``Backoff``; these are settings-shaped values so
tests and chaos runs tune them without touching the client.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from faas_gitops.backoff import Backoff


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries, and the delays between them: doubling from ``base_delay`` up to
    ``max_delay``, each drawn from the upper half (``Backoff`` with ``jitter=0.5``); a setting,
    so tests and chaos runs tune it."""

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    @property
    def backoff(self) -> Backoff:
        """The delay schedule between tries."""
        return Backoff(first=self.base_delay, factor=2.0, cap=self.max_delay, jitter=0.5)

    def wait_for(self, attempt: int, rng: random.Random, response: httpx.Response | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (from 1): the backoff delay,
        stretched to the server's ``Retry-After`` (within a cap)."""
        delay = self.backoff.delay(attempt, rng)
        retry_after = retry_after_of(response) if response is not None else None
        if retry_after is not None:
            delay = min(self.max_retry_after, max(delay, retry_after))
        return delay


PROBE_RETRY = RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=0.75, max_retry_after=1.0)
"""The first call of a run: a wrong or dead URL is told within about a second, not after 10."""


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: rare enough that our own backoff is good enough


class RateLimiter:
    """A global request rate shared by all packages of a run: 1,000 stay under ``--max-rps``.

    Each request gets the next free slot, ``1 / rate`` seconds after the previous one (a GCRA,
    the scheduling form of a token bucket), so the average is exactly ``rate`` even when the
    event loop wakes a little late. Idle time is banked for at most ``burst`` requests (default
    one: no burst). A bucket holding a second's worth would let the first second carry twice
    the rate (the burst, then the refill), which is what an API counting requests per second
    throttles.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._banked = (max(1.0, burst) - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next = clock()

    async def acquire(self) -> None:
        now = self._clock()
        slot = max(self._next, now - self._banked)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)

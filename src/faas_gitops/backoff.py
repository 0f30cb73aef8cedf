"""How long to wait before trying again: the one backoff schedule, and pacing to a deadline.

Every retrying or polling loop of the project (API calls, notifications, the daemon after a
failed sync, the deployment stage's tries and polls) waits by a ``Backoff``: a first delay that
grows by a factor up to a cap, optionally jittered. Which errors are retried, and a server's
``Retry-After``, stay with each caller: that is sorting errors, not backoff.

``Backoff`` is a pure value (tested with tables, no clock); ``Pacer`` is the one async loop
helper, sleeping the schedule's delays until a deadline, with the clock and the sleep injected
so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays ``first``, ``first x factor``, ``first x factor²`` ... never above ``cap``.

    ``jitter`` is the share of each delay drawn at random, so that many clients failing
    together do not retry together: 0 waits exactly the schedule, 0.5 a uniform draw from
    the upper half of it, 1 "full jitter" (anything from zero to the delay). A jittered
    delay needs a random source, passed to each call so tests seed it.
    """

    first: float
    factor: float = 2.0
    cap: float = math.inf
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.first < 0 or self.cap < 0:
            raise ValueError("backoff delays cannot be negative")
        if self.factor < 1:
            raise ValueError("a backoff factor below 1 would shrink the delays")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a share of the delay, from 0 to 1")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay after failed attempt ``attempt`` (counted from 1).

        Grown step by step and stopped at the cap, so it never overflows however many attempts
        failed (a daemon may count thousands), and the figures are the ones a loop multiplying
        its pause each time would get.
        """
        delay = min(self.cap, self.first)
        for _ in range(max(0, attempt - 1)):
            if delay >= self.cap or delay == 0 or self.factor == 1:
                break  # it cannot change any more
            delay = min(self.cap, delay * self.factor)
        return delay

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay after failed attempt ``attempt`` (from 1), jittered when asked to be.

        ``rng`` is used only when ``jitter`` is set (and then required): an un-jittered
        schedule draws nothing, so sharing a seeded source with other users changes nothing.
        """
        return self._jittered(self.ceiling(attempt), rng)

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The same delays one after another (``delay(1)``, ``delay(2)`` ...), without end."""
        ceiling = min(self.cap, self.first)
        while True:
            yield self._jittered(ceiling, rng)
            ceiling = min(self.cap, ceiling * self.factor)

    def _jittered(self, ceiling: float, rng: random.Random | None) -> float:
        if not self.jitter:
            return ceiling
        if rng is None:
            raise ValueError("a jittered backoff needs a random source")
        return rng.uniform(ceiling * (1 - self.jitter), ceiling)


class Pacer:
    """Sleeps a ``Backoff``'s delays between tries until ``deadline`` (on ``clock``).

    Each ``pause`` sleeps the next delay, cut short to what is left before the deadline, and
    says ``False`` without sleeping once the deadline has passed: the caller's "give up".
    """

    def __init__(
        self,
        schedule: Backoff,
        *,
        deadline: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.deadline = deadline
        self._clock = clock
        self._sleep = sleep
        self._delays = schedule.delays(rng)

    async def pause(self) -> bool:
        """Sleep before the next try; ``False`` (no sleep) once the deadline has passed."""
        remaining = self.deadline - self._clock()
        if remaining <= 0:
            return False
        await self._sleep(min(next(self._delays), remaining))
        return True


__all__ = ["Backoff", "Clock", "Pacer", "Sleep"]

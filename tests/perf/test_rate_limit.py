"""``--max-rps``: one shared schedule for every request of a run, with no burst on top."""

from __future__ import annotations

import asyncio
import time

from faas_gitops.api import RateLimiter


async def start_times(limiter: RateLimiter, requests: int, workers: int) -> list[float]:
    """``requests`` acquisitions spread over ``workers`` concurrent tasks; when each began."""
    times: list[float] = []
    queue = list(range(requests))

    async def worker() -> None:
        while queue:
            queue.pop()
            await limiter.acquire()
            times.append(time.monotonic())

    await asyncio.gather(*(worker() for _ in range(workers)))
    return sorted(times)


def busy(seconds: float) -> None:
    """Hold the event loop like a CPU-bound step would."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def test_concurrent_requests_share_one_rate_without_a_first_second_burst() -> None:
    times = asyncio.run(start_times(RateLimiter(100.0), requests=40, workers=8))

    # 40 slots 10 ms apart: the first at once, the last about 390 ms later, never sooner.
    elapsed = times[-1] - times[0]
    assert 0.38 <= elapsed < 0.6
    # No burst: the first ten requests alone already take about 90 ms.
    assert times[9] - times[0] >= 0.085


def test_a_late_wake_up_does_not_lower_the_average_rate() -> None:
    limiter = RateLimiter(200.0)

    async def scenario() -> float:
        started = time.monotonic()
        for _ in range(100):
            await limiter.acquire()
            busy(0.001)  # the event loop is busy elsewhere: every wake-up is late
        return time.monotonic() - started

    # 100 slots 5 ms apart end after ~0.5 s; a bucket that forgot late time would need 0.6 s.
    assert asyncio.run(scenario()) < 0.56


def test_idle_time_is_banked_only_up_to_the_burst() -> None:
    limiter = RateLimiter(10.0, burst=3)

    async def scenario() -> list[float]:
        await asyncio.sleep(0.5)  # idle long enough to bank far more than three requests
        return await start_times(limiter, requests=5, workers=5)

    times = asyncio.run(scenario())

    assert times[2] - times[0] < 0.05  # three at once: the banked burst
    assert times[3] - times[0] >= 0.09  # then the rate again

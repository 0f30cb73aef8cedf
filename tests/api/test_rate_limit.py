"""``--max-rps``: one shared schedule for every request of a run, with no burst on top."""

from __future__ import annotations

import asyncio
import time

import pytest

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


@pytest.mark.slow
def test_concurrent_requests_share_one_rate_without_a_first_second_burst() -> None:
    times = asyncio.run(start_times(RateLimiter(100.0), requests=40, workers=8))

    # 40 slots 10 ms apart: the first at once, the last about 390 ms later, never sooner.
    elapsed = times[-1] - times[0]
    assert 0.38 <= elapsed < 0.6
    # No burst: the first ten requests alone already take about 90 ms.
    assert times[9] - times[0] >= 0.085


def test_a_late_wake_up_does_not_lower_the_average_rate() -> None:
    """On a fake clock every wake-up is 1 ms late (the loop is busy elsewhere): the slots
    still follow the schedule, so the average rate stays exactly the one asked for."""
    now = [0.0]

    async def late_sleep(seconds: float) -> None:
        now[0] += seconds + 0.001

    limiter = RateLimiter(200.0, clock=lambda: now[0], sleep=late_sleep)

    async def scenario() -> None:
        for _ in range(101):
            await limiter.acquire()

    asyncio.run(scenario())
    # 100 intervals of 5 ms end at 0.5 s (+ the last wake-up's lateness); a limiter that
    # restarted its schedule at each late wake-up would end at 0.6 s.
    assert now[0] == pytest.approx(0.501, abs=1e-9)


@pytest.mark.slow
def test_idle_time_is_banked_only_up_to_the_burst() -> None:
    limiter = RateLimiter(10.0, burst=3)

    async def scenario() -> list[float]:
        await asyncio.sleep(0.5)  # idle long enough to bank far more than three requests
        return await start_times(limiter, requests=5, workers=5)

    times = asyncio.run(scenario())

    assert times[2] - times[0] < 0.05  # three at once: the banked burst
    assert times[3] - times[0] >= 0.09  # then the rate again

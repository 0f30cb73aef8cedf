"""Time that moves only when slept, for tests of deadlines and schedules that must not wait."""

from __future__ import annotations

import asyncio


class FakeClock:
    """``clock()`` reads the time; ``await clock.sleep(s)`` moves it on by ``s`` at once, notes
    the pause in ``sleeps`` and yields to the event loop, as a real sleep would."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

"""Store time: the API's timestamp format and a creation clock that never repeats a value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def format_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as the API prints ``createdDttm``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


class Ticker:
    """Strictly increasing creation times in epoch ms, so ``createdDttm`` orders objects."""

    def __init__(self, clock: Callable[[], float], last_ms: int = 0) -> None:
        self._clock = clock
        self.last_ms = last_ms

    def now_ms(self) -> int:
        """The wall clock (not advanced): what deployment transitions are measured against."""
        return round(self._clock() * 1000)

    def tick(self) -> int:
        """The next creation time: now, or 1 ms after the previous one."""
        self.last_ms = max(self.now_ms(), self.last_ms + 1)
        return self.last_ms

"""``synced 17/40 packages…`` on stderr, so a long sync is visibly alive; never on stdout.

On a terminal, one line redrawn in place (``\\r``, erased to the end of the line), throttled so
a 1,000-package warm sync does not spend its time drawing; the log module erases it before it
writes a line and the next update draws it again. Not on a terminal (CI), only when asked
(``--progress``): plain lines every ~10 % or every 2 s, whichever comes first. Otherwise
nothing at all, so a pipe or a CI log carries no control characters.
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable
from typing import TextIO

from faas_gitops import logs
from faas_gitops.logs import printable

_ERASE = "\r\x1b[K"
_REDRAW_S = 0.1
_PLAIN_EVERY_S = 2.0
_PLAIN_FRACTION = 0.1
_MAX_PATH = 40

_drawn_on: weakref.WeakSet[TextIO] = weakref.WeakSet()  # streams with a progress line drawn now


def clear_line(stream: TextIO) -> None:
    """Erase a progress line drawn on ``stream``, before someone else writes a line there."""
    if stream in _drawn_on:
        _drawn_on.discard(stream)
        stream.write(_ERASE)


logs.before_write.append(clear_line)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


class Progress:
    """``start(total)``, ``advance(path)`` per finished package, ``finish()`` once.

    ``enabled=False`` (``--quiet``) draws nothing; ``plain=True`` (``--progress``) prints
    plain lines when the stream is not a terminal.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool = True,
        plain: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock or time.monotonic
        out = self.stream
        self._tty = enabled and _isatty(out)
        self._plain = enabled and plain and not self._tty
        self._total = 0
        self._done = 0
        self._last_path = ""
        self._last_drawn = float("-inf")
        self._last_plain_count = 0

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    @property
    def active(self) -> bool:
        return self._tty or self._plain

    def start(self, total: int) -> None:
        self._total, self._done = total, 0
        self._last_drawn = self._clock()
        self._last_plain_count = 0
        if self._tty and total:
            self._draw()

    def advance(self, path: str = "") -> None:
        self._done += 1
        self._last_path = path
        now = self._clock()
        if self._tty:
            if now - self._last_drawn >= _REDRAW_S or self._done == self._total:
                self._last_drawn = now
                self._draw()
        elif self._plain and self._plain_due(now):
            self._last_drawn, self._last_plain_count = now, self._done
            self._write(f"{self._phrase()}\n")

    def finish(self) -> None:
        """Erase the terminal line (the result follows on stdout); plain mode: a final line."""
        if self._tty:
            clear_line(self.stream)
            self.stream.flush()
        elif self._plain and self._total and self._last_plain_count != self._done:
            self._last_plain_count = self._done
            self._write(f"{self._phrase()}\n")

    def _plain_due(self, now: float) -> bool:
        step = max(1, round(self._total * _PLAIN_FRACTION))
        return (
            self._done - self._last_plain_count >= step
            or now - self._last_drawn >= _PLAIN_EVERY_S
            or self._done == self._total
        )

    def _phrase(self) -> str:
        noun = "package" if self._total == 1 else "packages"
        return f"synced {self._done}/{self._total} {noun}"

    def _draw(self) -> None:
        path = printable(self._last_path)
        if len(path) > _MAX_PATH:
            path = "…" + path[-(_MAX_PATH - 1) :]
        suffix = f"  {path}" if path else ""
        self._write(f"{_ERASE}{self._phrase()}…{suffix}")
        _drawn_on.add(self.stream)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

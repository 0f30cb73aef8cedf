"""File descriptors: name their exhaustion for what it is, and say it once.

When a process runs out of file descriptors every later failure looks like something else: git
cannot open ``.git`` and says "not a git repository", SQLite cannot open its file, ``accept()``
fails in a tight loop and asyncio prints a traceback per attempt. ``describe_os_error`` turns
such an error into one line that names the real cause and the fix; ``out_of_fds_hint`` does the
same for a failure whose message (git's stderr) no longer carries the errno; ``OnceEvery``
keeps a repeated identical error to one log line per interval.
"""

from __future__ import annotations

import errno
import resource
import time
from collections.abc import Callable
from pathlib import Path

#: The errors that mean "no descriptor left": in this process (EMFILE) or system-wide (ENFILE).
FD_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})
#: How close to its limit a process must be for a vague failure to be blamed on descriptors.
FD_MARGIN = 16


def fd_limit() -> int:
    """The soft ``RLIMIT_NOFILE`` of this process (what ``ulimit -n`` shows)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def open_fds() -> int | None:
    """Descriptors this process has open, or None where ``/proc`` is not available."""
    try:
        return sum(1 for _ in Path("/proc/self/fd").iterdir())
    except OSError:
        return None


def out_of_fds_message(limit: int | None = None) -> str:
    used = open_fds()
    limit = fd_limit() if limit is None else limit
    usage = f"{used} of {limit} in use" if used is not None else f"limit {limit}"
    return (
        f"the process ran out of file descriptors ({usage}): raise its limit (ulimit -n, or "
        "the container's nofile limit) or reduce the connections to it"
    )


def describe_os_error(exc: BaseException) -> str | None:
    """One line naming descriptor exhaustion if ``exc`` (or what caused it) is EMFILE/ENFILE.

    Returns None for every other error, so callers keep their own message for those.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FD_ERRNOS:
            return out_of_fds_message()
        if "Too many open files" in str(current):
            return out_of_fds_message()
        current = current.__cause__ or current.__context__
    return None


def out_of_fds_hint(message: str) -> str:
    """``message``, or the descriptor line when this process is at its limit right now.

    For failures of a child process (git) whose stderr blames something else: git that cannot
    open files says "not a git repository", which sends people looking at the wrong thing.
    """
    used = open_fds()
    if used is not None and used >= fd_limit() - FD_MARGIN:
        return f"{out_of_fds_message()} (git said: {message})"
    return message


class OnceEvery:
    """Lets one message per key through per ``interval`` seconds, counting the rest.

    ``allow(key)`` returns None to stay quiet, or how many were suppressed since the last one
    that was let through (0 the first time), for a ``suppressed=N`` field.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)

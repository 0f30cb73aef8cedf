"""What only a whole ``faas-gitops`` process does: the garbage collector set for a short life.

Called by the program's two entry points (``faas-gitops`` and ``python -m faas_gitops.cli``),
never by ``cli.main`` itself, so tests and embedders calling ``main`` in-process keep their own
collector settings.

Why (issue 25, measured on a replayed 1,000-package in-sync run): with CPython's default
thresholds (700, 10, 10) a sync spent ~0.3 s in the cyclic collector, ~320 young collections
and two full ones, each full one traversing every module, class and function imported at
start-up; and the interpreter's finalisation, which collects again while it tears down ~600
modules, took another ~0.2 s after the result was already printed. Reference counting frees
almost everything a sync allocates; the collector is only needed for the cycles asyncio and
httpx leave behind (exceptions and their tracebacks, finished tasks), which it still finds.
"""

from __future__ import annotations

import gc

#: Young collections every 10,000 net allocations instead of 700: 14x fewer passes over what a
#: request leaves behind; the cycles among them still go within a few requests (the run's
#: memory held, see BENCHMARKS.md, issue 25).
YOUNG_THRESHOLD = 10_000


def start() -> None:
    """Collect young objects less often for the rest of this process (older generations keep
    their default ratios, so a full pass stays as rare relative to young ones as before)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def finish(code: int) -> int:
    """``code``, after moving every live object out of the collector's reach: the process is
    about to exit, and the finaliser's collections would only traverse what exit frees anyway.
    Files and sockets are still closed and ``atexit`` handlers still run."""
    gc.freeze()
    return code


__all__ = ["YOUNG_THRESHOLD", "finish", "start"]

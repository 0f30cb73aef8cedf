"""Run ``faas_gitops.cli`` and, at exit, write the process's own peak RSS (``VmHWM``, MB).

    FAAS_BENCH_PEAK_FILE=/tmp/peak python -m benchmarks.peak --sync-once ...

Why not ``ru_maxrss`` from ``wait4``: it is the maximum over the process *and every child it
reaped*, and on Linux a child's figure starts from its parent's RSS at ``fork`` (the kernel
folds the pre-``exec`` memory in), so it reported 148 MB for a warm 1,000-package run whose
own high-water mark was 60 MB. ``VmHWM`` in ``/proc/self/status`` is the process's own peak.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _write_peak() -> None:
    target = os.environ.get("FAAS_BENCH_PEAK_FILE")
    if target:
        Path(target).write_text(f"{_peak_mb():.1f}\n")


if __name__ == "__main__":
    atexit.register(_write_peak)
    sys.argv = ["faas-gitops", *sys.argv[1:]]
    runpy.run_module("faas_gitops.cli", run_name="__main__")

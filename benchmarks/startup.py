"""Start-up: from spawning ``faas-gitops --sync-once`` to its first request arriving (issue 15).

    python -m benchmarks.startup [--runs 9] [--packages 1]

A synthetic repository of ``--packages`` packages, the emulator on loopback in this process
(no latency), and the reconciler spawned ``--runs`` times with a fresh state dir each time.
``first_request_s`` is the time from ``Popen`` to the emulator seeing the run's first request
(the probe); its median and minimum over the runs are printed as one JSON document, with the
whole run's wall time. What the interpreter imports on the way is shown by
``python -X importtime -m faas_gitops.cli --sync-once ...``.

``libraries_import_median_s`` is the floor under all of that: spawning the same interpreter to
import only the libraries a sync cannot do without (asyncio, httpx with the httpcore and anyio
it loads for its first connection, pydantic, GitPython, PyYAML, structlog, sqlite3), measured the
same way. What a start-up costs above it is faas-gitops's own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.sync import API_KEY, _env, instrument
from benchmarks.synthetic import SyntheticRepo, seed_packages
from faas_gitops import logs
from faas_gitops.emulator import EmulatorConfig, serve_in_thread

#: What any sync must import before its first request, and nothing of faas-gitops.
LIBRARIES = "import asyncio, httpx, httpcore, anyio, pydantic, git, yaml, structlog, sqlite3"


def libraries_import_s(runs: int) -> list[float]:
    """Wall time of spawning the interpreter to import ``LIBRARIES`` (after one warm-up)."""
    times: list[float] = []
    for run in range(runs + 1):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", LIBRARIES], check=True, env=_env())
        if run:
            times.append(time.monotonic() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--packages", type=int, default=1)
    args = parser.parse_args(argv)
    logs.configure("warning", "console")
    firsts: list[float] = []
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="faas-gitops-startup-") as scratch:
        work = Path(scratch)
        repo = SyntheticRepo(work / "repo", args.packages, 3, 4096)
        repo.commit("Synthetic packages")
        with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emulator:
            arrivals = instrument(emulator)
            seed_packages(emulator.store, args.packages)
            for run in range(args.runs + 1):  # the first run only warms the page cache
                arrivals.reset()
                argv_ = [
                    sys.executable, "-m", "faas_gitops.cli", "--sync-once",
                    "--repo", str(work / "repo"), "--api-url", emulator.url,
                    "--state-dir", str(work / f"state-{run}"), "--output", "json",
                ]  # fmt: skip
                started = time.monotonic()
                code = subprocess.call(
                    argv_, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
                )
                wall = time.monotonic() - started
                if code != 0:
                    raise SystemExit(f"benchmark: the reconciler exited {code}")
                if run:
                    firsts.append(arrivals.arrived[0] - started)
                    walls.append(wall)
    document = {
        "scenario": "startup",
        "packages": args.packages,
        "runs": args.runs,
        "first_request_median_s": round(statistics.median(firsts), 3),
        "first_request_min_s": round(min(firsts), 3),
        "wall_median_s": round(statistics.median(walls), 3),
        "libraries_import_median_s": round(statistics.median(libraries_import_s(args.runs)), 3),
        "bytecode_cached": "PYTHONDONTWRITEBYTECODE" not in os.environ,
    }
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the read worker costs on its own core: start, CPU and memory of reading a whole commit.

    python -m benchmarks.read_worker --repo PATH [--ref HEAD] [--chunk 64]
    {"packages": 1000, "ready_s": ..., "wall_s": ..., "child_cpu_s": ..., "child_peak_rss_mb": ...}

Runs ``python -m faas_gitops.source.read_worker`` as a sync does (the same frames over its
pipes, in the sync's chunk size) and reaps it with ``wait4``: ``child_cpu_s`` includes its
``git cat-file`` children; ``ready_s`` is the time to its first frame (imports, repository
opened), during which a sync's git thread reads the first chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from faas_gitops.source import Repository
from faas_gitops.source.limits import DEFAULT_LIMITS
from faas_gitops.source.read_worker import READY, read_frame, write_frame


def measure(repo: Path, ref: str, chunk: int) -> dict[str, float | int]:
    with Repository(repo) as source:
        refs = source.package_refs(source.resolve(ref).sha)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "faas_gitops.source.read_worker", str(repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None  # noqa: PT018
    if read_frame(child.stdout) != READY:
        raise SystemExit("the read worker did not start")
    ready = time.monotonic() - started
    packages = 0
    for start in range(0, len(refs), chunk):
        write_frame(child.stdin, (refs[start : start + chunk], DEFAULT_LIMITS))
        answer = read_frame(child.stdout)
        assert isinstance(answer, tuple)
        packages += len(answer[1])
    child.stdin.close()
    _, _, usage = os.wait4(child.pid, 0)
    return {
        "packages": packages,
        "ready_s": round(ready, 3),
        "wall_s": round(time.monotonic() - started, 3),
        "child_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "child_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--chunk", type=int, default=64)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.repo, args.ref, args.chunk)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU cost of reading the desired state of a commit, cold (a fresh process, no caches).

    python -m benchmarks.read_cpu --repo PATH [--ref HEAD]
    {"packages": 1000, "cpu_s": ..., "git_cpu_s": ..., "wall_s": ...}

``cpu_s`` is this process's CPU time spent in ``GitSource.resolve`` + ``read_desired``;
``git_cpu_s`` is what the ``git`` children (``cat-file --batch``, ``rev-parse``) used;
``known_trees_cpu_s`` is a second read in a fresh ``GitSource`` with every package already known
by its (path, tree id): the cost of recognising unchanged directories without reading files.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from faas_gitops import logs
from faas_gitops.source import GitSource, PackageCache


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--ref", default="HEAD")
    args = parser.parse_args()
    logs.configure("warning", "console")  # stdout carries only the JSON result
    wall = time.monotonic()
    cpu = time.process_time()
    cache: PackageCache = {}
    with GitSource(args.repo) as source:
        commit = source.resolve(args.ref)
        desired = source.read_desired(commit, cache=cache)
        cpu_s = time.process_time() - cpu
        wall_s = time.monotonic() - wall
    # The same commit again in a fresh GitSource, every package known by (path, tree id): what
    # recognising unchanged directories by tree id alone costs (trees walked, no file read).
    cpu = time.process_time()
    with GitSource(args.repo) as source:
        source.read_desired(source.resolve(args.ref), cache=cache)
        known_cpu_s = time.process_time() - cpu
    # The git children are reaped by close(); only then is their CPU time accounted.
    document = {
        "packages": len(desired.packages),
        "failures": len(desired.failures),
        "cpu_s": round(cpu_s, 3),
        "git_cpu_s": round(_children_cpu(), 3),
        "wall_s": round(wall_s, 3),
        "known_trees_cpu_s": round(known_cpu_s, 3),
    }
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

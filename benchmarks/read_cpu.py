"""CPU cost of reading the desired state of a commit, cold (a fresh process, no caches).

    python -m benchmarks.read_cpu --repo PATH [--ref HEAD]
    {"packages": 1000, "cpu_s": ..., "git_cpu_s": ..., "wall_s": ...}

``cpu_s`` is this process's CPU time for what a cold sync does in its git thread: resolve the
ref, walk the tree for package refs, and read every package in the sync's chunks
(``Repository.read_packages``); ``git_cpu_s`` is what the ``git`` children used.
``known_trees_cpu_s`` is the walk alone in a fresh ``Repository``: what a warm sync pays when
every directory is known by its tree id (nothing is read).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from faas_gitops import logs
from faas_gitops.models import DesiredPackage
from faas_gitops.reconcile.run import read_chunks
from faas_gitops.source import Repository


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
    with Repository(args.repo) as source:
        refs = source.package_refs(source.resolve(args.ref))
        items = [item for chunk in read_chunks(refs) for item in source.read_packages(chunk)]
        cpu_s = time.process_time() - cpu
        wall_s = time.monotonic() - wall
    cpu = time.process_time()
    with Repository(args.repo) as source:
        source.package_refs(source.resolve(args.ref))
        known_cpu_s = time.process_time() - cpu
    # The git children are reaped by close(); only then is their CPU time accounted.
    packages = sum(isinstance(item, DesiredPackage) for item in items)
    document = {
        "packages": packages,
        "failures": len(items) - packages,
        "cpu_s": round(cpu_s, 3),
        "git_cpu_s": round(_children_cpu(), 3),
        "wall_s": round(wall_s, 3),
        "known_trees_cpu_s": round(known_cpu_s, 3),
    }
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Commit-to-revision latency of the daemon watching a local repository.

Starts the emulator in this process and ``faas-gitops`` (daemon mode) as a subprocess on a
fresh repository of the sample packages, then makes N commits, one at a time. For each, it
measures from ``git commit`` returning to the new revision being in the emulator's store, and
prints one JSON document:

    python -m benchmarks.daemon_latency [--commits 10]
    {"commits": 10, "p50_s": ..., "p95_s": ..., "max_s": ..., "samples_s": [...]}

The safety poll is pushed out to an hour so that only the file watcher can be what found the
commit. The target is under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from faas_gitops import logs
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_REPO = ROOT / "sample-repo"
PACKAGE_ID = "550e8400-e29b-41d4-a716-446655440000"  # chat-moderation in the sample repo
API_KEY = "sk-benchmark-0123456789"
TIMEOUT_S = 30.0


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Benchmark",
        "GIT_AUTHOR_EMAIL": "benchmark@example.com",
        "GIT_COMMITTER_NAME": "Benchmark",
        "GIT_COMMITTER_EMAIL": "benchmark@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: timed out waiting for {what}")
        time.sleep(0.002)


def revision_names(emulator: RunningEmulator) -> set[str]:
    return {revision["name"] for revision in emulator.store.revisions(PACKAGE_ID)}


def has_revision(emulator: RunningEmulator, name: str) -> bool:
    return name in revision_names(emulator)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def run(commits: int, work: Path) -> dict[str, object]:
    repo = work / "repo"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns("faas-gitops.yaml"))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "Import the sample packages")
    log_path = work / "daemon.log"
    with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        env = {**os.environ, "FAAS_API_KEY": API_KEY}
        argv = [
            sys.executable, "-m", "faas_gitops.cli",
            "--repo", str(repo),
            "--api-url", emulator.url,
            "--state-dir", str(work / "state"),
            "--listen", "127.0.0.1:0",
            "--log-format", "json",
            "--interval", "3600",
            "--resync-interval", "3600",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            daemon = subprocess.Popen(argv, stderr=log, stdout=subprocess.DEVNULL, env=env)
        try:
            first = git(repo, "rev-parse", "HEAD")[:12]
            wait_for(lambda: first in revision_names(emulator), "the first sync")
            time.sleep(0.5)  # the watcher is placed while the first sync runs; be sure
            samples: list[float] = []
            target = repo / "chat-moderation" / "audit-log.js"
            original = target.read_text()
            for number in range(commits):
                target.write_text(f"{original}\n// benchmark commit {number}\n")
                git(repo, "commit", "--quiet", "--all", "-m", f"Benchmark commit {number}")
                committed = time.monotonic()
                name = git(repo, "rev-parse", "HEAD")[:12]
                wait_for(partial(has_revision, emulator, name), f"commit {number}")
                samples.append(time.monotonic() - committed)
                time.sleep(0.2)  # commits a person makes are apart; do not measure collapsing
        finally:
            daemon.terminate()
            daemon.wait(30)
    return {
        "commits": commits,
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(percentile(samples, 0.95), 3),
        "max_s": round(max(samples), 3),
        "samples_s": [round(sample, 3) for sample in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10)
    args = parser.parse_args()
    logs.configure("warning", "console")  # stdout carries only the JSON result
    with tempfile.TemporaryDirectory(prefix="faas-gitops-bench-") as work:
        result = run(args.commits, Path(work))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a rollback costs in an incident: requests and seconds, from the command to the hold.

    python -m benchmarks.rollback [--revisions 5] [--packages 20] [--latency-ms 20] \\
        [--deploy-delay-ms 500]

Builds a synthetic repository (``benchmarks/synthetic.py``) with a ``faas-gitops.yaml``
(production on ``v*`` tags), serves the emulator with that latency and deployment delay on
loopback in this process, and releases ``--revisions`` tags of package 0 to production, each a
real ``--sync-once`` (so the package has that many revisions, each deployed once). Then it runs,
each as a separate process (``benchmarks.peak``: its own wall time and peak RSS):

1. ``rollback``: ``faas-gitops rollback <package> --environment production`` (the revision
   that ran before);
2. ``resync-held``: a ``--sync-once`` of the newest tag with a fresh state dir (a CI runner):
   what the hold costs a sync (it must write nothing);
3. ``release``: ``rollback --release``;
4. ``rollback-to-first``: ``rollback --to v1`` (the oldest revision).

Prints one JSON document per scenario: requests by endpoint, their total, the wall time, and
the API floor for them (``requests x latency``: a rollback's requests are sequential) plus the
deployment delay it must wait out. Nothing is asserted: it reports.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.sync import API_KEY, Options, Process, _env, _events, _reap, instrument
from benchmarks.synthetic import SyntheticRepo, count_by_endpoint, package_path, seed_packages
from faas_gitops import logs
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator

PRODUCTION_KEYSET = 498765
POLICY = b'environments:\n  production:\n    keysetId: 498765\n    tags: ["v*"]\n'


@dataclass(slots=True)
class ReleasedRepo(SyntheticRepo):
    """The synthetic repository with an environment policy at its root."""

    def files(self) -> dict[str, bytes]:
        return {**SyntheticRepo.files(self), "faas-gitops.yaml": POLICY}


def _options(args: argparse.Namespace, work: Path) -> Options:
    return Options(
        packages=args.packages,
        functions=3,
        code_bytes=1024,
        latency_ms=args.latency_ms,
        concurrency=8,
        revision_list_code="omit",
        max_rps=None,
        resync_interval=600.0,
        profile=None,
        scenarios=set(),
        work=work,
        daemon=False,
    )


def run_command(
    opts: Options, emulator: RunningEmulator, state: Path, command: list[str]
) -> Process:
    """``faas-gitops <command>`` (a subcommand first, or sync flags) in its own process."""
    subcommand = bool(command) and not command[0].startswith("-")
    argv = [*command] if subcommand else ["--sync-once", *command]
    argv += [
        "--repo", str(opts.work / "repo"),
        "--api-url", emulator.url,
        "--state-dir", str(state),
        "--output", "json",
        "--log-format", "json",
    ]  # fmt: skip
    out, err = opts.work / "stdout.json", opts.work / "stderr.log"
    peak_file = opts.work / "peak.txt"
    peak_file.unlink(missing_ok=True)
    env = {**_env(), "FAAS_BENCH_PEAK_FILE": str(peak_file)}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.peak", *argv], stdout=stdout, stderr=stderr, env=env
        )
        code, wall, cpu, rss = _reap(process, started)
    own = float(peak_file.read_text()) if peak_file.exists() else rss
    return Process(code, wall, cpu, own, out.read_text(), _events(err), rss)


def _run(  # noqa: PLR0917 - one call site
    name: str,
    opts: Options,
    emulator: RunningEmulator,
    arrivals: Any,
    argv: list[str],
    state: Path,
) -> dict[str, Any]:
    emulator.clear_requests()
    arrivals.reset()
    process = run_command(opts, emulator, state, argv)
    requests = count_by_endpoint(emulator.requests)
    total = sum(requests.values())
    return {
        "scenario": name,
        "exit_code": process.exit_code,
        "requests": requests,
        "requests_total": total,
        "writes": sum(n for key, n in requests.items() if not key.startswith("GET ")),
        "wall_s": round(process.wall_s, 3),
        "api_phase_s": round(arrivals.api_phase_s(), 3),
        "sequential_floor_s": round(total * opts.latency_ms / 1000, 3),
        "peak_rss_mb": round(process.peak_rss_mb, 1),
        "stdout": json.loads(process.stdout) if process.stdout.strip() else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rollback")
    parser.add_argument("--revisions", type=int, default=5)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--deploy-delay-ms", type=int, default=500)
    args = parser.parse_args(argv)
    logs.configure("warning", "json")
    with tempfile.TemporaryDirectory(prefix="faas-rollback-") as tmp:
        work = Path(tmp)
        opts = _options(args, work)
        repo = ReleasedRepo(work / "repo", args.packages)
        config = EmulatorConfig(
            api_key=API_KEY,
            latency_ms=args.latency_ms,
            deploy_delay_ms=args.deploy_delay_ms,
            max_running_deployments=args.packages + 10,
        )
        with serve_in_thread(config) as emulator:
            seed_packages(emulator.store, args.packages)
            arrivals = instrument(emulator)
            state = work / "state"
            for version in range(1, args.revisions + 1):
                if version > 1:
                    repo.change([0])
                repo.commit(f"release {version}")
                repo.git("tag", f"v{version}", "refs/heads/main")
                done = run_command(opts, emulator, state, ["--ref", f"v{version}"])
                if done.exit_code != 0:
                    print(f"release v{version} failed: exit {done.exit_code}", file=sys.stderr)
                    return 1
            package = package_path(0)
            rollback = ["--environment", "production"]
            for name, extra, state_dir in (
                ("rollback", ["rollback", package, *rollback], state),
                ("resync-held", ["--ref", f"v{args.revisions}"], work / "fresh-state"),
                ("release", ["rollback", "--release", package, *rollback], state),
                ("rollback-to-first", ["rollback", package, *rollback, "--to", "v1"], state),
            ):
                document = _run(name, opts, emulator, arrivals, list(extra), state_dir)
                document.update(
                    revisions=args.revisions,
                    packages=args.packages,
                    latency_ms=args.latency_ms,
                    deploy_delay_ms=args.deploy_delay_ms,
                )
                print(json.dumps(document, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

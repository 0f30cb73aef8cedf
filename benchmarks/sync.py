"""How close a sync of a large monorepo comes to the API's floor (issue 6).

    python -m benchmarks.sync --packages 1000 --functions 3 --code-bytes 4096 \\
        --latency-ms 20 --concurrency 8 [--revision-list-code omit|include] [--max-rps 200]

Builds a synthetic repository (``benchmarks/synthetic.py``), serves the emulator with that
latency on loopback in this process, and runs the reconciler as a **separate process**
(``python -m faas_gitops.cli`` through ``benchmarks.peak``), so its wall time, CPU time (from
``os.wait4``) and peak RSS (its own ``VmHWM``, see ``benchmarks/peak.py``) are its own. While
a reconciler runs, this process only waits on it (the daemon scenarios poll a log file and the
store every few milliseconds). Prints one JSON document per
scenario:

1. ``cold-equal``: sync-once, remote already equal, no state dir (CI on a fresh runner);
2. ``cold-adopt``: sync-once, every package needs a revision (first adoption);
3. ``warm-one-changed``: one package changed, sync-once with a warm state dir;
   ``daemon-one-changed``: the same through the daemon, with its commit-to-revision latency;
4. ``daemon-resync``: the daemon's drift resync (``full``) with no drift;
5. ``warm-10pct-changed``: 10% of the packages changed, warm state dir;
``env`` (issue 25): the same packages with two environments (``staging`` on ``main``,
   ``production`` on ``v*`` tags; ``main``'s tip is tagged ``v1``, so both are active), in a
   fresh emulator: ``env-release`` (the first release: every revision created and deployed on
   both keysets), ``env-cold-in-sync`` (an empty state dir, everything in sync) with
   ``bare-client-environments`` (the same requests from a bare client),
   ``env-warm-in-sync`` (the state dir of that cold run), ``env-warm-full-resync``
   (``--full-sync``, what the daemon's drift resync does) and ``env-one-change-staging``
   (one package changed in an untagged commit on ``main``: rolled out on staging only);
``env-replayed``: ``env-release``, then only the replayed pairs (``benchmarks/replay_api.py``);
   with ``--before-src DIR`` each pair starts with the reconciler of that source tree (another
   commit's ``src/``), so before and after are measured interleaved on one recording;
plus ``bare-client`` with 1 (the same revision lists from a client that does nothing else, see
``benchmarks/bare_client.py``: the API phase's practical floor here) and
``bare-client-null-api`` (that client against ``benchmarks/null_api.py``, a server that only
waits: the floor of httpx and asyncio on this machine), ``read-desired`` (CPU of
reading the commit) and, with ``--max-rps``, ``cold-equal``
again under the rate limit (``cold-equal-max-rps``).

The floor is ``requests x latency / concurrency``; ``ratio`` is the reconciler's wall time
(process start to exit) over it and ``api_ratio`` the API phase (first request arriving to
last answered, as the emulator saw them) over it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.synthetic import (
    SyntheticRepo,
    count_by_endpoint,
    package_id,
    package_path,
    seed_packages,
)
from faas_gitops import logs
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator

API_KEY = "sk-benchmark-0123456789"
TIMEOUT_S = 600.0


@dataclass(slots=True)
class Options:
    packages: int
    functions: int
    code_bytes: int
    latency_ms: int
    concurrency: int
    revision_list_code: str
    max_rps: float | None
    resync_interval: float
    profile: Path | None
    scenarios: set[str]
    work: Path
    daemon: bool = True
    before_src: Path | None = None


@dataclass(slots=True)
class Arrivals:
    """When requests arrived and were answered, as the emulator saw them (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)

    def reset(self) -> None:
        with self.lock:
            self.arrived.clear()
            self.answered.clear()

    def api_phase_s(self) -> float:
        with self.lock:
            if not self.arrived:
                return 0.0
            return max(self.answered, default=self.arrived[-1]) - self.arrived[0]

    def max_rate_per_s(self) -> int:
        """Most requests that arrived within any one-second window."""
        with self.lock:
            times = sorted(self.arrived)
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] > 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def instrument(emulator: RunningEmulator) -> Arrivals:
    """Time-stamp every request the emulator logs (arrival and answer)."""
    arrivals = Arrivals()
    request_log = emulator.request_log
    arrive, complete = request_log.arrive, request_log.complete

    def timed_arrive() -> int:
        with arrivals.lock:
            arrivals.arrived.append(time.monotonic())
        return arrive()

    def timed_complete(slot: int, record: Any) -> None:
        complete(slot, record)
        with arrivals.lock:
            arrivals.answered.append(time.monotonic())

    setattr(request_log, "arrive", timed_arrive)  # noqa: B010 - instance patch, on purpose
    setattr(request_log, "complete", timed_complete)  # noqa: B010
    return arrivals


@dataclass(slots=True)
class Process:
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    events: list[dict[str, Any]]
    maxrss_mb: float = 0.0  # ru_maxrss from wait4: children included, fork-inflated


def _self_cpu() -> float:
    """CPU time of this process: the emulator's, while the driver only waits on a child."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAAS_", "GIT_"))}
    env.update({"FAAS_API_KEY": API_KEY, "GIT_CONFIG_NOSYSTEM": "1"})
    return env


def _events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _reap(process: subprocess.Popen[bytes], started: float) -> tuple[int, float, float, float]:
    """Wait for the child with ``wait4``: exit code, wall time, CPU time, peak RSS (MB)."""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux; wait4's usage includes the children the process reaped.
    return process.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run_sync_once(
    name: str,
    opts: Options,
    emulator: RunningEmulator,
    state: Path,
    *extra: str,
    repo: Path | None = None,
    api_url: str | None = None,
    src: Path | None = None,
) -> Process:
    out, err = opts.work / "stdout.json", opts.work / "stderr.log"
    profile = ["-m", "cProfile", "-o", str(opts.profile / f"{name}.prof")] if opts.profile else []
    # FAAS_BENCH_PYSPY="py-spy record -f raw -o /tmp/{name}.txt --" samples each scenario.
    spy = os.environ.get("FAAS_BENCH_PYSPY", "").replace("{name}", name).split()
    module = "benchmarks.peak" if not profile else "faas_gitops.cli"
    argv = [
        *spy, sys.executable, *profile, "-m", module,
        "--sync-once",
        "--repo", str(repo or opts.work / "repo"),
        "--api-url", api_url or emulator.url,
        "--state-dir", str(state),
        "--concurrency", str(opts.concurrency),
        "--output", "json",
        "--log-format", "json",
        *extra,
    ]  # fmt: skip
    peak_file = opts.work / "peak.txt"
    peak_file.unlink(missing_ok=True)
    env = {**_env(), "FAAS_BENCH_PEAK_FILE": str(peak_file)}
    if src is not None:  # another source tree of faas_gitops (``--before-src``)
        env["PYTHONPATH"] = os.pathsep.join((str(src), str(Path(__file__).parent.parent)))
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        code, wall, cpu, rss = _reap(process, started)
    own = float(peak_file.read_text()) if peak_file.exists() else rss
    printed = "".join(  # py-spy's own lines share the reconciler's stdout
        line for line in out.read_text().splitlines(keepends=True) if not line.startswith("py-spy>")
    )
    return Process(code, wall, cpu, own, printed, _events(err), rss)


def figures(
    name: str,
    opts: Options,
    emulator: RunningEmulator,
    arrivals: Arrivals,
    *,
    wall_s: float,
    peak_rss_mb: float,
    cpu_s: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    requests = count_by_endpoint(emulator.requests)
    total = sum(requests.values())
    floor = total * opts.latency_ms / 1000 / opts.concurrency
    api = arrivals.api_phase_s()
    document: dict[str, Any] = {
        "scenario": name,
        "packages": opts.packages,
        "functions": opts.functions,
        "code_bytes": opts.code_bytes,
        "latency_ms": opts.latency_ms,
        "concurrency": opts.concurrency,
        "revision_list_code": opts.revision_list_code,
        "requests": requests,
        "requests_total": total,
        "requests_per_package": round(total / opts.packages, 3),
        "wall_s": round(wall_s, 3),
        "api_phase_s": round(api, 3),
        "floor_s": round(floor, 3),
        "ratio": round(wall_s / floor, 2) if floor else None,
        "api_ratio": round(api / floor, 2) if floor else None,
        "max_requests_per_s": arrivals.max_rate_per_s(),
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    if cpu_s is not None:
        document["cpu_s"] = round(cpu_s, 3)
    document.update(extra or {})
    return document


def sync_once_scenario(
    name: str,
    opts: Options,
    emulator: RunningEmulator,
    arrivals: Arrivals,
    state: Path,
    *extra: str,
    repo: Path | None = None,
) -> dict[str, Any]:
    emulator.clear_requests()
    arrivals.reset()
    emulator_cpu = _self_cpu()
    run = run_sync_once(name, opts, emulator, state, *extra, repo=repo)
    emulator_cpu = _self_cpu() - emulator_cpu
    if run.exit_code != 0:
        raise SystemExit(f"benchmark: {name}: reconciler exited {run.exit_code}")
    result = json.loads(run.stdout)
    finished = [e for e in run.events if e.get("event") == "sync.finished"]
    return figures(
        name,
        opts,
        emulator,
        arrivals,
        wall_s=run.wall_s,
        peak_rss_mb=run.peak_rss_mb,
        cpu_s=run.cpu_s,
        extra={
            "sync_duration_s": finished[-1].get("duration_s") if finished else None,
            "summary": result["summary"],
            "max_rps": opts.max_rps if "--max-rps" in extra else None,
            "emulator_cpu_s": round(emulator_cpu, 3),
            "wait4_maxrss_mb": round(run.maxrss_mb, 1),
        },
    )


def bare_client_scenario(
    opts: Options, emulator: RunningEmulator, arrivals: Arrivals, mode: str = "revisions"
) -> dict[str, Any]:
    """``cold-equal``'s revision lists (``environments``: ``env-cold-in-sync``'s requests)
    from ``benchmarks.bare_client``, in its own process."""
    emulator.clear_requests()
    arrivals.reset()
    argv = [
        sys.executable, "-m", "benchmarks.bare_client",
        emulator.url, API_KEY, str(opts.packages), str(opts.concurrency), mode,
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=_env())
    wall = time.monotonic() - started
    own = json.loads(done.stdout)
    return figures(
        "bare-client" if mode == "revisions" else f"bare-client-{mode}",
        opts,
        emulator,
        arrivals,
        wall_s=wall,
        peak_rss_mb=0.0,
        cpu_s=own["cpu_s"],
        extra={"client_wall_s": round(own["wall_s"], 3)},
    )


def null_api_scenario(opts: Options) -> dict[str, Any]:
    """``bare-client`` against ``benchmarks.null_api``: the floor of any httpx client here."""
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.null_api", str(opts.latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        argv = [
            sys.executable, "-m", "benchmarks.bare_client",
            url, API_KEY, str(opts.packages), str(opts.concurrency),
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, check=True, env=_env())
        wall = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    own = json.loads(done.stdout)
    floor = opts.packages * opts.latency_ms / 1000 / opts.concurrency
    return {
        "scenario": "bare-client-null-api",
        "packages": opts.packages,
        "latency_ms": opts.latency_ms,
        "concurrency": opts.concurrency,
        "requests_total": opts.packages,
        "wall_s": round(wall, 3),
        "client_wall_s": round(own["wall_s"], 3),
        "floor_s": round(floor, 3),
        "ratio": round(wall / floor, 2) if floor else None,
        "api_ratio": round(own["wall_s"] / floor, 2) if floor else None,
        "cpu_s": round(own["cpu_s"], 3),
    }


def wait_for(check: Callable[[], bool], what: str, step: float = 0.005) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: timed out waiting for {what}")
        time.sleep(step)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _finished(log: Path, trigger: str) -> list[dict[str, Any]]:
    return [
        e for e in _events(log) if e.get("event") == "sync.finished" and e.get("trigger") == trigger
    ]


@contextmanager
def daemon(opts: Options, emulator: RunningEmulator, state: Path) -> Iterator[Daemon]:
    port = _free_port()
    log = opts.work / "daemon.log"
    argv = [
        sys.executable, "-m", "faas_gitops.cli",
        "--repo", str(opts.work / "repo"),
        "--api-url", emulator.url,
        "--state-dir", str(state),
        "--concurrency", str(opts.concurrency),
        "--listen", f"127.0.0.1:{port}",
        "--log-format", "json",
        "--interval", "3600",
        "--resync-interval", str(opts.resync_interval),
    ]  # fmt: skip
    with log.open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=_env())
    handle = Daemon(process, started, port, log)
    try:
        yield handle
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            handle.reap()


@dataclass(slots=True)
class Daemon:
    process: subprocess.Popen[bytes]
    started: float
    port: int
    log: Path
    peak_rss_mb: float = 0.0

    def reap(self) -> None:
        _, _, _, self.peak_rss_mb = _reap(self.process, self.started)


def daemon_scenarios(
    opts: Options, emulator: RunningEmulator, arrivals: Arrivals, repo: SyntheticRepo, state: Path
) -> list[dict[str, Any]]:
    """Scenario 3 through the daemon (commit to revision), then 4 (a resync with no drift)."""
    documents: list[dict[str, Any]] = []
    with daemon(opts, emulator, state) as handle:
        wait_for(lambda: _ready(handle.port), "the daemon to be ready", step=0.05)
        wait_for(lambda: bool(_finished(handle.log, "startup")), "the startup sync", 0.05)
        time.sleep(0.5)  # the watcher is placed while the first sync runs; be sure
        emulator.clear_requests()
        arrivals.reset()
        index = opts.packages // 2 + 1
        repo.change([index])
        sha = repo.commit("Change one package (daemon)")
        committed = time.monotonic()
        target = package_id(index)

        def landed() -> bool:
            return any(r["name"] == sha[:12] for r in emulator.store.revisions(target))

        wait_for(landed, "the daemon's revision")
        latency = time.monotonic() - committed
        wait_for(lambda: bool(_finished(handle.log, "watch")), "the daemon's sync", 0.02)
        sync = _finished(handle.log, "watch")[-1]
        documents.append(
            figures(
                "daemon-one-changed",
                opts,
                emulator,
                arrivals,
                wall_s=latency,
                peak_rss_mb=0.0,
                extra={
                    "commit_to_revision_s": round(latency, 3),
                    "sync_duration_s": sync.get("duration_s"),
                },
            )
        )
        emulator.clear_requests()
        arrivals.reset()
        wait_for(lambda: bool(_finished(handle.log, "resync")), "a resync", 0.05)
        resync = _finished(handle.log, "resync")[0]
        duration = float(resync.get("duration_s") or 0.0)
        documents.append(
            figures(
                "daemon-resync",
                opts,
                emulator,
                arrivals,
                wall_s=duration,
                peak_rss_mb=0.0,
                extra={"sync_duration_s": duration, "full": resync.get("full")},
            )
        )
        handle.process.send_signal(signal.SIGTERM)
        handle.reap()
    for document in documents:
        document["peak_rss_mb"] = round(handle.peak_rss_mb, 1)  # the daemon's whole life
    return documents


def read_desired_scenario(opts: Options) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.read_cpu", "--repo", str(opts.work / "repo")]
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, env=_env())
    assert process.stdout is not None
    output = process.stdout.read()
    _, _, cpu, rss = _reap(process, started)
    document: dict[str, Any] = json.loads(output)
    return {
        "scenario": "read-desired",
        **document,
        "process_cpu_s": round(cpu, 3),
        "peak_rss_mb": round(rss, 1),
    }


POLICY = """environments:
  staging:
    keysetId: 412345
    branches: [main]
  production:
    keysetId: 498765
    tags: ["v*"]
"""


def environment_scenarios(opts: Options, emit: Callable[[dict[str, Any]], None]) -> None:
    """Issue 25: a sync with two environments, cold and warm in sync, and one change."""
    root = opts.work / "env-repo"
    repo = SyntheticRepo(root, opts.packages, opts.functions, opts.code_bytes)
    repo.extra["faas-gitops.yaml"] = POLICY.encode()
    repo.commit("Synthetic packages on two environments")
    repo.tag("v1")
    config = EmulatorConfig(
        api_key=API_KEY,
        latency_ms=opts.latency_ms,
        revision_list_code=opts.revision_list_code,  # type: ignore[arg-type]
        deploy_delay_ms=0,
        max_running_deployments=2 * opts.packages + 10,
    )
    ref = ("--ref", "main")
    with serve_in_thread(config) as emulator:
        arrivals = instrument(emulator)
        seed_packages(emulator.store, opts.packages)

        def scenario(name: str, state: str, *extra: str) -> dict[str, Any]:
            return sync_once_scenario(
                name, opts, emulator, arrivals, opts.work / state, *ref, *extra, repo=root
            )

        emit(scenario("env-release", "s-env-release"))
        if "env" not in opts.scenarios:  # env-replayed: the replayed pairs alone
            for document in replayed_scenarios(opts, emulator, root):
                emit(document)
            return
        emit(scenario("env-cold-in-sync", "s-env"))
        emit(bare_client_scenario(opts, emulator, arrivals, "environments"))
        emit(scenario("env-warm-in-sync", "s-env"))
        emit(scenario("env-warm-full-resync", "s-env", "--full-sync"))
        for document in replayed_scenarios(opts, emulator, root):
            emit(document)
        repo.change([opts.packages // 3])
        repo.commit("Change one package (main, untagged: staging only)")
        emit(scenario("env-one-change-staging", "s-env"))


def compile_sources(opts: Options) -> None:
    """Byte-compile faas-gitops (this tree's, and ``--before-src``'s) and the benchmarks, as
    an installed package is: every reconciler and bare client then starts from bytecode."""
    here = Path(__file__).resolve().parent
    trees = [here.parent / "src", here]
    if opts.before_src is not None:
        trees.append(opts.before_src)
    for tree in trees:
        compileall.compile_dir(str(tree), quiet=1)


def replayed_scenarios(
    opts: Options, emulator: RunningEmulator, root: Path
) -> list[dict[str, Any]]:
    """``env-cold-in-sync`` and ``bare-client-environments`` against ``benchmarks.replay_api``
    (the emulator's answers, recorded once, replayed at a dict lookup's cost): the emulator's
    own cost per request is out of both, so their ratio is the reconciler's. Two of each,
    interleaved, after one recording run; with ``--before-src``, each pair is preceded by the
    reconciler of that source tree (``before``), against the same recording.

    Every source tree taking part is byte-compiled first (``compile_sources``), as an installed
    faas-gitops is (pip compiles on install; the container image holds the bytecode): without
    it, a checkout run with ``PYTHONDONTWRITEBYTECODE`` set (as here) compiles ~100 modules from
    source in every run, which the bare client's installed libraries never do. Each pair also
    runs the bare client a second time first (``bare-client-noise``): how far two runs of the
    very same requests land apart on this machine, the noise any single ratio carries."""
    compile_sources(opts)
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.replay_api", emulator.url, str(opts.latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    documents: list[dict[str, Any]] = []
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"

        def stats(what: str) -> dict[str, Any]:
            with urllib.request.urlopen(f"{url}/__replay/{what}", timeout=10) as answer:  # noqa: S310
                found: dict[str, Any] = json.loads(answer.read())
                return found

        ref = ("--ref", "main")
        run_sync_once(
            "env-record", opts, emulator, opts.work / "s-rec", *ref, repo=root, api_url=url
        )
        if opts.before_src is not None:  # its own requests recorded too: no miss when measured
            run_sync_once(
                "env-record-before", opts, emulator, opts.work / "s-rec-before", *ref,
                repo=root, api_url=url, src=opts.before_src,
            )  # fmt: skip
        floor_of = opts.latency_ms / 1000 / opts.concurrency

        def bare() -> tuple[float, dict[str, Any], dict[str, Any]]:
            stats("reset")
            argv = [
                sys.executable, "-m", "benchmarks.bare_client",
                url, API_KEY, str(opts.packages), str(opts.concurrency), "environments",
            ]  # fmt: skip
            started = time.monotonic()
            done = subprocess.run(argv, capture_output=True, text=True, check=True, env=_env())
            return time.monotonic() - started, json.loads(done.stdout), stats("stats")

        for attempt in (1, 2):
            noise_wall, _, noise_seen = bare()
            if opts.before_src is not None:
                stats("reset")
                run = run_sync_once(
                    "env-cold-replayed-before", opts, emulator, opts.work / f"s-bef{attempt}",
                    *ref, repo=root, api_url=url, src=opts.before_src,
                )  # fmt: skip
                seen = stats("stats")
                documents.append({
                    "scenario": "env-cold-in-sync-replayed-before", "packages": opts.packages,
                    "requests_total": seen["requests"], "misses": seen["misses"],
                    "wall_s": round(run.wall_s, 3), "api_phase_s": round(seen["api_phase_s"], 3),
                    "floor_s": round(seen["requests"] * floor_of, 3),
                    "cpu_s": round(run.cpu_s, 3), "peak_rss_mb": round(run.peak_rss_mb, 1),
                    "exit_code": run.exit_code, "load_1min": os.getloadavg()[0],
                })  # fmt: skip
            stats("reset")
            run = run_sync_once(
                "env-cold-replayed", opts, emulator, opts.work / f"s-rep{attempt}", *ref,
                repo=root, api_url=url,
            )  # fmt: skip
            seen = stats("stats")
            floor = seen["requests"] * floor_of
            documents.append({
                "scenario": "env-cold-in-sync-replayed", "packages": opts.packages,
                "requests_total": seen["requests"], "misses": seen["misses"],
                "requests_per_package": round(seen["requests"] / opts.packages, 3),
                "wall_s": round(run.wall_s, 3), "api_phase_s": round(seen["api_phase_s"], 3),
                "floor_s": round(floor, 3), "ratio": round(run.wall_s / floor, 2),
                "cpu_s": round(run.cpu_s, 3), "peak_rss_mb": round(run.peak_rss_mb, 1),
                "exit_code": run.exit_code, "load_1min": os.getloadavg()[0],
            })  # fmt: skip
            after = documents[-1]["wall_s"]
            wall, own, seen = bare()
            floor = seen["requests"] * floor_of
            documents.append({
                "scenario": "bare-client-environments-replayed", "packages": opts.packages,
                "requests_total": seen["requests"], "misses": seen["misses"],
                "wall_s": round(wall, 3), "client_wall_s": round(own["wall_s"], 3),
                "api_phase_s": round(seen["api_phase_s"], 3), "floor_s": round(floor, 3),
                "ratio": round(wall / floor, 2), "cpu_s": round(own["cpu_s"], 3),
                "reconciler_over_bare": round(after / wall, 3),
                "load_1min": os.getloadavg()[0],
            })  # fmt: skip
            documents.append({
                "scenario": "bare-client-noise", "packages": opts.packages,
                "wall_s": round(noise_wall, 3), "api_phase_s": round(noise_seen["api_phase_s"], 3),
                "bare_over_bare": round(noise_wall / wall, 3),
            })  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    return documents


def run(opts: Options, emit: Callable[[dict[str, Any]], None]) -> None:
    want = opts.scenarios
    if want & {"env", "env-replayed"}:
        environment_scenarios(opts, emit)
    if not want & {"read", "1", "2", "3", "4", "5"}:
        return
    repo = SyntheticRepo(opts.work / "repo", opts.packages, opts.functions, opts.code_bytes)
    repo.commit("Synthetic packages")
    if "read" in want:
        emit(read_desired_scenario(opts))
    config = EmulatorConfig(
        api_key=API_KEY,
        latency_ms=opts.latency_ms,
        revision_list_code=opts.revision_list_code,  # type: ignore[arg-type]
    )
    with serve_in_thread(config) as emulator:
        arrivals = instrument(emulator)
        seed_packages(emulator.store, opts.packages)
        # 2: every package needs its first revision; this also makes the remote equal for 1.
        adopt = sync_once_scenario("cold-adopt", opts, emulator, arrivals, opts.work / "s-adopt")
        if "2" in want:
            emit(adopt)
        warm = opts.work / "s-warm"
        cold = sync_once_scenario("cold-equal", opts, emulator, arrivals, warm)
        if "1" in want:
            emit(cold)
            emit(bare_client_scenario(opts, emulator, arrivals))
            emit(null_api_scenario(opts))
        if opts.max_rps is not None and "1" in want:
            emit(
                sync_once_scenario(
                    "cold-equal-max-rps",
                    opts,
                    emulator,
                    arrivals,
                    opts.work / "s-rps",
                    "--max-rps",
                    str(opts.max_rps),
                )
            )
        if "3" in want:
            repo.change([opts.packages // 3])
            repo.commit("Change one package")
            emit(sync_once_scenario("warm-one-changed", opts, emulator, arrivals, warm))
        if "5" in want:
            changed = list(range(0, opts.packages, 10))
            repo.change(changed)
            repo.commit("Change 10% of the packages")
            document = sync_once_scenario("warm-10pct-changed", opts, emulator, arrivals, warm)
            document["changed_packages"] = len(changed)
            emit(document)
        if ("3" in want or "4" in want) and opts.daemon:
            for document in daemon_scenarios(opts, emulator, arrivals, repo, warm):
                emit(document)


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, set[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--functions", type=int, default=3)
    parser.add_argument("--code-bytes", type=int, default=4096)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--revision-list-code", choices=("omit", "include"), default="omit")
    parser.add_argument("--max-rps", type=float, default=None, help="also run 1 under this limit")
    parser.add_argument("--resync-interval", type=float, default=15.0)
    parser.add_argument(
        "--scenarios",
        default="read,1,2,3,4,5,env",
        help="comma-separated: read,1,2,3,4,5,env,env-replayed (env-release + the replayed pairs)",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile each sync-once into DIR/<name>.prof"
    )
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory")
    parser.add_argument(
        "--before-src",
        type=Path,
        default=None,
        help="env: also run the replayed cold sync from this src/ (another commit's), interleaved",
    )
    parser.add_argument(
        "--no-daemon", action="store_true", help="skip the daemon scenarios (3 and 4)"
    )
    args = parser.parse_args(argv)
    return args, {part.strip() for part in args.scenarios.split(",") if part.strip()}


def main(argv: list[str] | None = None) -> int:
    args, scenarios = parse_args(argv)
    logs.configure("warning", "console")  # stdout carries only the JSON documents

    def emit(document: dict[str, Any]) -> None:
        print(json.dumps(document), flush=True)

    with tempfile.TemporaryDirectory(prefix="faas-gitops-bench-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        opts = Options(
            packages=args.packages,
            functions=args.functions,
            code_bytes=args.code_bytes,
            latency_ms=args.latency_ms,
            concurrency=args.concurrency,
            revision_list_code=args.revision_list_code,
            max_rps=args.max_rps,
            resync_interval=args.resync_interval,
            profile=args.profile,
            scenarios=scenarios,
            work=work,
            daemon=not args.no_daemon,
            before_src=args.before_src.resolve() if args.before_src else None,
        )
        run(opts, emit)
    return 0


__all__ = ["main", "package_path"]

if __name__ == "__main__":
    raise SystemExit(main())

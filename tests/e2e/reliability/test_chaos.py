"""The chaos run: 200 packages against an API that fails a third of the time.

20% of requests answer 5xx, 10% answer 429 with ``Retry-After``, 5% of creates are stored and
then lose their answer, and every request waits 5-25 ms. ``--sync-once`` is run until it exits
0 (at most four runs): a run whose retry budget ran out must exit 1 naming each failed package,
the next run picks up from there, and in the end every package has exactly one revision.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.reliability.reliability_support import (
    clean_env,
    emulator_for,
    many_packages,
    package_id,
    package_names,
    run_cli,
)
from tests.gitrepo import GitRepo

PACKAGES = 200
MAX_RUNS = 4
BUSY = "Service unavailable (forced by the test)"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11])
def test_a_chaos_run_converges_with_exactly_one_revision_per_package(
    seed: int, tmp_path: Path
) -> None:
    names = package_names(PACKAGES)
    repo = GitRepo(tmp_path / "repo")
    head = repo.bulk_commit(many_packages(PACKAGES), "two hundred packages")
    env = clean_env(tmp_path / "home")
    faults = {
        "fault_5xx": 0.2,
        "fault_429": 0.1,
        "retry_after": 1,
        "fault_drop_after_commit": 0.05,
        "latency_ms": 5,
        "latency_jitter_ms": 20,
    }
    codes: list[int] = []
    started = time.monotonic()
    with emulator_for(names, seed=seed, **faults) as emulator:
        # Whatever the dice say, two packages exhaust their budgets in the first run: every
        # read attempt of one answers 503, every create attempt of the other answers 500.
        exhausted_read, exhausted_write = names[7], names[42]
        emulator.store.force_error(
            package_id(exhausted_read),
            status=503,
            code="FAAS-500",
            message=BUSY,
            methods=("GET",),
            times=6,
        )
        emulator.store.force_error(
            package_id(exhausted_write),
            status=500,
            code="FAAS-500",
            message=BUSY,
            methods=("POST",),
            times=4,
        )
        for _ in range(MAX_RUNS):
            run = run_cli(
                "--sync-once",
                "--repo", str(repo.root),
                "--api-url", emulator.url,
                "--state-dir", str(tmp_path / "state"),
                "--concurrency", "16",
                "--log-format", "json",
                "--output", "json",
                env=env,
                cwd=tmp_path,
            )  # fmt: skip
            codes.append(run.code)
            assert run.code in (0, 1), run.stderr
            assert "Traceback" not in run.stderr
            doc = json.loads(run.stdout)
            failed = [p for p in doc["packages"] if p["status"] == "failed"]
            if run.code == 1:
                assert failed, "exit 1 must name the packages that failed"
                logged = {
                    event["path"]: event["error"]
                    for event in map(json.loads, run.stderr.splitlines())
                    if event.get("event") == "package.failed"
                }
                if len(codes) == 1:
                    assert {exhausted_read, exhausted_write} <= {p["path"] for p in failed}
                for package in failed:
                    assert package["error"], package
                    assert "\n" not in package["error"]
                    assert logged[package["path"]] == package["error"]
            else:
                assert failed == []
                break
        duplicates = {
            name: [rev["name"] for rev in emulator.store.revisions(package_id(name))]
            for name in names
            if len(emulator.store.revisions(package_id(name))) != 1
        }
        faults_met = {r.fault for r in emulator.requests}
    print(f"chaos: exit codes {codes} in {time.monotonic() - started:.1f} s")
    assert codes[0] == 1
    assert codes[-1] == 0, f"no convergence in {MAX_RUNS} runs: {codes}"
    assert duplicates == {}
    assert {"5xx", "429", "drop-after-commit"} <= faults_met
    for name in names:
        assert emulator.store.revisions(package_id(name))[0]["name"] == head[:12]

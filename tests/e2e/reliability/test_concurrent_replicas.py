"""Three reconcilers on one repository and one API at once: exactly one revision per change.

Each replica is a real ``faas-gitops --sync-once`` process with its own state dir, started at
the same moment; the emulator adds latency with jitter so their requests interleave. Whoever
loses the race on a revision name gets a 409 and must look and adopt, not fail or duplicate.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.reliability_support import (
    clean_env,
    cli_argv,
    emulator_for,
    exit_codes,
    many_packages,
    package_id,
    package_names,
    reaped,
)
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.slow

PACKAGES = 10
REPLICAS = 3


def run_replicas(
    repo: Path, emulator: RunningEmulator, tmp: Path, round_: str
) -> list[dict[str, Any]]:
    """Start every replica together, wait (bounded) for all; return their json documents."""
    env = clean_env(tmp / "home")
    errs: list[Path] = []
    outs: list[Path] = []
    with reaped() as processes:
        for number in range(REPLICAS):
            out, err = tmp / f"{round_}-{number}.out", tmp / f"{round_}-{number}.err"
            outs.append(out)
            errs.append(err)
            with out.open("wb") as stdout, err.open("wb") as stderr:
                argv = cli_argv(
                    "--sync-once",
                    "--repo", str(repo),
                    "--api-url", emulator.url,
                    "--state-dir", str(tmp / f"state-{number}"),
                    "--log-format", "json",
                    "--output", "json",
                    "--concurrency", "4",
                )  # fmt: skip
                processes.append(
                    subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env, cwd=tmp)
                )
        codes = exit_codes(processes)
    for number, code in enumerate(codes):
        log = errs[number].read_text(errors="replace")
        assert code == 0, f"replica {number} exited {code}:\n{log}"
        assert "Traceback" not in log
    return [json.loads(out.read_text()) for out in outs]


def counts(emulator: RunningEmulator) -> dict[str, int]:
    return {
        name: len(emulator.store.revisions(package_id(name))) for name in package_names(PACKAGES)
    }


def assert_claimed_once(
    docs: list[dict[str, Any]], emulator: RunningEmulator, revision_ids: set[str]
) -> None:
    created = [p for doc in docs for p in doc["packages"] if p["status"] == "created"]
    assert sorted(p["revisionId"] for p in created) == sorted(revision_ids)
    answered = {
        r.correlation_id for r in emulator.requests if r.method == "POST" and r.status < 300
    }
    assert all(p["correlationId"] in answered for p in created)
    for doc in docs:
        assert doc["summary"]["created"] == sum(
            1 for p in doc["packages"] if p["status"] == "created"
        )
        for package in doc["packages"]:
            if package["status"] == "adopted":
                assert package["correlationId"] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_replicas_at_once_make_exactly_one_revision_per_changed_package(
    seed: int, tmp_path: Path
) -> None:
    names = package_names(PACKAGES)
    repo = GitRepo(tmp_path / "repo")
    changed = [seed % PACKAGES, (seed + 3) % PACKAGES, (seed + 5) % PACKAGES, (seed + 7) % PACKAGES]
    with emulator_for(names, seed=seed, latency_ms=30, latency_jitter_ms=40) as emulator:
        # Round 1: every package is new to the API, all three race on every one of them.
        repo.bulk_commit(many_packages(PACKAGES), "first")
        docs = run_replicas(repo.root, emulator, tmp_path, "first")
        assert counts(emulator) == dict.fromkeys(names, 1)
        first = {rev["id"] for name in names for rev in emulator.store.revisions(package_id(name))}
        for doc in docs:  # every replica reports the one revision that exists, made or adopted
            reported = {p["revisionId"] for p in doc["packages"]}
            assert reported == first
            assert {p["status"] for p in doc["packages"]} <= {"created", "adopted", "unchanged"}
        # Each revision is claimed as created by exactly one replica, with the correlation ID
        # of the POST that made it; the replicas that lost the race adopted it, with none.
        assert_claimed_once(docs, emulator, first)

        # Round 2: four packages change; the others must not get a revision from anyone.
        repo.bulk_commit(many_packages(PACKAGES, changed=changed), "second")
        second_docs = run_replicas(repo.root, emulator, tmp_path, "second")
        made = {emulator.store.revisions(package_id(names[number]))[-1]["id"] for number in changed}
        assert_claimed_once(second_docs, emulator, made)
        expected = {name: 2 if number in changed else 1 for number, name in enumerate(names)}
        assert counts(emulator) == expected
        head = repo.head()[:12]
        for number in changed:
            latest = emulator.store.revisions(package_id(names[number]))[-1]
            assert latest["name"] == head  # adopted, never renamed to a "-2" duplicate
        conflicts = [r for r in emulator.requests if r.status == 409]
        posts = [r for r in emulator.requests if r.method == "POST"]
        # Every create the API accepted is one of the revisions counted above; every other
        # create met a taken name (409) and was adopted: no 5xx, no retry of a stored write.
        assert len(posts) == PACKAGES + len(changed) + len(conflicts)

"""30% of create answers are lost after the revision was stored: adopted, never claimed twice.

The emulator stores the revision, then aborts the connection mid-answer, so the client cannot
know whether its create landed. It must look, find the revision, and record it as ``adopted``
with no correlation id (it never saw an answer; the id of the listing GET is not the create's).
Only answered creates are ``created``, and only they count in the summary.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from faas_gitops.emulator.requestlog import FAULT_DROPPED
from tests.e2e.reliability.journal_support import answered_posts, history, server_revisions
from tests.e2e.reliability.reliability_support import (
    clean_env,
    emulator_for,
    many_packages,
    package_names,
    run_cli,
)
from tests.gitrepo import GitRepo

PACKAGES = 60


@pytest.mark.slow
def test_creates_whose_answer_was_dropped_are_adopted_without_a_correlation_id(
    tmp_path: Path,
) -> None:
    names = package_names(PACKAGES)
    state = tmp_path / "state"
    env = clean_env(tmp_path / "home")
    repo = GitRepo(tmp_path / "repo")
    repo.bulk_commit(many_packages(PACKAGES), "first")
    with emulator_for(
        names, seed=21, latency_ms=5, latency_jitter_ms=5, fault_drop_after_commit=0.3
    ) as emulator:
        done = run_cli(
            "--sync-once", "--repo", str(repo.root), "--api-url", emulator.url,
            "--state-dir", str(state), "--concurrency", "4", "--log-format", "json",
            "--output", "json", env=env, cwd=tmp_path,
        )  # fmt: skip
        assert done.code == 0, done.stderr
        assert "Traceback" not in done.stderr
        revisions = server_revisions(emulator, names)
        answered = answered_posts(emulator)
        dropped = {
            str(r.body["packageId"])
            for r in emulator.requests
            if r.fault == FAULT_DROPPED and isinstance(r.body, dict)
        }
    assert all(len(ids) == 1 for ids in revisions.values()), "a package got a duplicate"
    never_answered = dropped - set(answered.values())
    assert never_answered, "the fault never fired: the test would prove nothing"

    document = json.loads(done.stdout)
    packages = {p["packageId"]: p for p in document["packages"]}
    assert set(packages) == set(revisions), "the result does not list every package once"
    statuses = Counter(p["status"] for p in packages.values())
    assert statuses["created"] + statuses["adopted"] == PACKAGES, statuses
    assert document["summary"]["created"] == statuses["created"]
    assert document["summary"]["adopted"] == statuses["adopted"]
    for pid, result in packages.items():
        assert result["revisionId"] == revisions[pid][0], result
        if pid in never_answered:
            assert result["status"] == "adopted", result
            assert result["correlationId"] is None, result
        else:
            assert result["status"] == "created", result
            assert answered[result["correlationId"]] == pid, result

    entries = history(state, env, tmp_path)
    created = [e for e in entries if e["status"] == "created"]
    assert len(created) == document["summary"]["created"]
    assert Counter(e["revisionId"] for e in created).most_common(1)[0][1] == 1
    for entry in entries:
        assert entry["revisionId"] == packages[entry["packageId"]]["revisionId"], entry
        assert entry["status"] == packages[entry["packageId"]]["status"], entry
        assert entry["correlationId"] == packages[entry["packageId"]]["correlationId"], entry
    assert len(entries) == PACKAGES
    print(f"dropped answers: {len(never_answered)} adopted, {statuses['created']} created")

"""``kill -9`` in the middle of a large sync, then a restart: no duplicate, a consistent ledger.

The killed process gets no chance to clean up: revisions it created stay, and so do the
journal rows it wrote around them. The next run must see what landed as already in sync,
resolve the rows left pending, create the rest, and record one complete sync.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.reliability_support import (
    clean_env,
    cli_argv,
    emulator_for,
    kill_when,
    many_packages,
    package_id,
    package_names,
    run_cli,
)
from tests.gitrepo import GitRepo

PACKAGES = 150


def landed_posts(emulator: RunningEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "POST" and 200 <= r.status < 300)


def kill_after_posts(
    argv: list[str], env: dict[str, str], cwd: Path, emulator: RunningEmulator, posts: int
) -> int:
    """Run ``argv`` and SIGKILL it once ``posts`` creates have landed; return how many had."""
    with (cwd / "killed.err").open("ab") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=cwd)
    kill_when(process, lambda: landed_posts(emulator) >= posts, "no creates landed")
    return landed_posts(emulator)


def ledger_rows(state: Path) -> tuple[list[tuple[int, str, int, int, int]], dict[int, int]]:
    with sqlite3.connect(state / "ledger.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        syncs = conn.execute(
            "SELECT id, commit_sha, total, created, unchanged FROM syncs ORDER BY id"
        ).fetchall()
        outcomes = dict(
            conn.execute("SELECT sync_id, count(*) FROM outcomes GROUP BY sync_id").fetchall()
        )
    conn.close()
    return syncs, outcomes


@pytest.mark.slow
def test_a_sync_killed_mid_way_then_restarted_converges_without_duplicates(tmp_path: Path) -> None:
    names = package_names(PACKAGES)
    state = tmp_path / "state"
    env = clean_env(tmp_path / "home")
    repo = GitRepo(tmp_path / "repo")
    with emulator_for(names, seed=5, latency_ms=20, latency_jitter_ms=10) as emulator:
        first = repo.bulk_commit(many_packages(PACKAGES), "first")
        base = (
            "--sync-once", "--repo", str(repo.root), "--api-url", emulator.url,
            "--state-dir", str(state), "--concurrency", "4", "--log-format", "json",
        )  # fmt: skip
        done = run_cli(*base, env=env, cwd=tmp_path)
        assert done.code == 0, done.stderr

        # Every package changes; the sync is killed twice, early and half-way.
        second = repo.bulk_commit(many_packages(PACKAGES, version=2), "second")
        emulator.clear_requests()
        argv = cli_argv(*base)
        early = kill_after_posts(argv, env, tmp_path, emulator, posts=10)
        middle = kill_after_posts(argv, env, tmp_path, emulator, posts=early + 50)
        assert early < middle < PACKAGES

        final = run_cli(*base, "--output", "json", env=env, cwd=tmp_path)

        assert final.code == 0, final.stderr
        assert "Traceback" not in final.stderr + (tmp_path / "killed.err").read_text()
        counts = {name: len(emulator.store.revisions(package_id(name))) for name in names}
        assert counts == dict.fromkeys(names, 2)
        statuses = [p["status"] for p in json.loads(final.stdout)["packages"]]
        # What the killed runs created is seen as in sync; the rest is created now. A kill can
        # land between the store commit and the answer, so count from the store, not the log.
        assert statuses.count("unchanged") >= middle
        assert statuses.count("created") + statuses.count("unchanged") == PACKAGES
        for name in names:
            assert [rev["name"] for rev in emulator.store.revisions(package_id(name))] == [
                first[:12],
                second[:12],
            ]

    syncs, outcomes = ledger_rows(state)
    # The killed runs are journaled too: their syncs never finished (total 0) and hold the rows
    # of the creates they made or had in flight; the two complete runs hold every package.
    complete = [(commit, total) for _, commit, total, _, _ in syncs if total]
    assert complete == [(first, PACKAGES), (second, PACKAGES)]
    killed = [sync_id for sync_id, _, total, _, _ in syncs if not total]
    assert len(killed) == 2
    assert all(outcomes[sync_id] == PACKAGES for sync_id, _, total, _, _ in syncs if total)
    history = run_cli("history", "--state-dir", str(state), "--all", "--output", "json",
                      "--limit", "1000", env=env, cwd=tmp_path)  # fmt: skip
    assert history.code == 0, history.stderr
    entries = json.loads(history.stdout)["entries"]
    assert len(entries) == 2 * PACKAGES + sum(outcomes.get(sync_id, 0) for sync_id in killed)
    # No row is left pending: the final run resolved every create the killed runs journaled.
    assert not [e for e in entries if e["status"] == "pending"]

"""SIGKILL in the middle of a 200-package sync: the journal already holds every answered create.

The killed process gets no chance to clean up, so whatever ``history`` shows right after the
kill was written as it happened. The emulator's request log says which creates were answered
and with which correlation id; only those in flight at the kill (at most ``--concurrency``)
may be missing. A rerun then settles the killed run's pending rows: every revision on the
server ends up in the ledger with its revision id, claimed once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.journal_support import (
    answered_posts,
    assert_ledger_tells_the_truth,
    history,
    kill_after_creates,
)
from tests.e2e.reliability.reliability_support import (
    clean_env,
    cli_argv,
    emulator_for,
    many_packages,
    package_names,
    run_cli,
)
from tests.gitrepo import GitRepo

PACKAGES = 200
CONCURRENCY = 4
KILL_AFTER = 20


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with (cwd / "killed.err").open("ab") as stderr:
        return subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd,
        )  # fmt: skip


def kill_then_rerun(
    tmp_path: Path, emulator: RunningEmulator, repo: GitRepo, extra: tuple[str, ...]
) -> tuple[int, int]:
    """Kill a run started with ``extra`` args after KILL_AFTER creates, check the journal, rerun
    ``--sync-once`` and check the ledger; returns (creates landed at the kill, adopted)."""
    state = tmp_path / "state"
    env = clean_env(tmp_path / "home")
    common = (
        "--repo", str(repo.root), "--api-url", emulator.url, "--state-dir", str(state),
        "--concurrency", str(CONCURRENCY), "--log-format", "json",
    )  # fmt: skip
    landed = kill_after_creates(
        start(cli_argv(*common, *extra), env, tmp_path), emulator, KILL_AFTER
    )

    answered = answered_posts(emulator)
    right_after = history(state, env, tmp_path)
    journaled = {e["correlationId"]: e for e in right_after if e["status"] == "created"}
    assert set(journaled) <= set(answered), "a created row has an id no POST was answered with"
    assert all(e["revisionId"] for e in journaled.values())
    # Answers written by the server but not yet read by the killed process: only in flight.
    assert len(set(answered) - set(journaled)) <= CONCURRENCY, (len(answered), len(journaled))

    rerun = run_cli("--sync-once", *common, "--output", "json", env=env, cwd=tmp_path)
    assert rerun.code == 0, rerun.stderr
    log = rerun.stderr + (tmp_path / "killed.err").read_text(errors="replace")
    assert "Traceback" not in log
    document = json.loads(rerun.stdout)
    assert document["summary"]["created"] == sum(
        p["status"] == "created" for p in document["packages"]
    )

    statuses = assert_ledger_tells_the_truth(
        history(state, env, tmp_path), emulator, package_names(PACKAGES), in_flight=CONCURRENCY
    )
    assert statuses["created"] + statuses["adopted"] == PACKAGES
    return landed, statuses["adopted"]


@pytest.mark.slow
def test_a_killed_sync_once_leaves_a_journal_that_history_reads_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.bulk_commit(many_packages(PACKAGES), "first")
    with emulator_for(
        package_names(PACKAGES), seed=11, latency_ms=25, latency_jitter_ms=5
    ) as emulator:
        landed, adopted = kill_then_rerun(tmp_path, emulator, repo, ("--sync-once",))
    print(f"sync-once: {landed} creates answered at the kill, {adopted} adopted after the rerun")
    assert KILL_AFTER <= landed < PACKAGES


@pytest.mark.slow
def test_a_killed_daemon_leaves_a_journal_that_history_reads_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.bulk_commit(many_packages(PACKAGES), "first")
    with emulator_for(
        package_names(PACKAGES), seed=12, latency_ms=25, latency_jitter_ms=5
    ) as emulator:
        daemon = ("--listen", "127.0.0.1:0", "--interval", "0.5")
        landed, adopted = kill_then_rerun(tmp_path, emulator, repo, daemon)
    print(f"daemon: {landed} creates answered at the kill, {adopted} adopted after the rerun")
    assert KILL_AFTER <= landed < PACKAGES


@pytest.mark.slow
def test_a_sigterm_whose_sync_outlasts_the_shutdown_timeout_still_leaves_a_true_journal(
    tmp_path: Path,
) -> None:
    """The daemon abandons a sync that outlives ``--shutdown-timeout`` and exits at once; the
    creates that were answered by then are in the ledger with their correlation IDs."""
    repo = GitRepo(tmp_path / "repo")
    repo.bulk_commit(many_packages(PACKAGES), "first")
    state = tmp_path / "state"
    env = clean_env(tmp_path / "home")
    common = (
        "--repo", str(repo.root), "--state-dir", str(state),
        "--concurrency", str(CONCURRENCY), "--log-format", "json",
    )  # fmt: skip
    with emulator_for(
        package_names(PACKAGES), seed=13, latency_ms=25, latency_jitter_ms=5
    ) as emulator:
        argv = cli_argv(
            *common, "--api-url", emulator.url, "--listen", "127.0.0.1:0",
            "--shutdown-timeout", "0.2",
        )  # fmt: skip
        process = start(argv, env, tmp_path)
        try:
            deadline = time.monotonic() + 60
            while len(answered_posts(emulator)) < KILL_AFTER:
                assert process.poll() is None, "the daemon stopped before the test stopped it"
                assert time.monotonic() < deadline, "no creates landed in time"
                time.sleep(0.002)
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        answered = answered_posts(emulator)
        assert KILL_AFTER <= len(answered) < PACKAGES, "the sync was not abandoned mid-way"
        entries = history(state, env, tmp_path)
    created = {e["correlationId"]: e for e in entries if e["status"] == "created"}
    assert set(created) <= set(answered)
    assert all(entry["revisionId"] for entry in created.values())
    # Answers the server sent but the abandoned sync never read: at most those in flight.
    assert len(set(answered) - set(created)) <= CONCURRENCY

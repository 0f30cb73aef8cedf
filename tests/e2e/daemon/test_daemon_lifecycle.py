"""How the daemon stops: gracefully on SIGTERM (the sync in flight finishes and is recorded
once), at once on a second signal, and with exit code 1 after ``--max-failures``."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, CHAT_ID, WEBHOOKS_ID

pytestmark = pytest.mark.slow

QUIET = ("--interval", "60", "--resync-interval", "600")


def first_post(emulator: RunningEmulator) -> bool:
    return any(record.method == "POST" for record in emulator.requests)


def test_sigterm_during_a_slow_sync_lets_it_finish_records_it_once_and_exits_0(
    start_daemon: StartDaemon, start_emulator: Callable[..., RunningEmulator], repo: GitRepo
) -> None:
    slow = start_emulator(sample=True, latency_ms=800)
    # One package at a time, so two creates are still to come when the first is answered.
    daemon = start_daemon(repo.root, *QUIET, "--concurrency", "1", target=slow)
    wait_until(lambda: first_post(slow), "the first create to be answered")

    daemon.signal(signal.SIGTERM)

    assert daemon.wait_exit() == 0
    sha = repo.head()
    presence = next(p["id"] for p in slow.store.packages() if p["name"] == "presence-tracker")
    for package_id in (CHAT_ID, WEBHOOKS_ID, presence):
        assert [r["name"] for r in slow.store.revisions(package_id)] == [sha[:12]]
    entries = daemon.ledger()
    assert sorted((e.path, e.status, e.trigger) for e in entries) == [
        ("chat-moderation", "created", "startup"),
        ("presence-tracker", "created", "startup"),
        ("webhooks", "created", "startup"),
    ]
    names = [event["event"] for event in daemon.events()]
    assert names.index("daemon.stopping") < names.index("sync.finished")
    assert names[-1] == "daemon.stopped"
    assert daemon.events("daemon.stopped")[0]["exit_code"] == 0


def test_a_second_signal_exits_at_once_without_waiting_for_the_sync(
    start_daemon: StartDaemon, start_emulator: Callable[..., RunningEmulator], repo: GitRepo
) -> None:
    slow = start_emulator(sample=True, latency_ms=1500)
    daemon = start_daemon(repo.root, *QUIET, target=slow)
    wait_until(lambda: daemon.events("trigger.received", reason="startup"), "the first sync")
    daemon.signal(signal.SIGTERM)
    wait_until(lambda: daemon.events("daemon.stopping"), "the first signal to be taken")

    daemon.signal(signal.SIGINT)

    assert daemon.wait_exit(timeout=5) == 128 + signal.SIGINT
    assert daemon.events("daemon.forced_exit", signal="SIGINT")
    assert daemon.events("daemon.stopped") == []
    assert daemon.events("sync.finished") == []


def test_a_sync_that_outlives_the_shutdown_timeout_is_cancelled_and_the_daemon_exits_0(
    start_daemon: StartDaemon, start_emulator: Callable[..., RunningEmulator], repo: GitRepo
) -> None:
    slow = start_emulator(sample=True, latency_ms=1500)
    daemon = start_daemon(repo.root, *QUIET, "--shutdown-timeout", "0.2", target=slow)
    wait_until(lambda: daemon.events("trigger.received", reason="startup"), "the first sync")

    daemon.signal(signal.SIGTERM)

    assert daemon.wait_exit(timeout=10) == 0
    assert daemon.events("daemon.shutdown_timeout")
    assert daemon.events("daemon.stopped", exit_code=0, abandoned_sync=True)
    assert daemon.events("sync.finished") == []
    assert daemon.ledger() == []


def test_a_sigterm_while_idle_exits_0_after_logging_stopping_and_stopped(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    daemon = start_daemon(repo.root, *QUIET)
    daemon.wait_ready()

    daemon.signal(signal.SIGTERM)

    assert daemon.wait_exit() == 0
    assert [e["event"] for e in daemon.events()][-2:] == ["daemon.stopping", "daemon.stopped"]


def test_max_failures_makes_the_daemon_exit_1_after_that_many_failed_syncs(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    wrong_key = "sk-wrong-key-987654321"
    daemon = start_daemon(repo.root, *QUIET, "--max-failures", "2", api_key=wrong_key)

    assert daemon.wait_exit() == 1
    # The probe, each sync's first call, is rejected: the sync stops before it starts, and fails.
    failed = daemon.events("sync.failed")
    assert len(failed) == 2
    assert all("401" in event["error"] for event in failed)
    assert daemon.events("sync.finished") == []
    assert daemon.events("sync.retry_scheduled")
    [limit] = daemon.events("daemon.max_failures")
    assert (limit["failures"], limit["limit"]) == (2, 2)
    assert daemon.events("daemon.stopped", exit_code=1)
    log = daemon.log_text()
    assert wrong_key not in log
    assert API_KEY not in log


def test_a_failing_daemon_keeps_serving_and_turns_unready_after_the_set_failures(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    daemon = start_daemon(repo.root, *QUIET, "--unready-after", "1", api_key="sk-wrong-key-55555")

    wait_until(lambda: daemon.events("sync.failed"), "the first failed sync")

    readiness = daemon.get("/readyz")
    assert readiness.status_code == 503
    assert readiness.json()["consecutiveFailures"] >= 1
    assert "401" in readiness.json()["lastError"] or "key" in readiness.json()["lastError"]
    assert daemon.get("/healthz").status_code == 200
    metrics = daemon.metrics()
    assert metrics['faas_gitops_syncs_total{result="failure"}'] >= 1
    assert metrics['faas_gitops_api_requests_total{method="GET",status="401"}'] >= 1
    assert daemon.process.poll() is None

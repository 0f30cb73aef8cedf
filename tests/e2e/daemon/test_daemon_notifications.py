"""The daemon notifies once per event, and a restarted daemon does not resend."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import WEBHOOKS_ID
from tests.notify.notify_receivers import Receiver, always, serve


@pytest.mark.slow
def test_a_failing_package_is_announced_once_even_across_a_daemon_restart(
    tmp_path: Path, emulator: RunningEmulator, repo: GitRepo, start_daemon: StartDaemon
) -> None:
    emulator.store.force_error(WEBHOOKS_ID)  # fails on every sync, retried with backoff
    with serve(Receiver(always(204, b""))) as hook:
        argv = ("--interval", "1", "--notify-webhook", hook.url + "/events")
        state = tmp_path / "state"  # the restarted daemon reads what the first one sent

        def failed_events() -> list[str]:
            return [
                r.json()["package"]["path"]
                for r in hook.requests
                if r.json()["event"] == "package-failed"
            ]

        first = start_daemon(repo.root, *argv, state_dir=state)
        try:
            wait_until(lambda: len(first.events("sync.finished")) >= 2, "a retried sync")
            metric = 'faas_gitops_notifications_total{result="%s",target="webhook"}'
            wait_until(lambda: first.metrics()[metric % "sent"] == 3, "three notifications")
            assert first.metrics()[metric % "duplicate"] >= 1  # the retry found it sent
            first.signal()
            assert first.wait_exit() == 0
        finally:
            first.kill()
        assert failed_events() == ["webhooks"]
        created = [r for r in hook.requests if r.json()["event"] == "revision-created"]
        assert len(created) == 2

        second = start_daemon(repo.root, *argv, state_dir=state)
        try:
            wait_until(lambda: second.events("sync.finished"), "the restarted daemon's sync")
            wait_until(
                lambda: second.metrics()[metric % "duplicate"] >= 1,
                "the restarted daemon to find the event already sent",
            )
            assert second.metrics()[metric % "sent"] == 0
            second.signal()
            assert second.wait_exit() == 0
        finally:
            second.kill()
        assert failed_events() == ["webhooks"]  # not resent
        assert len(hook.requests) == 3

"""The daemon notifies once per event, and a restarted daemon does not resend."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_support import DaemonProcess, daemon_env, wait_until
from notify_receivers import Receiver, always, serve

from e2e import API_KEY, PACKAGES_ONLY, SAMPLE_REPO, WEBHOOKS_ID
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo


@pytest.fixture
def daemon_emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(api_key=API_KEY, seed=3)) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        yield emulator


def start(tmp_path: Path, number: int, *argv: str) -> DaemonProcess:
    home = tmp_path / f"home-{number}"
    home.mkdir()
    log_file, out_file = tmp_path / f"daemon-{number}.log", tmp_path / f"daemon-{number}.out"
    with log_file.open("wb") as err, out_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "faas_gitops.cli", *argv],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=daemon_env(home, API_KEY),
            cwd=tmp_path,
        )
    daemon = DaemonProcess(process, log_file, out_file, tmp_path / "state")

    def listening() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited:\n{daemon.log_text()}")
        events = daemon.events("daemon.started")
        return str(events[0]["listen"]) if events else None

    daemon.url = "http://" + wait_until(listening, "the daemon.started event")
    return daemon


@pytest.mark.slow
def test_a_failing_package_is_announced_once_even_across_a_daemon_restart(
    tmp_path: Path, daemon_emulator: RunningEmulator
) -> None:
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repo.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repo.commit("Import the sample packages")
    daemon_emulator.store.force_error(WEBHOOKS_ID)  # fails on every sync, retried with backoff
    with serve(Receiver(always(204, b""))) as hook:
        argv = (
            "--repo", str(repo.root),
            "--api-url", daemon_emulator.url,
            "--state-dir", str(tmp_path / "state"),
            "--listen", "127.0.0.1:0",
            "--log-format", "json",
            "--interval", "1",
            "--notify-webhook", hook.url + "/events",
        )  # fmt: skip

        def failed_events() -> list[str]:
            return [
                r.json()["package"]["path"]
                for r in hook.requests
                if r.json()["event"] == "package-failed"
            ]

        first = start(tmp_path, 0, *argv)
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

        second = start(tmp_path, 1, *argv)
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
    for daemon in (first, second):
        assert API_KEY not in daemon.log_text()

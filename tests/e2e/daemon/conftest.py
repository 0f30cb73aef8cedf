"""The daemon journeys' fixture: the real ``faas-gitops`` daemon as a subprocess, against the
emulator in this process (``tests/conftest.py``), on real git repositories in ``tmp_path``.

The daemon listens on ``127.0.0.1:0`` and its address is read from its own ``daemon.started``
log event, so no port is ever guessed. Its stderr goes to a file the tests read as JSON events.
Every daemon is killed at teardown, and its output is checked for the API key there, so no test
can leak a process or the key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DaemonProcess,
    StartDaemon,
    daemon_env,
    wait_until,
)
from tests.harness import API_KEY


@pytest.fixture
def start_daemon(tmp_path: Path, emulator: RunningEmulator) -> Iterator[StartDaemon]:
    """Start ``faas-gitops`` (daemon mode) on ``repo`` against ``emulator``; returns once it
    listens. ``api_key`` overrides the key it is given, ``target`` the API, ``state_dir`` its
    own fresh one (a restart passes the same); extra args are appended."""
    started: list[DaemonProcess] = []

    def start(
        repo: str | Path,
        *args: str,
        api_key: str = API_KEY,
        target: RunningEmulator | None = None,
        state_dir: Path | None = None,
    ) -> DaemonProcess:
        number = len(started)
        state_dir = state_dir or tmp_path / f"state-{number}"
        log_file = tmp_path / f"daemon-{number}.log"
        out_file = tmp_path / f"daemon-{number}.out"
        home = tmp_path / f"home-{number}"
        home.mkdir()
        api = target or emulator
        argv = [
            sys.executable, "-m", "faas_gitops.cli",
            "--repo", str(repo),
            "--api-url", api.url,
            "--state-dir", str(state_dir),
            "--listen", "127.0.0.1:0",
            "--log-format", "json",
            *args,
        ]  # fmt: skip
        with log_file.open("wb") as err, out_file.open("wb") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=daemon_env(home, api_key),
                cwd=tmp_path,
            )
        daemon = DaemonProcess(process, log_file, out_file, state_dir)
        started.append(daemon)

        def listening() -> str | None:
            if process.poll() is not None:
                raise AssertionError(
                    f"the daemon exited with {process.returncode}:\n{daemon.log_text()}"
                )
            events = daemon.events("daemon.started")
            return str(events[0]["listen"]) if events else None

        daemon.url = "http://" + wait_until(listening, "the daemon.started event")
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
    for daemon in started:
        text = daemon.log_text() + daemon.out_file.read_text(errors="replace")
        assert API_KEY not in text, "the API key appeared in the daemon's output"


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, as CI installs it), for the status page tests."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip("no /usr/bin/chromium here (CI installs it and runs this test)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this test needs it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()

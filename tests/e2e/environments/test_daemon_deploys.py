"""The daemon (a real subprocess) deploys every commit on main to staging, and says so in
``/readyz`` and ``/metrics``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.environments.environments_support import PACKAGES, STAGING, Env
from tests.harness import API_KEY

pytestmark = pytest.mark.both_modes


DEADLINE_S = 15.0  # generous, for a loaded machine; the 2 s promise is checked on its own


def wait_for(check: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def daemon(env: Env, tmp_path: Path) -> Iterator[str]:
    """A daemon on ``env``'s repository and emulator, watching the checkout; its base URL."""
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAAS_", "GIT_"))}
    clean.update({"FAAS_API_KEY": API_KEY, "HOME": str(home), "PYTHONUNBUFFERED": "1",
                  "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})  # fmt: skip
    log_file = tmp_path / "daemon.log"
    argv = [sys.executable, "-m", "faas_gitops.cli", *env.base(), "--listen", "127.0.0.1:0",
            "--interval", "60", "--resync-interval", "600"]  # fmt: skip
    with log_file.open("wb") as err:
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=clean
        )

    def listening() -> str | None:
        assert process.poll() is None, log_file.read_text(errors="replace")
        for line in log_file.read_text(errors="replace").splitlines():
            if line.startswith("{") and json.loads(line).get("event") == "daemon.started":
                return str(json.loads(line)["listen"])
        return None

    try:
        yield "http://" + wait_for(listening, "the daemon to listen")
    finally:
        process.kill()
        process.wait(DEADLINE_S)
        assert API_KEY not in log_file.read_text(errors="replace")


@pytest.mark.slow
def test_the_daemon_deploys_a_commit_on_main_to_staging_within_two_seconds(
    env: Env, daemon: str
) -> None:
    wait_for(lambda: len(env.running(STAGING)) == len(PACKAGES), "the startup sync's deploys")
    wait_for(lambda: httpx.get(f"{daemon}/readyz").status_code == 200, "/readyz to be 200")
    env.repo.write("presence-tracker/presence-tracker.js", "export default (r) => r.ok(); // 2\n")
    sha = env.repo.commit("Count presence differently")

    wait_for(
        lambda: env.running(STAGING).get("presence-tracker", "").startswith(sha[:12]),
        "the new commit's revision to run on staging",
        timeout=2.0,  # the promise: a deadline to poll against, not a benchmark
    )

    def counted() -> str | None:
        text = httpx.get(f"{daemon}/metrics").text
        wanted = 'faas_gitops_deployments_total{environment="staging",result="deployed"} 4.0'
        return text if wanted in text else None

    metrics = wait_for(counted, "the deployments to be counted")
    assert (
        'faas_gitops_deployed_revision_info{environment="staging",package="presence-tracker",'
        f'revision="{sha[:12]}"}} 1.0'
    ) in metrics
    assert metrics.count('package="presence-tracker"') == 1  # the old revision's series is gone
    body = httpx.get(f"{daemon}/readyz").json()
    assert (body["ready"], body["failingDeployments"]) == (True, [])

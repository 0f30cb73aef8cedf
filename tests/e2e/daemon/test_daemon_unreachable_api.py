"""The daemon against an API that does not answer: each sync fails once at its probe, names the
host and the cause, backs off, and the daemon stays alive and unready."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.daemon.daemon_support import StartDaemon, wait_until
from tests.gitrepo import GitRepo


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.slow
def test_an_unreachable_api_fails_each_sync_once_backs_off_and_keeps_the_daemon_unready(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    daemon = start_daemon(repo.root, "--interval", "60", "--api-url", url)

    failed = wait_until(lambda: daemon.events("sync.failed")[1:], "two failed syncs")

    assert failed[0]["error"] == (
        f"--api-url {url}: GET /v2/faas/packages: connection refused to 127.0.0.1:{port}"
        " (gave up after 3 tries)"
    )
    delays = [event["delay_s"] for event in daemon.events("sync.retry_scheduled")]
    assert delays[:2] == [1.0, 2.0]  # backoff between syncs, not within one
    assert not daemon.events("package.failed")  # no per-package repetition
    # Two short probe retries per failed sync, not the full budget once per package.
    assert len(daemon.events("api.retry")) <= 2 * len(daemon.events("sync.failed")) + 2
    readiness = daemon.get("/readyz")
    assert readiness.status_code == 503
    assert "connection refused" in readiness.json()["lastError"]
    assert daemon.get("/healthz").status_code == 200
    assert daemon.process.poll() is None

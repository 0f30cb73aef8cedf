"""Soak: the daemon under 500 half-open connections and 50 slow-body uploads, kept up for
20 s on loopback while commits land. ``/healthz`` answers within 1 s throughout, every commit
becomes a revision, and once the flood stops reconnecting, the connections the daemon holds
fall back to the baseline within its read timeout."""

from __future__ import annotations

import contextlib
import resource
import selectors
import socket
import threading
import time
from functools import partial

import httpx
import pytest

from faas_gitops.daemon.listener import READ_TIMEOUT_S
from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import DaemonProcess, StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID

HALF_OPEN = 500
SLOW_BODIES = 50
FLOOD_S = 20.0
COMMITS = 4
QUIET = ("--interval", "60", "--resync-interval", "600")
OPEN_GAUGE = "faas_gitops_http_connections"


class Flood:
    """Keeps ``HALF_OPEN`` silent connections and ``SLOW_BODIES`` drip-fed uploads open,
    reconnecting each one the daemon drops, until ``stop_reconnecting()``."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.selector = selectors.DefaultSelector()
        self.reconnecting = True
        self.stopped = threading.Event()
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        for _ in range(HALF_OPEN):
            self._open(slow=False)
        for _ in range(SLOW_BODIES):
            self._open(slow=True)
        self.thread.start()

    def stop_reconnecting(self) -> None:
        self.reconnecting = False

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()

    def _open(self, *, slow: bool) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.setblocking(False)
        if slow:
            sock.sendall(
                b"POST /hooks/sync HTTP/1.1\r\nHost: daemon\r\nContent-Length: 100000\r\n\r\n"
            )
        self.selector.register(sock, selectors.EVENT_READ, slow)

    def _run(self) -> None:
        next_drip = time.monotonic()
        while not self.stopped.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data == b"":
                    self.selector.unregister(sock)
                    sock.close()
                    self.dropped += 1
                    if self.reconnecting:
                        self._open(slow=bool(key.data))
            if time.monotonic() >= next_drip:
                next_drip += 0.5
                for key in list(self.selector.get_map().values()):
                    if key.data:
                        with contextlib.suppress(OSError):
                            key.fileobj.send(b"x")  # type: ignore[union-attr]


def has_revision(emulator: RunningEmulator, sha: str) -> bool:
    return any(rev["name"].startswith(sha[:12]) for rev in emulator.store.revisions(CHAT_ID))


def open_connections(daemon: DaemonProcess) -> float:
    return daemon.metrics()[OPEN_GAUGE]


@pytest.mark.slow
def test_the_daemon_stays_healthy_and_syncs_every_commit_under_a_connection_flood(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < wanted:  # the daemon inherits it: its connection cap is half of it
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        daemon = start_daemon(repo.root, *QUIET)
        daemon.wait_ready()
        baseline = open_connections(daemon)  # the scrape's own connection
        host, port = daemon.url.removeprefix("http://").rsplit(":", 1)
        flood = Flood(host, int(port))
        flood.start()
        try:
            wait_until(
                lambda: open_connections(daemon) >= HALF_OPEN + SLOW_BODIES,
                "the daemon to hold the flood's connections",
            )
            commits: list[str] = []
            probes = 0
            started = time.monotonic()
            while time.monotonic() - started < FLOOD_S:
                answer = httpx.get(daemon.url + "/healthz", timeout=1.0)  # raises after 1 s
                assert answer.status_code == 200, answer.text
                probes += 1
                elapsed = time.monotonic() - started
                if len(commits) < COMMITS and elapsed > len(commits) * FLOOD_S / COMMITS:
                    path = repo.root / "chat-moderation" / "audit-log.js"
                    path.write_text(path.read_text() + f"\n// soak commit {len(commits)}\n")
                    commits.append(repo.commit(f"Soak commit {len(commits)}"))
                time.sleep(0.25)
            assert flood.dropped >= HALF_OPEN  # the daemon dropped them and they came back
            for sha in commits:
                wait_until(partial(has_revision, emulator, sha), f"the revision of {sha[:12]}")
            flood.stop_reconnecting()
            wait_until(
                lambda: open_connections(daemon) <= baseline,
                "the connections to fall back to the baseline",
                timeout=READ_TIMEOUT_S + 5,
            )
        finally:
            flood.close()
        assert probes >= FLOOD_S  # about four a second, every one answered within 1 s
        assert (
            daemon.metrics()['faas_gitops_http_connections_dropped_total{reason="read_timeout"}']
            >= HALF_OPEN
        )
        assert daemon.events("http.connection_dropped")  # said, once a minute at most
        assert len(daemon.events("http.connection_dropped")) <= 2
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

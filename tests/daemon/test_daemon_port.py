"""The daemon's port against hostile and careless clients, on a real uvicorn server on loopback:
silent, slow-header and slow-body connections are dropped within the read timeout, the
connection cap holds, a replayed webhook delivery does not sync twice, no redirect points at a
host from the request, and descriptor exhaustion is named for what it is."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from structlog.testing import capture_logs

from faas_gitops.daemon.fd import OnceEvery, describe_os_error, out_of_fds_hint
from faas_gitops.daemon.listener import (
    ConnectionGuard,
    HttpServer,
    build_server,
    install_fd_exhaustion_handler,
    is_loopback,
)
from faas_gitops.daemon.metrics import Metrics
from faas_gitops.daemon.replay import DeliveryLog
from faas_gitops.daemon.server import LoopState, create_app

READ_TIMEOUT = 1.0
#: How long a test waits for the server to close a connection: the timeout plus slack.
DROP_WAIT = READ_TIMEOUT + 4.0
SECRET = b"port-secret"


@dataclass
class Running:
    host: str
    port: int
    guard: ConnectionGuard
    metrics: Metrics
    webhooks: list[str]

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=DROP_WAIT)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[Running]:
    """The daemon's app under the daemon's hardened uvicorn, read timeout 1 s, cap 8."""
    state = LoopState(unready_after=3, stuck_after=60)
    metrics = Metrics()
    webhooks: list[str] = []

    def on_webhook() -> bool:
        webhooks.append("webhook")
        return True

    app = create_app(state, metrics, on_webhook, webhook_secret=SECRET)
    guard = ConnectionGuard(read_timeout=READ_TIMEOUT, max_connections=8, metrics=metrics)
    uvicorn_server: HttpServer = build_server(app, guard)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    host, port = sock.getsockname()
    thread = threading.Thread(
        target=lambda: asyncio.run(uvicorn_server.serve(sockets=[sock])), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Running(host, port, guard, metrics, webhooks)
    uvicorn_server.should_exit = True
    thread.join(10)
    sock.close()


def closed_by_server(sock: socket.socket, *, drip: bytes = b"") -> float:
    """Seconds until the server closes ``sock``; sends ``drip`` one byte every 0.2 s meanwhile.

    Fails when the connection is still open after ``DROP_WAIT``.
    """
    started = time.monotonic()
    sock.settimeout(0.2)
    position = 0
    while time.monotonic() - started < DROP_WAIT:
        if position < len(drip):
            try:
                sock.sendall(drip[position : position + 1])
            except OSError:
                return time.monotonic() - started
            position += 1
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
        if data == b"":
            return time.monotonic() - started
    raise AssertionError(f"the server kept the connection open for {DROP_WAIT} s")


def signed(body: bytes, delivery: str | None = None) -> dict[str, str]:
    headers = {
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    }
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return headers


# --------------------------------------------------------------------------- read timeouts
@pytest.mark.slow
def test_a_connection_that_sends_nothing_is_closed_after_the_read_timeout(
    server: Running,
) -> None:
    with server.connect() as sock:
        closed_by_server(sock)
    dropped = server.metrics.http_connections_dropped.labels(reason="read_timeout")
    assert dropped._value.get() == 1


@pytest.mark.slow
def test_headers_sent_a_byte_at_a_time_do_not_keep_the_connection_open(
    server: Running,
) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: daemon\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    with server.connect() as sock:
        closed_by_server(sock, drip=request)  # 100+ bytes at 5 per second: not done in 1 s


@pytest.mark.slow
def test_a_body_sent_a_byte_at_a_time_does_not_keep_the_connection_open(
    server: Running,
) -> None:
    body = b"x" * 100
    head = (
        b"POST /hooks/sync HTTP/1.1\r\nHost: daemon\r\nContent-Length: 100\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed(body).items()).encode()
        + b"\r\n"
    )
    with server.connect() as sock:
        sock.sendall(head)
        closed_by_server(sock, drip=body)
    assert server.webhooks == []


@pytest.mark.slow
def test_a_prompt_client_is_answered_and_its_kept_alive_connection_keeps_working(
    server: Running,
) -> None:
    with httpx.Client() as http:
        for _ in range(3):
            assert http.get(server.url("/healthz")).status_code == 200
            time.sleep(READ_TIMEOUT * 0.6)  # idle between requests is the keep-alive's business
    assert server.metrics.http_connections_dropped.labels(reason="read_timeout")._value.get() == 0


def test_connections_over_the_cap_are_closed_at_once_and_the_others_still_work(
    server: Running,
) -> None:
    held = [server.connect() for _ in range(server.guard.max_connections)]
    try:
        deadline = time.monotonic() + 5
        while server.guard.open < len(held):
            assert time.monotonic() < deadline, "the server did not see the connections"
            time.sleep(0.02)
        with server.connect() as extra:
            assert closed_by_server(extra) < READ_TIMEOUT  # not the read timeout: the cap
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: daemon\r\n\r\n")
        held[0].settimeout(5)
        assert held[0].recv(4096).startswith(b"HTTP/1.1 200")
        dropped = server.metrics.http_connections_dropped.labels(reason="connection_cap")
        assert dropped._value.get() == 1
    finally:
        for sock in held:
            sock.close()


# --------------------------------------------------------------------------- webhook replay
@pytest.mark.slow
def test_a_replayed_delivery_is_answered_as_a_duplicate_without_a_second_sync(
    server: Running,
) -> None:
    body = b'{"ref": "refs/heads/main"}'
    with httpx.Client() as http:
        first = http.post(server.url("/hooks/sync"), content=body, headers=signed(body, "d-1"))
        again = http.post(server.url("/hooks/sync"), content=body, headers=signed(body, "d-1"))
        other = http.post(server.url("/hooks/sync"), content=body, headers=signed(body, "d-2"))
        bare = http.post(server.url("/hooks/sync"), content=body, headers=signed(body))
    assert (first.status_code, first.json()) == (202, {"accepted": True})
    duplicate = (200, {"accepted": False, "duplicate": True})
    for answer in (again, other, bare):  # the signature covers the body, not the delivery id
        assert (answer.status_code, answer.json()) == duplicate
    assert server.webhooks == ["webhook"]
    assert server.metrics.webhook_requests.labels(result="duplicate")._value.get() == 3


@pytest.mark.slow
def test_an_unsigned_delivery_id_is_not_remembered(server: Running) -> None:
    body = b"{}"
    with httpx.Client() as http:
        forged = http.post(
            server.url("/hooks/sync"), content=body, headers={"X-GitHub-Delivery": "d-9"}
        )
        real = http.post(server.url("/hooks/sync"), content=body, headers=signed(body, "d-9"))
    assert (forged.status_code, real.status_code) == (401, 202)
    assert server.webhooks == ["webhook"]


def test_the_delivery_log_forgets_the_oldest_id_first() -> None:
    log = DeliveryLog(size=2)
    for delivery in ("a", "b"):
        log.remember(delivery)
    assert log.seen("a")  # now the newest
    log.remember("c")
    assert (log.seen("a"), log.seen("b"), log.seen("c")) == (True, False, True)


# --------------------------------------------------------------------------- redirects
@pytest.mark.parametrize("path", ["/healthz/", "/readyz/", "/metrics/", "/hooks/sync/"])
def test_no_path_redirects_to_a_host_taken_from_the_request(server: Running, path: str) -> None:
    with httpx.Client(follow_redirects=False) as http:
        answer = http.get(server.url(path), headers={"Host": "evil.example"})
    assert answer.status_code == 404
    assert "location" not in answer.headers


# --------------------------------------------------------------------------- descriptors
def test_emfile_is_described_as_running_out_of_file_descriptors() -> None:
    exc = OSError(errno.EMFILE, "Too many open files")
    message = describe_os_error(exc)
    assert message is not None
    assert message.startswith("the process ran out of file descriptors (")
    assert "raise its limit" in message
    wrapped = RuntimeError("git failed")
    wrapped.__cause__ = exc
    assert describe_os_error(wrapped) == describe_os_error(exc)
    assert describe_os_error(OSError(errno.ENOENT, "No such file")) is None


def test_a_git_failure_is_left_alone_while_descriptors_remain() -> None:
    assert out_of_fds_hint("fatal: not a git repository") == "fatal: not a git repository"


@pytest.mark.usefixtures("unfiltered_logs")
def test_accept_failing_with_emfile_is_logged_once_per_interval_without_a_traceback() -> None:
    async def scenario() -> None:
        install_fd_exhaustion_handler(asyncio.get_running_loop())
        for _ in range(5):
            asyncio.get_running_loop().call_exception_handler(
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(errno.EMFILE, "Too many open files"),
                }
            )

    with capture_logs() as events:
        asyncio.run(scenario())
    [event] = [e for e in events if e["event"] == "http.out_of_file_descriptors"]
    assert event["log_level"] == "error"
    assert event["error"].startswith("the process ran out of file descriptors")


def test_repeated_messages_pass_once_per_interval_and_count_the_rest() -> None:
    now = [0.0]
    limiter = OnceEvery(60, clock=lambda: now[0])
    assert [limiter.allow("x"), limiter.allow("x"), limiter.allow("x")] == [0, None, None]
    now[0] = 61
    assert limiter.allow("x") == 2


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)],  # noqa: S104
)
def test_only_loopback_listen_addresses_count_as_private(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

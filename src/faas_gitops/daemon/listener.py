"""uvicorn for the daemon's port, hardened against clients that hold connections open.

uvicorn's h11 protocol has a keep-alive timeout for idle connections *between* requests, but
none while a request is being read: a client that connects and sends nothing, or sends its
headers or body a byte at a time, holds a connection (and a file descriptor) forever. Enough of
them and the process runs out of descriptors, so git, SQLite and the probes all fail.

``GuardedH11Protocol`` adds the missing read deadline: from the moment a request starts (the
connection is made, or the first byte of the next request arrives) the whole request, headers
and body, must be in within ``read_timeout`` seconds, or the connection is closed. It also caps
open connections: one over the cap is closed as soon as it is accepted. The cap follows the
process's descriptor limit (half of it), leaving the rest for git, SQLite and the API pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Generator
from typing import Any, ClassVar

import h11
import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from faas_gitops.daemon.fd import FD_ERRNOS, OnceEvery, fd_limit, out_of_fds_message
from faas_gitops.daemon.metrics import Metrics
from faas_gitops.errors import ConfigError

log = structlog.get_logger(__name__)

#: A whole request (headers and body) must arrive within this many seconds of its first byte,
#: or of the connection being made. GitHub sends a webhook in one go; probes are one packet.
READ_TIMEOUT_S = 10.0
#: An idle kept-alive connection is closed after this long (uvicorn's own timer).
KEEP_ALIVE_S = 5
#: uvicorn's own grace for open HTTP connections at shutdown (probes are instant).
HTTP_SHUTDOWN_S = 2
#: The same error (accept failing for want of descriptors) is logged at most once per minute.
REPEAT_LOG_INTERVAL_S = 60.0


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6; port 0 picks a free one) or ``ConfigError``."""
    host, sep, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"--listen {listen}: expected HOST:PORT, e.g. 0.0.0.0:8080")
    return host, int(port_text)


def bind_socket(listen: str) -> socket.socket:
    """Bind the listener before anything starts, so a taken port is exit 2, not a dead task."""
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--listen {listen}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def is_loopback(host: str) -> bool:
    """Whether ``--listen``'s host is reachable only from this machine (or pod)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_max_connections() -> int:
    """Half the descriptor limit, between 64 and 4,096 connections."""
    return max(64, min(4096, fd_limit() // 2))


class ConnectionGuard:
    """What every connection of one server shares: the limits, and the counts for /metrics."""

    def __init__(
        self,
        *,
        read_timeout: float = READ_TIMEOUT_S,
        max_connections: int | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.read_timeout = read_timeout
        self.max_connections = max_connections or default_max_connections()
        self.metrics = metrics
        self.open = 0
        self._logged = OnceEvery(REPEAT_LOG_INTERVAL_S)

    def opened(self) -> None:
        self.open += 1
        if self.metrics is not None:
            self.metrics.http_connections.set(self.open)

    def closed(self) -> None:
        self.open -= 1
        if self.metrics is not None:
            self.metrics.http_connections.set(self.open)

    def dropped(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.http_connections_dropped.labels(reason=reason).inc()
        suppressed = self._logged.allow(reason)
        if suppressed is not None:
            log.warning(
                "http.connection_dropped",
                reason=reason,
                read_timeout_s=self.read_timeout,
                max_connections=self.max_connections,
                suppressed=suppressed,
            )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a whole-request read deadline and a connection cap."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        over_cap = len(self.connections) >= self.guard.max_connections
        super().connection_made(transport)
        if over_cap:
            self.guard.dropped("connection_cap")
            transport.close()
            return
        self._counted = True
        self.guard.opened()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted:
            self._counted = False
            self.guard.closed()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm()  # a request has begun and is not complete: its clock runs (once)
        else:
            self._disarm()  # the request is in; the answer is ours to take time over

    def on_response_complete(self) -> None:
        # A kept-alive connection idles under uvicorn's keep-alive timer until the next
        # request's first byte; that byte arms the read deadline again.
        self._disarm()
        super().on_response_complete()

    def _arm(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(
                self.guard.read_timeout, self._read_timed_out
            )

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing() or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            return
        self.guard.dropped("read_timeout")
        self.transport.abort()  # nothing of ours is waiting to be written: drop it now


class HttpServer(uvicorn.Server):
    """uvicorn without its signal capture: the daemon owns SIGTERM/SIGINT (ordered shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def build_server(app: Any, guard: ConnectionGuard) -> HttpServer:
    """A uvicorn server for ``app`` whose connections all obey ``guard``."""
    protocol = type("DaemonH11Protocol", (GuardedH11Protocol,), {"guard": guard})
    return HttpServer(
        uvicorn.Config(
            app,
            http=protocol,
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=guard.max_connections + 1,
            timeout_graceful_shutdown=HTTP_SHUTDOWN_S,
        )
    )


def install_fd_exhaustion_handler(loop: asyncio.AbstractEventLoop) -> None:
    """Replace asyncio's traceback per failed ``accept()`` with one line a minute.

    asyncio retries ``accept()`` every second after EMFILE and reports each failure through the
    loop's exception handler, which by default prints a full traceback: 124 MB of stderr in 25 s
    under a connection flood. This handler names the cause once and leaves every other report
    to the default handler.
    """
    limiter = OnceEvery(REPEAT_LOG_INTERVAL_S)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in FD_ERRNOS:
            suppressed = limiter.allow("accept")
            if suppressed is not None:
                log.error(
                    "http.out_of_file_descriptors",
                    error=out_of_fds_message(),
                    detail=str(context.get("message", "")),
                    suppressed=suppressed,
                )
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


__all__ = [
    "HTTP_SHUTDOWN_S",
    "KEEP_ALIVE_S",
    "READ_TIMEOUT_S",
    "ConnectionGuard",
    "GuardedH11Protocol",
    "HttpServer",
    "bind_socket",
    "build_server",
    "default_max_connections",
    "install_fd_exhaustion_handler",
    "is_loopback",
    "parse_listen",
]

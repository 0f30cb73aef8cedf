"""Local HTTP receivers on 127.0.0.1:0 that record every request, for the notification tests.

Each is a real ``http.server`` in a thread: the notifier's requests go through a real socket,
so timeouts, retries and headers are exercised as they are in production.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = Callable[[Recorded], tuple[int, bytes]]


@dataclass
class Receiver:
    """``reply`` decides each answer; ``hold`` (when set) keeps requests open until released."""

    reply: Reply
    requests: list[Recorded] = field(default_factory=list)
    hold: threading.Event | None = None
    url: str = ""
    arrived: threading.Event = field(default_factory=threading.Event)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck test client must not keep a server thread forever

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                recorded = Recorded(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                receiver.requests.append(recorded)
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(10)
                status, body = receiver.reply(recorded)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up on us: what a dead receiver test wants

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        return Handler


def always(status: int, body: bytes = b"ok") -> Reply:
    return lambda _request: (status, body)


def sequence(*statuses: int) -> Reply:
    """Answer with these statuses in turn, then with the last one for ever."""
    answers = list(statuses)

    def reply(_request: Recorded) -> tuple[int, bytes]:
        return (answers.pop(0) if len(answers) > 1 else answers[0]), b"{}"

    return reply


@contextmanager
def serve(receiver: Receiver, port: int = 0) -> Iterator[Receiver]:
    """``receiver`` on loopback; ``port`` 0 is any free one, else that one (a receiver that was
    down at that address and is back)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (bound then closed: connections are refused)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/hook"

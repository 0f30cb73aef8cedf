"""An API that answers from a recording: the emulator's answers without the emulator's cost.

    python -m benchmarks.replay_api UPSTREAM_URL LATENCY_MS

Serves HTTP/1.1 keep-alive on a free loopback port (printed as one line, ``PORT``, once it
listens). A ``GET`` it has not seen yet (by path and query, the parameters in any order) is
forwarded to ``UPSTREAM_URL`` (the emulator) with the request's ``Authorization`` and
``PubNub-Version`` headers, and its answer kept; every ``GET`` is answered from what was kept,
after ``LATENCY_MS``. Anything else is answered 405.

Why: the emulator computes every revision's and package's deployment counters by scanning
every deployment on each read, so at 1,000 packages on two keysets it spends ~5 ms of CPU per
request on one event loop and becomes the bottleneck of an in-sync run: what the reconciler and
a bare client then measure is the emulator. Replayed, the server's cost per request is a dict
lookup, like ``benchmarks/null_api.py``, but the answers are the real ones, so the reconciler
runs its real in-sync path. ``benchmarks.sync`` records a run first (forwarded), then measures.

``GET /__replay/reset`` zeroes the counters; ``GET /__replay/stats`` answers them as JSON:
``requests`` and ``misses`` since the reset, and ``api_phase_s`` (first request's arrival to
the last answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit

_IDLE_S = 30.0
_FORWARDED = ("authorization", "pubnub-version")


class Replay:
    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.kept: dict[str, tuple[int, bytes]] = {}
        self.requests = self.misses = 0
        self.first: float | None = None
        self.last = 0.0

    @staticmethod
    def key(target: str) -> str:
        parts = urlsplit(target)
        return parts.path + "?" + urlencode(sorted(parse_qsl(parts.query)))

    def forward(self, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(self.upstream + target, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    async def answer(self, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if target.startswith("/__replay/"):
            if target.startswith("/__replay/reset"):
                self.requests = self.misses = 0
                self.first, self.last = None, 0.0
            phase = (self.last - self.first) if self.first is not None else 0.0
            stats = {"requests": self.requests, "misses": self.misses, "api_phase_s": phase}
            return 200, json.dumps(stats).encode()
        arrived = time.monotonic()
        if self.first is None:
            self.first = arrived
        self.requests += 1
        key = self.key(target)
        kept = self.kept.get(key)
        if kept is None:
            self.misses += 1
            kept = await asyncio.to_thread(self.forward, target, headers)
            if kept[0] == 200:
                self.kept[key] = kept
        else:
            await asyncio.sleep(self.delay)
        self.last = time.monotonic()
        return kept


def _head(raw: bytes) -> tuple[str, str, dict[str, str], int]:
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name in _FORWARDED:
            headers[name] = value.strip()
    return method, target, headers, length


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replay: Replay
) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        while True:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE_S)
            method, target, headers, length = _head(raw)
            if length:
                await asyncio.wait_for(reader.readexactly(length), _IDLE_S)
            if method == "GET":
                status, body = await replay.answer(target, headers)
            else:
                status, body = 405, b'{"errors":[{"message":"replay answers GET only"}]}'
            writer.write(
                b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                % (status, len(body))
                + body
            )
            await writer.drain()
    writer.close()


async def _main(upstream: str, latency_ms: int) -> None:
    replay = Replay(upstream, latency_ms / 1000)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve(reader, writer, replay)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(argv[0], int(argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""An API that does nothing but wait: the floor under any HTTP client on this machine.

    python -m benchmarks.null_api LATENCY_MS

Serves HTTP/1.1 keep-alive on a free loopback port (printed as one line, ``PORT``, once it
listens) and answers every request, whatever its method or path, with the same tiny JSON
revision list after ``LATENCY_MS``. It parses nothing but the request head and any
``content-length`` body, so its own cost per request is a few microseconds: what
``benchmarks.bare_client`` measures against it is the client's and the event loop's cost alone,
without the emulator's routing, validation and store. ``benchmarks.sync`` runs it in its own
process as the ``bare-client-null-api`` scenario; the gap between that and ``bare-client`` is
the emulator's, the gap between ``bare-client`` and ``cold-equal`` is faas-gitops's.

Every read has a timeout (an idle keep-alive connection is closed after ``_IDLE_S``), so a
client that stops talking never holds a task forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

_IDLE_S = 30.0
_BODY = b'{"status":200,"data":[],"paging":{"page":0,"size":100,"total":0}}'
_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(_BODY)
    + _BODY
)


def _body_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE_S)
            length = _body_length(head)
            if length:
                await asyncio.wait_for(reader.readexactly(length), _IDLE_S)
            await asyncio.sleep(delay)
            writer.write(_ANSWER)
            await writer.drain()
    writer.close()


async def _main(latency_ms: int) -> None:
    delay = latency_ms / 1000

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve(reader, writer, delay)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(int(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Large package reads in a child process (``source.read_worker``) instead of the git thread.

Why: a package's read is pure-Python CPU; in the git thread it holds the GIL the event loop
needs to send and answer requests, so a cold sync of 1,000 packages waits ~0.4 s longer on the
API than the same requests alone would (BENCHMARKS.md, issue 25). The child reads on another
core. It is started only for a read of at least ``PROCESS_AT`` packages: below that the reads
cost less than starting a Python process (~0.45 s of CPU on the other core, ~45 MB while the
read lasts). The git thread reads the first chunks while the child starts; every chunk asked
for once the child said it is ready goes to it, in order, one at a time.

The child is a speed-up, never a new way for a sync to fail: one that does not start, dies,
or answers what cannot be read is let go with one warning, and the git thread reads the rest.
An error *reading* a package is the repository's, raised here as the thread would raise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import structlog

from faas_gitops.models import DesiredPackage, PackageFailure, PackageRef
from faas_gitops.source import Repository
from faas_gitops.source.limits import SizeLimits
from faas_gitops.source.read_worker import HEADER, READY

log = structlog.get_logger(__name__)

#: Packages a read must hold before a child process reads them.
PROCESS_AT = 256
_STOP_S = 5.0
_LAST_WORDS = 4096  # bytes of the child's stderr kept for the warning

Items = list[DesiredPackage | PackageFailure]


def worker_environment() -> dict[str, str]:
    """This process's environment without faas-gitops's own variables: the child needs no API
    key, token or webhook secret, so it is never handed one."""
    return {name: value for name, value in os.environ.items() if not name.startswith("FAAS_")}


class ReadProcess:
    """One running ``read_worker``; ``read`` answers ``None`` once it can no longer be used."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        if process.stdin is None or process.stdout is None:  # pragma: no cover - PIPE asked
            raise RuntimeError("read worker started without its pipes")
        self._process = process
        self._stdin: asyncio.StreamWriter = process.stdin
        self._stdout: asyncio.StreamReader = process.stdout
        self._turn = asyncio.Lock()
        self._ready = False
        self._gone = False
        self._handshake = asyncio.ensure_future(self._await_ready())
        # Read all along, never only at the end: a child whose stderr pipe filled up would
        # block mid-answer, and the sync with it.
        self._said = bytearray()
        self._listening = asyncio.ensure_future(self._listen(process.stderr))

    @classmethod
    async def start(cls, location: Path) -> ReadProcess | None:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "faas_gitops.source.read_worker", str(location),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=worker_environment(),
            )  # fmt: skip
        except OSError as exc:
            log.warning("read_worker.not_started", reason=" ".join(str(exc).split()))
            return None
        return cls(process)

    @property
    def ready(self) -> bool:
        return self._ready and not self._gone

    async def read(self, refs: Sequence[PackageRef], limits: SizeLimits) -> Items | None:
        """The packages, as ``Repository.read_packages`` returns them; ``None`` when the child
        is not ready or has gone (the caller reads them in the git thread)."""
        async with self._turn:
            if not self.ready:
                return None
            done = False
            try:
                self._send((list(refs), limits))
                await self._drain()
                answer = await self._frame()
                done = True
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError) as exc:
                await self._let_go(f"its pipe broke ({type(exc).__name__})")
                return None
            finally:
                if not done:  # cancelled mid-frame: the stream can no longer be trusted
                    self._gone = True
        if not (isinstance(answer, tuple) and len(answer) == 2 and answer[0] in ("ok", "error")):
            await self._let_go("it answered something else than packages")
            return None
        kind, value = answer
        if kind == "error":
            raise value if isinstance(value, BaseException) else RuntimeError(repr(value))
        items: Items = value
        return items

    async def close(self) -> None:
        """End the child: its stdin closed, then killed if it has not gone within seconds."""
        for task in (self._handshake, self._listening):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), _STOP_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()

    # -- the pipe --------------------------------------------------------------------------

    async def _await_ready(self) -> None:
        try:
            first = await self._frame()
        except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError):
            first = None
        if first == READY:
            self._ready = True
        else:
            await self._let_go("it did not start")

    async def _listen(self, stderr: asyncio.StreamReader | None) -> None:
        """Keep the last ``_LAST_WORDS`` bytes the child writes to stderr."""
        if stderr is None:  # pragma: no cover - PIPE asked
            return
        while chunk := await stderr.read(_LAST_WORDS):
            self._said += chunk
            del self._said[:-_LAST_WORDS]

    def _send(self, value: object) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._stdin.write(HEADER.pack(len(payload)) + payload)

    async def _drain(self) -> None:
        await self._stdin.drain()

    async def _frame(self) -> object:
        (size,) = HEADER.unpack(await self._stdout.readexactly(HEADER.size))
        payload = await self._stdout.readexactly(size)
        return pickle.loads(payload)  # noqa: S301 - our own child, over its own pipe

    async def _let_go(self, why: str) -> None:
        """Stop using the child, with one warning naming why (its last line on stderr)."""
        if self._gone:
            return
        self._gone = True
        with contextlib.suppress(ProcessLookupError):  # it may have gone by itself
            self._process.kill()
        await self._process.wait()
        with contextlib.suppress(TimeoutError):  # the pipe ends with the child
            await asyncio.wait_for(asyncio.shield(self._listening), _STOP_S)
        said = bytes(self._said).decode("utf-8", "replace").strip()
        last = next(reversed(said.splitlines()), "")
        log.warning(
            "read_worker.stopped",
            reason=why,
            said=" ".join(last.split())[:300] or None,
            then="the sync's git thread reads the rest",
        )


@contextlib.asynccontextmanager
async def read_process(source: Repository, packages: int) -> AsyncIterator[ReadProcess | None]:
    """A child reading from ``source`` for a read of ``packages``, or ``None`` (too few)."""
    helper = await ReadProcess.start(source.location) if packages >= PROCESS_AT else None
    try:
        yield helper
    finally:
        if helper is not None:
            await helper.close()


__all__ = ["PROCESS_AT", "ReadProcess", "read_process", "worker_environment"]

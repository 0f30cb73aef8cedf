"""A child process that reads package directories from git, beside the sync's event loop.

    python -m faas_gitops.source.read_worker REPOSITORY

Why a process: reading a package (tree entries, ``package.yaml`` through PyYAML, building the
functions) is pure-Python CPU, ~0.4 ms a package. In the sync's git thread it shares the GIL
with the event loop that sends and answers the API's requests, so on a cold run of 1,000
packages it stretches the API phase by about as much as it costs (~0.4 s, measured: the same
run with every package read *before* the first question ends no later, BENCHMARKS.md issue 25).
Here it runs on another core. ``reconcile.read_process`` starts it for large reads only.

The protocol is frames on stdin and stdout, each an 8-byte big-endian length and a pickle:
first one ``READY`` frame once the repository is open, then one answer per request
``(refs, limits)``: ``("ok", [DesiredPackage | PackageFailure, ...])`` or ``("error", exc)``
with what ``Repository.read_packages`` raised, for the parent to raise as the thread would.
Pickle is safe here: both ends are this program, started by and talking only to each other
over the child's own pipes. End of stdin ends the process.
"""

from __future__ import annotations

import pickle
import struct
import sys
from pathlib import Path
from typing import IO

from faas_gitops import process
from faas_gitops.models import PackageRef
from faas_gitops.source.limits import SizeLimits
from faas_gitops.source.repository import Repository

#: The frame header: the pickle's length in bytes.
HEADER = struct.Struct("!Q")
#: The first frame's payload: the repository is open, requests are welcome.
READY = "ready"


def write_frame(stream: IO[bytes], value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> object | None:
    """The next frame's value, or ``None`` at the end of the stream (also mid-frame)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    value: object = pickle.loads(payload)  # noqa: S301 - our own parent, over our own pipe
    return value


def serve(location: Path, requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer ``requests`` until they end, reading from the repository at ``location``."""
    with Repository(location) as source:
        write_frame(answers, READY)
        while (request := read_frame(requests)) is not None:
            refs: list[PackageRef]
            limits: SizeLimits
            refs, limits = request  # type: ignore[misc]
            try:
                answer: tuple[str, object] = ("ok", source.read_packages(refs, limits))
            except Exception as exc:  # noqa: BLE001 - handed to the parent, raised there
                answer = ("error", exc)
            try:
                write_frame(answers, answer)
            except (pickle.PicklingError, TypeError, AttributeError):
                write_frame(answers, ("error", RuntimeError(f"read worker: {answer[1]!r}")))


def main(argv: list[str] | None = None) -> int:
    process.start()
    args = sys.argv[1:] if argv is None else argv
    try:
        serve(Path(args[0]), sys.stdin.buffer, sys.stdout.buffer)
    except Exception as exc:  # noqa: BLE001 - the parent reads in its own thread instead
        print(f"faas-gitops read worker: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

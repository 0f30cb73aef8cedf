"""Many git objects in one pipelined ``git cat-file --batch`` conversation.

GitPython's persistent ``cat-file`` answers one object per round trip: write a sha, wait for
git to be scheduled, read the answer. On a loaded two-core machine a round trip costs 1-2 ms,
so a 1,000-package commit (a tree and four blobs each) spent 5-8 s in the git thread while the
API sat idle. Here every sha of a batch is written first and the answers are read back in
order: one round trip per batch, whatever its size.

The batch is capped so that the request lines always fit in the pipe's buffer (64 KiB on
Linux, 41 bytes a line): the write never blocks, so git can never be stuck writing answers we
are not yet reading while we are stuck writing requests it is not yet reading.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from faas_gitops.errors import SourceError

MAX_BATCH = 1024
_DRAIN_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Fetched:
    """One object's answer: its type and size, and its bytes unless it was over the limit."""

    type: str
    size: int
    data: bytes | None


class CatFileBatch:
    """One ``git cat-file --batch`` process, started on first use and kept until ``close()``."""

    def __init__(self, git_dir: Path | str) -> None:
        self._git_dir = str(git_dir)
        self._process: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
            self._process = subprocess.Popen(
                ["git", "--git-dir", self._git_dir, "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        return self._process

    def fetch(self, shas: Iterable[bytes], *, limit: int) -> Iterator[tuple[bytes, Fetched]]:
        """Each object of ``shas`` (binary ids), in order; bytes over ``limit`` are skipped.

        A missing object is a ``SourceError``: the shas come from trees of the same repository,
        so one that is absent means a damaged repository, not a bad package.
        """
        pending = list(dict.fromkeys(shas))
        for start in range(0, len(pending), MAX_BATCH):
            yield from self._one_batch(pending[start : start + MAX_BATCH], limit)

    def _one_batch(self, shas: list[bytes], limit: int) -> Iterator[tuple[bytes, Fetched]]:
        process = self._started()
        assert process.stdin is not None  # noqa: S101
        assert process.stdout is not None  # noqa: S101
        try:
            process.stdin.write(b"".join(sha.hex().encode() + b"\n" for sha in shas))
            process.stdin.flush()
            answers = [(sha, self._answer(process, sha, limit)) for sha in shas]
        except (OSError, ValueError) as exc:
            self.close()
            raise SourceError(
                f"git cat-file stopped answering ({exc}); run git fsck on the repository"
            ) from None
        yield from answers

    def _answer(self, process: subprocess.Popen[bytes], sha: bytes, limit: int) -> Fetched:
        assert process.stdout is not None  # noqa: S101
        header = process.stdout.readline().split()
        if len(header) != 3 or header[0] != sha.hex().encode():
            shown = b" ".join(header).decode("ascii", "replace") or "no answer"
            raise ValueError(f"object {sha.hex()}: {shown}")
        kind, size = header[1].decode("ascii"), int(header[2])
        if size > limit:
            left = size + 1  # the content and its trailing newline
            while left:
                chunk = process.stdout.read(min(left, _DRAIN_CHUNK))
                if not chunk:
                    raise ValueError(f"object {sha.hex()}: truncated answer")
                left -= len(chunk)
            return Fetched(kind, size, None)
        data = process.stdout.read(size + 1)
        if len(data) != size + 1:
            raise ValueError(f"object {sha.hex()}: truncated answer")
        return Fetched(kind, size, data[:-1])

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - git ignores a closed stdin
            process.kill()
            process.wait()


# A repository named by the environment would win over --git-dir for some commands; the
# reader must read the repository it was opened on.
_REPO_ENV = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"}
)

__all__ = ["MAX_BATCH", "CatFileBatch", "Fetched"]

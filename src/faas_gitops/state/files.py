"""The state directory on disk: creating it, and the lock file beside each store.

Every open connection holds its store's lock file shared; moving a damaged file aside takes it
exclusive. So a file another process still uses is never moved or deleted, and an opener that
meets a move in progress waits for it to finish.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from faas_gitops.errors import ConfigError


def ensure_state_dir(directory: Path) -> None:
    """Create the state dir 0700 before anything is written into it; one line if it cannot be."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"state dir {directory} cannot be created: {exc.strerror or exc}"
        ) from exc
    if not directory.is_dir():
        raise ConfigError(f"state dir {directory} is not a directory")


def move_aside(path: Path) -> Path | None:
    """Rename a damaged store file (with its WAL and shared memory) out of the way, but only if
    no other process has it open.

    Returns the new name, or ``None`` when another process holds it (the caller then works
    without the store for this run: a cache is an optimisation).
    """
    try:
        fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        return aside
    finally:
        os.close(fd)


def shared_lock(path: Path, *, timeout_s: float, create: bool = True) -> int | None:
    """Hold the store's lock file shared while connected (see ``move_aside``); the descriptor.

    A reader (``create=False``) takes it only if it exists: it creates nothing in the state dir.
    """
    try:
        if create:
            fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
        else:
            fd = os.open(_lock_path(path), os.O_RDONLY)
    except OSError as exc:
        if not create:
            return None
        raise ConfigError(
            f"state dir {path.parent} is not writable: {exc.strerror or exc}"
        ) from exc
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            # Someone is moving a damaged file aside right now: wait for them to finish.
            if time.monotonic() > deadline:
                os.close(fd)
                raise ConfigError(f"{path}: locked by another process for too long") from None
            time.sleep(0.01)
        else:
            return fd


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")

"""What the reliability tests share: a recognisable key, package builders, the CLI as a bounded
subprocess, and counting revisions in the emulator.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator

#: A key nobody could mistake for anything else: grepping for it finds every leak.
KEY = "sk-LEAKCHECK-" + secrets.token_hex(16)
#: Every subprocess wait is bounded by this; none is an assertion on timing.
DEADLINE_S = 90.0
_NAMESPACE = uuid.UUID("9a1c1f4e-4b7e-4d55-a0a4-52b7d1a0c0de")


def package_id(name: str) -> str:
    """A stable UUID for a package directory name (the API's ids are UUIDs)."""
    return str(uuid.uuid5(_NAMESPACE, name))


def manifest(pid: str, *, file: str = "main.js", function: str = "Main") -> str:
    return (
        f"packageId: {pid}\n"
        "functions:\n"
        f"  - name: {function}\n"
        "    type: BEFORE_PUBLISH\n"
        f"    file: {file}\n"
    )


def code(name: str, version: int = 1) -> str:
    return f"// {name} v{version}\nexport default (request) => request.ok();\n"


def package_files(name: str, version: int = 1) -> dict[str, bytes]:
    """One healthy package ``name/`` with one function, as a path -> bytes mapping."""
    return {
        f"{name}/package.yaml": manifest(package_id(name)).encode(),
        f"{name}/main.js": code(name, version).encode(),
    }


def many_packages(count: int, *, version: int = 1, changed: Sequence[int] = ()) -> dict[str, bytes]:
    """``count`` healthy packages ``pkg-000``...; those in ``changed`` get ``version + 1``."""
    files: dict[str, bytes] = {}
    for number in range(count):
        files.update(package_files(f"pkg-{number:03d}", version + (number in changed)))
    return files


def clean_env(home: Path, key: str | None = KEY, **extra: str) -> dict[str, str]:
    """No FAAS_* or GIT_* setting from the developer's shell; the key in FAAS_API_KEY."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FAAS_", "GIT_")) and name not in {"XDG_STATE_HOME"}
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if key is not None:
        env["FAAS_API_KEY"] = key
    env.update(extra)
    return env


@dataclass
class Finished:
    """A finished ``faas-gitops`` subprocess."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "faas_gitops.cli", *args]


def run_cli(*args: str, env: Mapping[str, str], cwd: Path, timeout: float = DEADLINE_S) -> Finished:
    """Run ``faas-gitops ARGS`` to completion (killed if it outlives ``timeout``)."""
    argv = cli_argv(*args)
    completed = subprocess.run(
        argv,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    return Finished(
        argv,
        completed.returncode,
        completed.stdout.decode(errors="replace"),
        completed.stderr.decode(errors="replace"),
    )


def kill_when(process: subprocess.Popen[bytes], reached: Callable[[], bool], waiting: str) -> None:
    """SIGKILL ``process`` the moment ``reached()`` holds; it must still be running by then
    (a sync that finished first proves nothing), and it never outlives the test."""
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not reached():
            assert process.poll() is None, "the sync finished before it could be killed"
            assert time.monotonic() < deadline, f"{waiting} in time"
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@contextmanager
def reaped() -> Iterator[list[subprocess.Popen[bytes]]]:
    """A list to start processes into; on the way out any still running is killed, so a test
    that fails half-way leaves no sync behind."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def exit_codes(processes: Sequence[subprocess.Popen[bytes]]) -> list[int]:
    """Every process's exit code, all of them within one ``DEADLINE_S``."""
    deadline = time.monotonic() + DEADLINE_S
    return [process.wait(max(0.1, deadline - time.monotonic())) for process in processes]


def revision_counts(emulator: RunningEmulator) -> dict[str, int]:
    """Revisions per remote package, by package name."""
    return {p["name"]: len(emulator.store.revisions(p["id"])) for p in emulator.store.packages()}


@contextmanager
def emulator_for(names: Sequence[str], **config: Any) -> Iterator[RunningEmulator]:
    """An emulator that knows the packages ``names`` (ids from ``package_id``), no revisions."""
    settings: dict[str, Any] = {"api_key": KEY, **config}
    with serve_in_thread(EmulatorConfig(**settings)) as emulator:
        for name in names:
            emulator.store.add_package(name, f"{name} (test)", package_id(name))
        yield emulator


def package_names(count: int) -> list[str]:
    return [f"pkg-{number:03d}" for number in range(count)]

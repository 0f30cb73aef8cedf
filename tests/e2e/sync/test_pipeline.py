"""Git is read while the API is already being asked; nothing is written before git is read.

The reading thread is slowed down on purpose (each chunk of packages handed over waits a
little), so without the write gate the creates of the first packages would land before the read
failed. Chunks are one package here (the sample has fewer packages than a real first chunk).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.reconcile import gitread, read_process, stages
from faas_gitops.reconcile import run as pipeline
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID, RunCli

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> list[int]:
    """Delay each chunk read from git; record the API requests seen by then."""
    seen: list[int] = []
    original = pipeline.open_source
    monkeypatch.setattr(gitread, "_FIRST_CHUNK", 1)
    monkeypatch.setattr(gitread, "_CHUNK", 1)

    def slowed(*args: Any, **kw: Any) -> Any:
        source = original(*args, **kw)
        read = source.read_packages

        def read_slowly(*inner: Any) -> Any:
            item = read(*inner)
            time.sleep(0.15)
            seen.append(len(emulator.requests))
            return item

        monkeypatch.setattr(source, "read_packages", read_slowly)
        return source

    monkeypatch.setattr(pipeline, "open_source", slowed)
    return seen


def posts(emulator: RunningEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "POST")


def test_the_api_is_asked_while_git_is_still_being_read(
    run_cli: RunCli, emulator: RunningEmulator, slow_reads: list[int]
) -> None:
    result = run_cli()

    assert result.code == 0, result.stderr
    # Before the last package was even handed over, earlier ones had been asked about.
    assert slow_reads[-2] > 0


def test_a_repository_wide_error_found_late_in_the_read_writes_nothing(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, slow_reads: list[int]
) -> None:
    repo.write(
        "zz-big/package.yaml",
        "name: zz-big\nfunctions:\n  - {name: f, type: BEFORE_PUBLISH, file: f.js}\n",
    )
    repo.write("zz-big/f.js", "// " + "x" * 20_000 + "\n")
    repo.commit("A package that takes the commit over the byte budget")

    result = run_cli("--max-total-bytes", "15000")

    assert result.code == 2
    assert "--max-total-bytes" in result.stderr
    # The limit counts blob sizes from the trees before any package is read: nothing is even
    # asked, let alone written.
    assert posts(emulator) == 0


def test_two_directories_aimed_at_one_package_both_fail_and_neither_writes(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    repo.write(
        "zz-copy/package.yaml",
        f"packageId: {CHAT_ID}\nfunctions:\n  - {{name: f, type: BEFORE_PUBLISH, file: f.js}}\n",
    )
    repo.write("zz-copy/f.js", "export default (r) => r.ok();\n")
    repo.commit("Two directories, one remote package")

    result = run_cli("--output", "json")

    assert result.code == 1
    packages = {p["path"]: p for p in json.loads(result.stdout)["packages"]}
    for path in ("chat-moderation", "zz-copy"):
        assert packages[path]["status"] == "failed"
        assert "chat-moderation, zz-copy" in packages[path]["error"]
    assert packages["webhooks"]["status"] == "created"
    created_for = [r.body["packageId"] for r in emulator.requests if r.method == "POST" and r.body]
    assert CHAT_ID not in created_for


def test_git_reads_no_further_ahead_of_the_api_than_the_pacing_allows(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpaced, the git thread would read the whole commit first and, sharing the GIL, slow
    every answer down meanwhile; so a chunk is read only when fewer than ``_CHUNKS_AHEAD``
    earlier ones are still being asked about. With one chunk ahead, reads and questions take
    strict turns."""
    events: list[str] = []
    monkeypatch.setattr(gitread, "_FIRST_CHUNK", 1)
    monkeypatch.setattr(gitread, "_CHUNK", 1)
    monkeypatch.setattr(gitread, "_CHUNKS_AHEAD", 1)
    original_open, original_ask = pipeline.open_source, stages._read_and_plan

    def recording_open(*args: Any, **kw: Any) -> Any:
        source = original_open(*args, **kw)
        read = source.read_packages

        def recorded(*inner: Any) -> Any:
            events.append("read")
            return read(*inner)

        monkeypatch.setattr(source, "read_packages", recorded)
        return source

    async def recording_ask(*args: Any) -> Any:
        planned = await original_ask(*args)
        events.append("asked")
        return planned

    monkeypatch.setattr(pipeline, "open_source", recording_open)
    monkeypatch.setattr(stages, "_read_and_plan", recording_ask)

    result = run_cli()

    assert result.code == 0, result.stderr
    assert events == ["read", "asked"] * 3


@pytest.fixture
def child_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every read is large enough for the read worker; records the packages each read of the
    child answered (a read it declined, ``None``, is not recorded)."""
    answered: list[int] = []
    monkeypatch.setattr(read_process, "PROCESS_AT", 1)
    monkeypatch.setattr(gitread, "_FIRST_CHUNK", 1)
    monkeypatch.setattr(gitread, "_CHUNK", 1)
    original = read_process.ReadProcess.read

    async def recorded(self: read_process.ReadProcess, *args: Any) -> Any:
        await asyncio.shield(self._handshake)  # the child's start, deterministically first
        items = await original(self, *args)
        if items is not None:
            answered.append(len(items))
        return items

    monkeypatch.setattr(read_process.ReadProcess, "read", recorded)
    return answered


def test_a_large_read_in_the_child_process_syncs_as_the_git_thread_does(
    run_cli: RunCli, child_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_child = run_cli("--output", "json", "--dry-run")

    assert in_child.code == 0, in_child.stderr
    assert sum(child_reads) == len(json.loads(in_child.stdout)["packages"]) > 1
    monkeypatch.setattr(read_process, "PROCESS_AT", 10**9)
    in_thread = run_cli("--output", "json", "--dry-run")
    assert sum(child_reads) == len(json.loads(in_child.stdout)["packages"])  # no more
    assert json.loads(in_thread.stdout)["packages"] == json.loads(in_child.stdout)["packages"]


def test_a_read_worker_that_dies_mid_sync_costs_a_warning_not_a_package(
    run_cli: RunCli, child_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    reading = read_process.ReadProcess.read

    async def dies_after_one(self: read_process.ReadProcess, *args: Any) -> Any:
        if child_reads and self._process.returncode is None:  # one chunk read, then it is gone
            self._process.kill()
            await self._process.wait()
        return await reading(self, *args)

    monkeypatch.setattr(read_process.ReadProcess, "read", dies_after_one)
    monkeypatch.setattr(gitread, "_CHUNKS_AHEAD", 1)  # one chunk at a time: 1 child, 2 thread

    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    assert child_reads == [1]
    statuses = {p["status"] for p in json.loads(result.stdout)["packages"]}
    assert statuses == {"created"}
    stopped = [line for line in result.stderr.splitlines() if "read_worker.stopped" in line]
    assert len(stopped) == 1
    assert "Traceback" not in result.stderr

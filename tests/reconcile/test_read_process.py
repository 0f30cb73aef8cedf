"""The read worker: a real child process over real pipes, reading a real repository.

What it must guarantee: the same packages (and failures, and errors) as the git thread's read;
a child that cannot start or dies is let go with one warning and never fails the caller; the
child never holds faas-gitops's secrets.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from faas_gitops.errors import FaasGitopsError
from faas_gitops.models import PackageRef
from faas_gitops.reconcile import read_process
from faas_gitops.reconcile.read_process import ReadProcess, worker_environment
from faas_gitops.source import Repository
from faas_gitops.source.limits import DEFAULT_LIMITS
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.usefixtures("unfiltered_logs")


def packages(git_repo: GitRepo) -> str:
    for index in range(12):
        git_repo.write(
            f"pkg-{index:02}/package.yaml",
            f"name: pkg-{index:02}\nfunctions:\n  - {{name: f, type: ON_REQUEST, file: f.js}}\n",
        )
        git_repo.write(f"pkg-{index:02}/f.js", f"export default () => {index};\n")
    git_repo.write("broken/package.yaml", "functions: [unclosed\n")
    git_repo.write("missing-code/package.yaml", "functions:\n  - {name: f, file: gone.js}\n")
    return git_repo.commit("Twelve packages and two that cannot be read")


async def started(location: Path) -> ReadProcess:
    helper = await ReadProcess.start(location)
    assert helper is not None
    await asyncio.wait_for(asyncio.shield(helper._handshake), 30)  # imports, opens the repo
    return helper


def test_the_child_reads_what_the_git_thread_reads(git_repo: GitRepo) -> None:
    sha = packages(git_repo)
    with Repository(git_repo.root) as source:
        refs = source.package_refs(sha)
        in_thread = source.read_packages(refs, DEFAULT_LIMITS)

    async def in_child() -> object:
        helper = await started(git_repo.root)
        try:
            first = await helper.read(refs[:5], DEFAULT_LIMITS)
            rest = await helper.read(refs[5:], DEFAULT_LIMITS)
            assert first is not None
            assert rest is not None
            return first + rest
        finally:
            await helper.close()

    assert len(refs) == 14
    assert asyncio.run(in_child()) == in_thread
    assert sum(type(item).__name__ == "PackageFailure" for item in in_thread) == 2


def test_a_read_error_is_raised_as_the_git_thread_raises_it(git_repo: GitRepo) -> None:
    sha = packages(git_repo)
    gone = [PackageRef("pkg-00", "0" * 40, sha)]
    with Repository(git_repo.root) as source, pytest.raises(FaasGitopsError) as in_thread:
        source.read_packages(gone, DEFAULT_LIMITS)

    async def in_child() -> None:
        helper = await started(git_repo.root)
        try:
            await helper.read(gone, DEFAULT_LIMITS)
        finally:
            await helper.close()

    with pytest.raises(FaasGitopsError) as raised:
        asyncio.run(in_child())
    assert type(raised.value) is type(in_thread.value)
    assert str(raised.value) == str(in_thread.value)


def test_a_child_that_dies_is_let_go_with_one_warning(git_repo: GitRepo) -> None:
    sha = packages(git_repo)
    with Repository(git_repo.root) as source:
        refs = source.package_refs(sha)

    async def killed() -> tuple[object, object, bool]:
        helper = await started(git_repo.root)
        try:
            helper._process.kill()
            await helper._process.wait()
            return (
                await helper.read(refs, DEFAULT_LIMITS),
                await helper.read(refs, DEFAULT_LIMITS),
                helper.ready,
            )
        finally:
            await helper.close()

    with capture_logs() as logs:
        first, second, ready = asyncio.run(killed())

    assert (first, second, ready) == (None, None, False)
    warnings = [entry for entry in logs if entry["event"] == "read_worker.stopped"]
    assert len(warnings) == 1
    assert warnings[0]["then"] == "the sync's git thread reads the rest"


def test_a_child_that_cannot_open_the_repository_says_why_and_is_never_used(
    tmp_path: Path,
) -> None:
    async def not_a_repository() -> object:
        helper = await ReadProcess.start(tmp_path)
        assert helper is not None
        try:
            await asyncio.wait_for(helper._handshake, 30)
            return await helper.read([], DEFAULT_LIMITS)
        finally:
            await helper.close()

    with capture_logs() as logs:
        assert asyncio.run(not_a_repository()) is None

    (warning,) = [entry for entry in logs if entry["event"] == "read_worker.stopped"]
    assert warning["reason"] == "it did not start"
    assert "not a git repository" in warning["said"]
    assert "Traceback" not in warning["said"]


def test_the_child_is_handed_no_faas_gitops_variable(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages(git_repo)
    monkeypatch.setenv("FAAS_API_KEY", "sk-never-in-the-child")
    monkeypatch.setenv("FAAS_GITOPS_GIT_PASSWORD", "pw-never-in-the-child")
    assert not [name for name in worker_environment() if name.startswith("FAAS_")]

    async def environ() -> bytes:
        helper = await started(git_repo.root)
        try:
            environ = Path(f"/proc/{helper._process.pid}/environ")
            return await asyncio.to_thread(environ.read_bytes)
        finally:
            await helper.close()

    if not Path("/proc/self/environ").exists():  # pragma: no cover - Linux runs the suite
        pytest.skip("no /proc here")
    seen = asyncio.run(environ())
    assert b"never-in-the-child" not in seen
    assert os.environ["PATH"].encode() in seen


def test_small_reads_start_no_child(git_repo: GitRepo) -> None:
    packages(git_repo)

    async def helper_for(count: int) -> bool:
        with Repository(git_repo.root) as source:
            async with read_process.read_process(source, count) as helper:
                return helper is not None

    assert asyncio.run(helper_for(read_process.PROCESS_AT - 1)) is False
    assert asyncio.run(helper_for(read_process.PROCESS_AT)) is True


def test_a_child_that_writes_much_to_stderr_is_not_blocked_by_its_pipe() -> None:
    """Its stderr is read all along: a pipe left full would stop it before its first frame."""
    chatty = (
        "import sys\n"
        "from faas_gitops.source.read_worker import READY, write_frame\n"
        "sys.stderr.write('x' * 1_000_000 + '\\nthe last line\\n'); sys.stderr.flush()\n"
        "write_frame(sys.stdout.buffer, READY)\n"
        "sys.stdin.read()\n"
    )

    async def run() -> tuple[bool, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", chatty,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        helper = ReadProcess(process)
        try:
            await asyncio.wait_for(asyncio.shield(helper._handshake), 30)
            ready = helper.ready
            await helper._let_go("the test let it go")
            return ready, bytes(helper._said).decode()
        finally:
            await helper.close()

    with capture_logs() as logs:
        ready, said = asyncio.run(run())

    assert ready
    assert len(said) <= 4096
    assert said.endswith("the last line\n")
    (warning,) = [entry for entry in logs if entry["event"] == "read_worker.stopped"]
    assert warning["said"] == "the last line"

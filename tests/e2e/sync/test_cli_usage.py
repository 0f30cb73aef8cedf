"""Usage and configuration errors: one line on stderr naming what to fix, exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, RunCli


def assert_one_clear_line(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("faas-gitops: error:")]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in stderr


def test_an_unknown_ref_is_a_usage_error(run_cli: RunCli, emulator: RunningEmulator) -> None:
    result = run_cli("--ref", "no-such-branch")
    assert result.code == 2
    assert_one_clear_line(result.stderr, "no-such-branch")
    assert emulator.requests == []


def test_a_missing_repository_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("--repo", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert_one_clear_line(result.stderr, "--repo", "nowhere")


def test_a_directory_that_is_not_a_repository_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    result = run_cli("--repo", str(tmp_path / "plain"))
    assert result.code == 2
    assert_one_clear_line(result.stderr, "not a git repository")


@pytest.mark.slow
def test_an_empty_repository_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    empty = GitRepo(tmp_path / "empty")
    result = run_cli("--repo", str(empty.root))
    assert result.code == 2
    assert_one_clear_line(result.stderr, "no commits")


@pytest.mark.slow
def test_a_missing_path_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("--path", "packages")
    assert result.code == 2
    assert_one_clear_line(result.stderr, "--path", "packages")


@pytest.mark.slow
def test_a_missing_path_is_named_even_when_the_api_is_down_too(run_cli: RunCli) -> None:
    """The probe travels while git lists the package directories; git's error still wins."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli("--path", "packages", "--api-url", f"http://127.0.0.1:{port}")
    assert result.code == 2
    assert_one_clear_line(result.stderr, "--path", "packages")


def test_no_api_key_is_a_usage_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator
) -> None:
    monkeypatch.delenv("FAAS_API_KEY")
    result = run_cli()
    assert result.code == 2
    assert_one_clear_line(result.stderr, "FAAS_API_KEY", "--api-key-file")
    assert emulator.requests == []


@pytest.mark.slow
def test_the_key_can_come_from_a_file(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    monkeypatch.delenv("FAAS_API_KEY")
    assert run_cli("--api-key-file", str(key_file)).code == 0
    missing = run_cli("--api-key-file", str(tmp_path / "absent"))
    assert missing.code == 2
    assert_one_clear_line(missing.stderr, "--api-key-file")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--concurrency", "0"], "--concurrency"),
        (["--concurrency", "many"], "--concurrency"),
        (["--api-version", "yesterday"], "--api-version"),
        (["--api-url", "ftp://x"], "--api-url"),
    ],
)
def test_a_bad_flag_value_names_the_flag(run_cli: RunCli, args: list[str], needle: str) -> None:
    result = run_cli(*args)
    assert result.code == 2
    assert_one_clear_line(result.stderr, needle)


@pytest.mark.slow
def test_an_env_twin_is_used_and_a_flag_wins_over_it(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAAS_GITOPS_CONCURRENCY", "zero")
    result = run_cli()
    assert result.code == 2
    assert_one_clear_line(result.stderr, "FAAS_GITOPS_CONCURRENCY")
    assert run_cli("--concurrency", "2").code == 0


def test_an_unknown_flag_exits_2_with_usage(run_cli: RunCli) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("--no-such-flag")
    assert caught.value.code == 2


@pytest.mark.slow
def test_the_installed_command_runs_and_keeps_stdout_for_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faas_gitops.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("faas-gitops ")
    helped = subprocess.run(
        [sys.executable, "-m", "faas_gitops.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    for flag in ("--sync-once", "--dry-run", "FAAS_GITOPS_REPO", "FAAS_API_URL", "Exit codes"):
        assert flag in helped.stdout

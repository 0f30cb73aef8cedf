"""``faas-gitops emulator`` / ``python -m faas_gitops.emulator``: flags, usage errors, serving."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from faas_gitops.emulator.cli import main
from faas_gitops.emulator.flags import build_parser

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).

# ``main`` configures structlog for its process: reset before and after each test.
pytestmark = pytest.mark.usefixtures("unfiltered_logs")

FLAGS = (
    "--host",
    "--port",
    "--api-key-file",
    "--list-order",
    "--revision-list-code",
    "--not-found-status",
    "--create-status",
    "--max-page-size",
    "--max-functions",
    "--seed",
    "--latency-ms",
    "--latency-jitter-ms",
    "--fault-5xx",
    "--fault-429",
    "--retry-after",
    "--fault-drop-after-commit",
    "--revision-list-fault",
    "--deploy-delay-ms",
    "--max-running-deployments",
    "--seed-from",
    "--state-file",
    "--log-level",
)


def test_help_documents_every_flag_with_a_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    for flag in FLAGS:
        assert flag in out
    actions = {opt: a for a in build_parser()._actions for opt in a.option_strings}
    assert all(actions[flag].help for flag in FLAGS)


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault-5xx", "1.5"],
        ["--not-found-status", "418"],
        ["--list-order", "random"],
        ["--max-page-size", "0"],
        ["--latency-ms", "-1"],
    ],
)
def test_a_bad_flag_value_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_an_unreadable_key_file_or_seed_dir_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--api-key-file", str(tmp_path / "missing")]) == 2
    assert main(["--seed-from", str(tmp_path / "missing")]) == 2
    assert "--seed-from" in capsys.readouterr().err


def test_without_a_key_the_default_is_announced_but_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAAS_API_KEY", raising=False)

    assert main(["--seed-from", str(tmp_path / "missing")]) == 2

    err = capsys.readouterr().err
    assert "no api key configured" in err
    assert "emulator-key" not in err


@pytest.mark.slow
def test_python_m_serves_requests_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    secret = "s3cret-key-value"
    repo = tmp_path / "repo" / "chat"
    repo.mkdir(parents=True)
    (repo / "package.yaml").write_text("packageId: pkg-chat\nname: Chat\n", encoding="utf-8")
    env = {**os.environ, "FAAS_API_KEY": secret}
    command = [sys.executable, "-m", "faas_gitops.emulator", "--port", "0"]
    command += ["--seed-from", str(tmp_path / "repo")]

    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        seen: list[str] = []
        url = None
        while url is None:
            line = proc.stderr.readline()
            assert line, "emulator exited early:\n" + "".join(seen)
            seen.append(line)
            match = re.search(r"emulator listening\s+url=(\S+)", line)
            url = match.group(1) if match else None
        response = httpx.get(
            f"{url}/v2/faas/packages/pkg-chat",
            headers={"Authorization": secret, "PubNub-Version": "2026-05-26"},
        )
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=10)

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Chat"
    assert proc.returncode == 0
    assert secret not in "".join(seen) + stdout + stderr


@pytest.mark.slow
def test_a_port_in_use_is_one_line_naming_the_address_and_exits_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "faas_gitops.emulator", "--port", str(port)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        f"faas-gitops: error: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another process listens there); stop it or pick another --port (0: any free port)"
    ]
    assert "Errno" not in done.stderr
    assert "Traceback" not in done.stderr

"""The API key, the webhook secret and a password in a repo URL never come out.

Every command runs as a real process with recognisable secrets (``sk-LEAKCHECK-...``), through
success and every kind of failure, and everything it printed and every file it left (ledger,
WAL, mirrors) is searched for them. A subprocess matters: in-process runs would share the
redaction list of earlier tests and could hide a path that never registers its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.reliability_support import (
    DEADLINE_S,
    KEY,
    Finished,
    clean_env,
    cli_argv,
    emulator_for,
    manifest,
    package_files,
    package_id,
    run_cli,
)
from tests.gitrepo import GitRepo
from tests.harness import closed_port

pytestmark = pytest.mark.slow

WRONG_KEY = "sk-LEAKCHECK-wrong-" + secrets.token_hex(16)
WEBHOOK_SECRET = "whsec-LEAKCHECK-" + secrets.token_hex(16)
PASSWORD = "pw-LEAKCHECK-" + secrets.token_hex(12)
SECRETS = (KEY, WRONG_KEY, WEBHOOK_SECRET, PASSWORD)
DEMO_KEY = re.compile(r"demo-[0-9a-f]{32}")
#: Files that hold a secret on purpose (the key file, the webhook secret file).
SECRET_FILES = ("api-key", "webhook-secret")


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows a secret ({secret[:16]}...)"
    assert "LEAKCHECK" not in text, f"{where} shows part of a secret"


def assert_no_secret_in_files(root: Path) -> None:
    """Every file below ``root`` (ledger, WAL, mirrors, logs), byte for byte."""
    checked = 0
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink() or path.name in SECRET_FILES:
            continue
        data = path.read_bytes()
        checked += 1
        for secret in SECRETS:
            assert secret.encode() not in data, f"{path} holds a secret"
    assert checked > 0


@pytest.fixture
def guarded_api() -> Iterator[RunningEmulator]:
    with emulator_for(["alpha", "beta", "forbidden"]) as running:
        running.store.force_error(package_id("forbidden"), status=403, methods=None)
        yield running


@pytest.fixture
def failing_repo(tmp_path: Path) -> GitRepo:
    """Healthy packages, one the key may not touch (403), one the API does not know
    (not-found) and one with a broken manifest: every per-package failure at once."""
    repo = GitRepo(tmp_path / "repo")
    for name in ("alpha", "beta", "forbidden", "ghost"):
        repo.write_many(dict(package_files(name)))
    repo.write("broken/package.yaml", manifest(package_id("broken")) + "funtions: []\n")
    repo.commit("packages, some failing")
    return repo


def test_no_command_in_any_scenario_prints_or_stores_a_secret(
    tmp_path: Path, failing_repo: GitRepo, guarded_api: RunningEmulator
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY + "\n")
    home = tmp_path / "home"
    env = clean_env(home)
    sync = ("--sync-once", "--repo", str(failing_repo.root), "--api-url", guarded_api.url)

    def state(name: str) -> tuple[str, ...]:
        return ("--state-dir", str(tmp_path / "states" / name))

    scenarios: dict[str, tuple[tuple[str, ...], dict[str, str], int]] = {
        "text-debug": ((*sync, *state("a"), "--log-level", "debug"), env, 1),
        "json-debug": ((*sync, *state("b"), "--output", "json", "--log-level", "debug"), env, 1),
        "markdown": ((*sync, *state("c"), "--output", "markdown"), env, 1),
        "dry-run-debug": ((*sync, *state("d"), "--dry-run", "--log-level", "debug"), env, 1),
        "console-logs": ((*sync, *state("e"), "--log-format", "console", "--log-level", "debug"),
                         env, 1),
        "key-file": ((*sync, *state("f"), "--api-key-file", str(key_file), "--log-level", "debug"),
                     clean_env(home, key=None), 1),
        "key-file-env": ((*sync, *state("g"), "--output", "json"),
                         clean_env(home, key=None, FAAS_API_KEY_FILE=str(key_file)), 1),
        "wrong-key-401": ((*sync, *state("h"), "--log-level", "debug"),
                          clean_env(home, key=WRONG_KEY), 2),
        "closed-port": (("--sync-once", "--repo", str(failing_repo.root), *state("i"),
                         "--api-url", f"http://127.0.0.1:{closed_port()}", "--log-level", "debug"),
                        env, 2),
        "password-in-repo-url": (("--sync-once", *state("j"), "--api-url", guarded_api.url,
                                  "--repo", f"https://user:{PASSWORD}@127.0.0.1:{closed_port()}/x.git",
                                  "--log-level", "debug"), env, 2),
        "bad-flag-value": ((*sync, *state("k"), "--concurrency", "0"), env, 2),
        "version": (("--version",), env, 0),
        "help": (("--help",), env, 0),
        "emulator-help": (("emulator", "--help"), env, 0),
    }  # fmt: skip

    def run(name: str) -> tuple[str, Finished]:
        args, environment, _ = scenarios[name]
        return name, run_cli(*args, env=environment, cwd=tmp_path)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = dict(pool.map(run, scenarios))
    history = {
        f"history-{fmt}": run_cli("history", *state("a"), "--output", fmt, env=env, cwd=tmp_path)
        for fmt in ("text", "json")
    }

    for name, finished in results.items():
        expected = scenarios[name][2]
        assert finished.code == expected, f"{name}: exit {finished.code}\n{finished.stderr}"
        assert "Traceback" not in finished.stderr, name
        assert_no_secret(finished.output, name)
    for name, finished in history.items():
        assert finished.code == 0, finished.stderr
        assert_no_secret(finished.output, name)
    # The scenarios did fail the way they were meant to, so the search covered those paths.
    json_out = results["json-debug"].stdout
    assert '"status": "failed"' in json_out
    assert "FAAS-403" in json_out
    assert "does not exist for this API key" in json_out
    assert "funtions: unknown key" in json_out
    assert "401" in results["wrong-key-401"].stderr
    assert "connection refused to 127.0.0.1" in results["closed-port"].stderr
    assert "https://***@127.0.0.1" in results["password-in-repo-url"].stderr
    assert "correlation" in history["history-text"].stdout.lower()
    assert_no_secret_in_files(tmp_path)


def test_the_demo_never_shows_the_key_it_generates(tmp_path: Path) -> None:
    demo = run_cli("demo", "--log-level", "debug", env=clean_env(tmp_path / "home"), cwd=tmp_path)

    assert demo.code == 0, demo.stderr
    assert "Traceback" not in demo.stderr
    assert DEMO_KEY.search(demo.output) is None
    assert "Authorization" not in demo.output


def test_the_emulator_command_never_shows_the_key_it_expects(
    tmp_path: Path, failing_repo: GitRepo
) -> None:
    env = clean_env(tmp_path / "home")
    log = tmp_path / "emulator.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            cli_argv("emulator", "--port", "0", "--seed-from", str(failing_repo.root),
                     "--log-level", "debug"),
            stdout=stderr, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE_S
        url = None
        while url is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the emulator did not announce its URL"
            found = re.search(r"http://127\.0\.0\.1:\d+", log.read_text(errors="replace"))
            url = found.group(0) if found else None
            time.sleep(0.05)
        synced = run_cli("--sync-once", "--repo", str(failing_repo.root), "--api-url", url,
                         "--state-dir", str(tmp_path / "state"), env=env, cwd=tmp_path)  # fmt: skip
        wrong = run_cli("--sync-once", "--repo", str(failing_repo.root), "--api-url", url,
                        "--state-dir", str(tmp_path / "state-wrong"),
                        env=clean_env(tmp_path / "home", key=WRONG_KEY), cwd=tmp_path)  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert synced.code == 1, synced.stderr  # ghost and broken fail; the others sync
    assert wrong.code == 2, wrong.output
    assert_no_secret(log.read_text(errors="replace"), "the emulator's output")
    assert_no_secret(synced.output + wrong.output, "the sync against the emulator command")


def test_the_daemon_never_shows_the_key_or_the_webhook_secret(
    tmp_path: Path, failing_repo: GitRepo, guarded_api: RunningEmulator
) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(WEBHOOK_SECRET + "\n")
    log = tmp_path / "daemon.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            cli_argv("--repo", str(failing_repo.root), "--api-url", guarded_api.url,
                     "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0",
                     "--webhook-secret-file", str(secret_file), "--log-level", "debug",
                     "--log-format", "json", "--interval", "60"),
            stdout=stderr, stderr=subprocess.STDOUT, env=clean_env(tmp_path / "home"),
            cwd=tmp_path,
        )  # fmt: skip
    bodies: list[str] = []
    try:
        deadline = time.monotonic() + DEADLINE_S
        listen = None
        while listen is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the daemon did not start"
            found = re.search(r'"listen": "([^"]+)"', log.read_text(errors="replace"))
            listen = found.group(1) if found else None
            time.sleep(0.05)
        base = f"http://{listen}"
        with httpx.Client(timeout=5) as client:
            while "ledger" not in str(list((tmp_path / "state").glob("*"))):
                assert time.monotonic() < deadline, "the daemon's first sync was not recorded"
                time.sleep(0.05)
            body = b'{"ref": "refs/heads/main"}'
            good = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            answers = [
                client.get(base + "/metrics"),
                client.get(base + "/readyz"),
                client.get(base + "/healthz"),
                client.post(base + "/hooks/sync", content=body,
                            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}),
                client.post(base + "/hooks/sync", content=body,
                            headers={"X-Hub-Signature-256": good}),
                client.post(base + "/hooks/sync", content=b"x" * (1024 * 1024 + 1),
                            headers={"X-Hub-Signature-256": good}),
            ]  # fmt: skip
            bodies = [answer.text + str(answer.headers) for answer in answers]
            assert [answer.status_code for answer in answers[3:]] == [401, 202, 413]
            bodies.append(client.get(base + "/metrics").text)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise
    assert code == 0
    assert "faas_gitops" in bodies[0] or "faas" in bodies[0]
    for number, text in enumerate(bodies):
        assert_no_secret(text, f"HTTP answer {number}")
    output = log.read_text(errors="replace")
    assert "Traceback" not in output
    assert_no_secret(output, "the daemon's logs")
    assert_no_secret_in_files(tmp_path / "state")


def test_a_wrong_key_exits_2_even_when_no_package_changed_since_the_last_sync(
    tmp_path: Path, guarded_api: RunningEmulator
) -> None:
    failing_repo = GitRepo(tmp_path / "repo")
    failing_repo.write_many(dict(package_files("alpha"))).commit("one package")
    args = ("--sync-once", "--repo", str(failing_repo.root), "--api-url", guarded_api.url,
            "--state-dir", str(tmp_path / "state"))  # fmt: skip
    home = tmp_path / "home"
    assert run_cli(*args, env=clean_env(home), cwd=tmp_path).code == 0

    wrong = run_cli(*args, env=clean_env(home, key=WRONG_KEY), cwd=tmp_path)

    assert wrong.code == 2, wrong.output
    assert "401" in wrong.stderr

"""What a real ``--sync-once`` loads: only the sync path (issue 15's start-up).

The reconciler runs as a subprocess against the emulator on loopback and, at exit, writes the
names of the modules it loaded. A repository without ``faas-gitops.yaml`` and a run without
notification flags must not load the deployment or notification machinery, the daemon's
server stack, the emulator, or httpx's own command-line client (click, pygments, rich); a run
without ``--verify-signatures`` not the signature verification code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]

#: Writes the modules loaded (a ``None`` entry is a blocked import, not a module) at exit, then
#: runs the CLI as ``python -m faas_gitops.cli`` would.
_WRAPPER = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
loaded = lambda: sorted(name for name, module in sys.modules.items() if module is not None)
atexit.register(lambda: open(out, "w").write(json.dumps(loaded())))
sys.argv[0] = "faas-gitops"
runpy.run_module("faas_gitops.cli", run_name="__main__")
"""

NOT_ON_THE_SYNC_PATH = (
    "uvicorn",
    "starlette",
    "prometheus_client",
    "watchfiles",
    "click",
    "pygments",
    "rich",
    "faas_gitops.emulator",
    "faas_gitops.daemon",
    "faas_gitops.deploy",
    "faas_gitops.notify",
    # --verify-signatures is off: no gpg, ssh-keygen or signature parsing code
    "faas_gitops.source.verify",
    "faas_gitops.source.verify_git",
    "faas_gitops.source.verify_keys",
    # pydantic's plugin loader stood in for (faas_gitops/no_plugins.py): no entry-point machinery
    "importlib.metadata",
)


def loaded_by_a_sync(emulator: RunningEmulator, repo: GitRepo, tmp_path: Path) -> list[str]:
    modules = tmp_path / "modules.json"
    env = {**os.environ, "FAAS_API_KEY": API_KEY}
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        env.pop(name, None)
    argv = [
        sys.executable, "-c", _WRAPPER, str(modules),
        "--sync-once",
        "--repo", str(repo.root),
        "--api-url", emulator.url,
        "--state-dir", str(tmp_path / "state"),
        "--output", "json",
    ]  # fmt: skip
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["created"] == 3
    names: list[str] = json.loads(modules.read_text())
    return names


def test_a_sync_once_loads_nothing_beyond_the_sync_path(
    emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    loaded = loaded_by_a_sync(emulator, repo, tmp_path)

    assert "faas_gitops.reconcile.run" in loaded  # the wrapper really ran a sync
    heavy = [
        name
        for name in loaded
        for prefix in NOT_ON_THE_SYNC_PATH
        if name == prefix or name.startswith(prefix + ".")
    ]
    assert heavy == []


#: What ``--help`` of any command must not load (start-up under 0.2 s): the HTTP client, the
#: logging stack, the event loop, and what only a run reads.
NOT_FOR_HELP = (
    "httpx",
    "structlog",
    "asyncio",
    "ssl",
    "faas_gitops.api",
    "faas_gitops.models",
    "faas_gitops.logs",
    "faas_gitops.source",
    "faas_gitops.state",
    "faas_gitops.reconcile",
    *NOT_ON_THE_SYNC_PATH,
)


def loaded_by_help(tmp_path: Path, *argv: str) -> list[str]:
    modules = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(modules), *argv, "--help"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage: faas-gitops" in done.stdout
    names: list[str] = json.loads(modules.read_text())
    return names


def test_help_loads_no_http_client_nor_anything_only_a_run_needs(tmp_path: Path) -> None:
    for command in ([], ["promote"], ["rollback"]):
        loaded = loaded_by_help(tmp_path, *command)
        assert "faas_gitops.settings" in loaded  # the parser really was built from the model
        needless = [
            name
            for name in loaded
            for prefix in NOT_FOR_HELP
            if name == prefix or name.startswith(prefix + ".")
        ]
        assert needless == [], command

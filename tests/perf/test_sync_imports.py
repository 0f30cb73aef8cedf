"""What a real ``--sync-once`` loads: only the sync path (issue 15's start-up).

The reconciler runs as a subprocess against the emulator on loopback and, at exit, writes the
names of the modules it loaded. A repository without ``faas-gitops.yaml`` and a run without
notification flags must not load the deployment or notification machinery, the daemon's
server stack, the emulator, or httpx's own command-line client (click, pygments, rich).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from e2e import API_KEY
from faas_gitops.emulator.server import RunningEmulator
from gitrepo import GitRepo

#: Loads a module list at exit, then runs the CLI as ``python -m faas_gitops.cli`` would.
_WRAPPER = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
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

"""The deployment plan against a live emulator: content decides, not ids (a hand-made revision
must not roll a keyset over to a twin); a dry run checks the running limit; two overlapping
runs leave exactly one running deployment per package and keyset."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.environments.environments_support import (
    PACKAGES,
    STAGING,
    Env,
    deployments,
    statuses,
)
from tests.harness import API_KEY, ROOT

SOURCE_DIR = ROOT / "src"
pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def test_a_hand_made_revision_does_not_roll_staging_over_to_a_twin_of_what_runs(
    env: Env, tmp_path: Path
) -> None:
    _, first = env.sync_json()
    r1 = deployments(first)[("webhooks", "staging")]
    store = env.emulator.store
    package_id = store.get_revision(r1["revisionId"])["packageId"]
    functions = [
        {**{k: f[k] for k in ("name", "type", "sortOrder", "config") if k in f},
         "code": f["code"] + "\n// edited in the portal\n"}
        for f in store.get_revision(r1["revisionId"])["functions"]
    ]  # fmt: skip
    r2 = store.add_revision(package_id, "portal-edit", functions)  # C2, newer than R1
    env.state = tmp_path / "cold"  # a runner that does not remember R1: it reads the API
    env.clear()

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    (webhooks,) = [p for p in document["packages"] if p["path"] == "webhooks"]
    assert webhooks["status"] == "created"  # R3: git's content C1 again, after R2
    assert webhooks["revisionId"] not in (r1["revisionId"], r2["id"])
    staging = deployments(document)[("webhooks", "staging")]
    assert staging["status"] == "in-sync"
    assert (staging["revisionId"], staging["deploymentId"]) == (
        r1["revisionId"],
        r1["deploymentId"],
    )
    assert not [w for w in env.writes() if "deployments" in w[1]]  # no rolling update
    assert env.running(STAGING)["webhooks"] == r1["revisionName"]


@pytest.mark.emulator(max_running_deployments=2)
def test_a_dry_run_fails_the_would_be_starts_beyond_the_running_limit(env: Env) -> None:
    code, document = env.sync_json("--dry-run")

    assert code == 1
    assert statuses(document) == {
        ("chat-moderation", "staging"): "would-deploy",
        ("presence-tracker", "staging"): "would-deploy",
        ("webhooks", "staging"): "failed",
    }
    assert deployments(document)[("webhooks", "staging")]["error"] == (
        "running-deployments limit reached: 2 of 2 running (GET"
        " /v2/faas/limits/package-deployments-running); stop a deployment or raise the"
        " account's limit"
    )
    assert env.writes() == []


def _sync_in_a_child(env: Env, state: Path) -> subprocess.Popen[str]:
    child_env = {
        **os.environ,
        "FAAS_API_KEY": API_KEY,
        "PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME", "FAAS_GITOPS_ENVIRONMENT"):
        child_env.pop(name, None)
    base = env.base()
    base[base.index("--state-dir") + 1] = str(state)
    return subprocess.Popen(
        [sys.executable, "-m", "faas_gitops.cli", "--sync-once", *base],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until_starting(env: Env, run: subprocess.Popen[str]) -> None:
    """Wait until a deployment of the first run is STARTING (or that run ended)."""
    store = env.emulator.store
    while run.poll() is None:
        for package in store.packages():
            for revision in store.revisions(package["id"]):
                if any(
                    d["state"] == "STARTING" for d in store.revision_deployments(revision["id"])
                ):
                    return
        time.sleep(0.05)
    pytest.fail(f"the first run ended before starting anything: {run.communicate()}")


@pytest.mark.emulator(deploy_delay_ms=3000)
def test_two_overlapping_runs_leave_exactly_one_running_deployment_per_package(
    env: Env, tmp_path: Path
) -> None:
    first = _sync_in_a_child(env, tmp_path / "state-1")
    _until_starting(env, first)  # the second run meets the first's starts in flight
    runs = [first, _sync_in_a_child(env, tmp_path / "state-2")]
    answers = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in answers]
    store = env.emulator.store
    active: Counter[tuple[str, int]] = Counter()
    for package in store.packages():
        for revision in store.revisions(package["id"]):
            for deployment in store.revision_deployments(revision["id"]):
                if deployment["state"] != "STOPPED":
                    active[(package["name"], deployment["keysetId"])] += 1
    assert active == {(name, STAGING): 1 for name in PACKAGES}
    assert set(env.running(STAGING)) == set(PACKAGES)
    started = [
        r.path
        for r in env.emulator.requests
        if r.method == "POST" and r.path.endswith("/function-deployments") and r.status < 300
    ]
    assert len(started) == len(PACKAGES)  # one start per package: none started twice

"""The README's first command must work on a fresh checkout, quickly, and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.harness import ROOT

pytestmark = pytest.mark.slow


def test_the_demo_syncs_edits_plans_and_syncs_again_then_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAAS_", "GIT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "faas_gitops.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "3 packages: 3 created, 0 unchanged, 0 failed" in out
    assert "would-create  chat-moderation   v1.1.0" in out
    assert '+const DEFAULT_WORDS = ["darn", "heck", "drat"];' in out
    assert "3 packages: 1 created, 2 unchanged, 0 failed" in out
    assert "staging: (none) → v1.0.0 deployed" in out
    assert "staging: v1.0.0 → v1.1.0 would-deploy" in out
    assert "staging: v1.0.0 → v1.1.0 deployed" in out
    assert "production: (none) → v1.1.0 deployed" in out  # promoted from staging
    assert "CORRELATION ID" in out
    assert "Traceback" not in done.stderr

"""The Kubernetes manifests as a cluster would get them: every kustomization, rendered by
``kubectl kustomize`` (found on PATH, else where ``scripts/k8s-validate`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = sorted(p.parent for p in KUBERNETES.rglob("kustomization.yaml"))


def render(directory: Path) -> list[dict[str, Any]]:
    """The documents of one kustomization; the test is skipped where kubectl is missing."""
    kubectl = shutil.which("kubectl") or shutil.which(str(ROOT / ".venv" / "bin" / "kubectl"))
    if kubectl is None:
        pytest.skip("kubectl is not installed (scripts/k8s-validate installs it)")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

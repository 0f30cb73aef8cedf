"""Constants and types shared by the end-to-end tests (importable from any test folder)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

API_KEY = "sk-test-0123456789-secret"
SAMPLE_REPO = Path(__file__).resolve().parents[1] / "sample-repo"
# The packages only: tests that are not about environments copy the sample without its
# faas-gitops.yaml, so their syncs make no deployment call (tests/environments add it back).
PACKAGES_ONLY = shutil.ignore_patterns("faas-gitops.yaml")
CHAT_ID = "550e8400-e29b-41d4-a716-446655440000"
WEBHOOKS_ID = "6fa459ea-ee8a-3ca4-894e-db77e160355e"

# Both values of every switch the docs leave open, spread over two configurations.
MODES = {
    "shuffled-omit-400-201": {
        "list_order": "shuffled",
        "revision_list_code": "omit",
        "not_found_status": 400,
        "create_status": 201,
    },
    "created-include-404-200": {
        "list_order": "created",
        "revision_list_code": "include",
        "not_found_status": 404,
        "create_status": 200,
    },
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


RunCli = Callable[..., Run]

"""The running-deployments limit fails exactly the packages over it, the others deploy."""

from __future__ import annotations

import pytest

from tests.e2e.environments.environments_support import STAGING, Env, deployments, statuses

pytestmark = [
    pytest.mark.both_modes,
    pytest.mark.emulator(max_running_deployments=2),
    pytest.mark.slow,
]


def test_the_running_limit_fails_exactly_the_packages_over_it(env: Env) -> None:
    code, document = env.sync_json()

    assert code == 1
    assert statuses(document) == {
        ("chat-moderation", "staging"): "deployed",
        ("presence-tracker", "staging"): "deployed",
        ("webhooks", "staging"): "failed",
    }
    error = deployments(document)[("webhooks", "staging")]["error"]
    assert error == (
        "running-deployments limit reached: 2 of 2 running (GET"
        " /v2/faas/limits/package-deployments-running); stop a deployment or raise the"
        " account's limit"
    )
    assert set(env.running(STAGING)) == {"chat-moderation", "presence-tracker"}

"""``faas-gitops promote`` through the real CLI: the very revision ids, recorded, rendered."""

from __future__ import annotations

import json

import pytest

from faas_gitops.state import Ledger
from tests.e2e.environments.environments_support import (
    PACKAGES,
    PRODUCTION,
    STAGING,
    Env,
    deployments,
    statuses,
)

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def test_promote_deploys_onto_production_the_revision_ids_running_on_staging(env: Env) -> None:
    _, synced = env.sync_json()
    on_staging = {k[0]: d["revisionId"] for k, d in deployments(synced).items()}
    env.clear()

    run = env.cli("promote", "--from", "staging", "--to", "production", "--output", "json",
                  *env.base(), sync=False)  # fmt: skip

    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert statuses(document) == {(name, "production"): "deployed" for name in PACKAGES}
    promoted = {k[0]: d["revisionId"] for k, d in deployments(document).items()}
    assert promoted == on_staging
    assert env.running(PRODUCTION) == env.running(STAGING)
    assert not any(path.endswith("/package-revisions") for _, path in env.writes())
    with Ledger(env.state) as ledger:
        (latest, *_) = ledger.recent_syncs()
    assert latest.trigger == "promote"


def test_promote_of_one_package_touches_only_that_package(env: Env) -> None:
    assert env.cli().code == 0

    run = env.cli("promote", "--from", "staging", "--to", "production", "--package", "webhooks",
                  *env.base(), sync=False)  # fmt: skip

    assert run.code == 0, run.stderr
    assert "production:" in run.stdout
    assert set(env.running(PRODUCTION)) == {"webhooks"}


def test_promote_dry_run_writes_nothing(env: Env) -> None:
    assert env.cli().code == 0
    env.clear()

    run = env.cli("promote", "--from", "staging", "--to", "production", "--dry-run",
                  "--output", "json", *env.base(), sync=False)  # fmt: skip

    assert run.code == 0, run.stderr
    assert set(statuses(json.loads(run.stdout)).values()) == {"would-deploy"}
    assert env.writes() == []


def test_promote_to_an_undefined_environment_is_one_line_and_exit_2(env: Env) -> None:
    run = env.cli("promote", "--from", "staging", "--to", "prod", *env.base(), sync=False)

    assert run.code == 2
    assert run.stderr == (
        "faas-gitops: error: --to prod: not defined in faas-gitops.yaml"
        " (defined: staging, production)\n"
    )
    assert env.deployment_calls() == []

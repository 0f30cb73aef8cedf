"""A sync deploys what git says, per environment: the real CLI against the emulator over HTTP,
in both list modes (the ``env`` fixture)."""

from __future__ import annotations

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


def test_a_first_sync_on_main_deploys_every_package_to_staging_and_nothing_to_production(
    env: Env,
) -> None:
    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {(name, "staging"): "deployed" for name in PACKAGES}
    revisions = {p["path"]: p["revisionName"] for p in document["packages"]}
    assert env.running(STAGING) == revisions
    assert env.running(PRODUCTION) == {}


def test_a_rerun_makes_no_write(env: Env) -> None:
    assert env.cli().code == 0
    env.clear()

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {(name, "staging"): "in-sync" for name in PACKAGES}
    assert env.writes() == []


def test_a_one_package_change_rolls_exactly_that_package_over(env: Env) -> None:
    _, first = env.sync_json()
    before = deployments(first)
    env.repo.write("presence-tracker/presence-tracker.js", "export default (r) => r.ok(); // 2\n")
    env.repo.commit("Count presence differently")
    env.clear()

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {
        ("chat-moderation", "staging"): "in-sync",
        ("presence-tracker", "staging"): "deployed",
        ("webhooks", "staging"): "in-sync",
    }
    rolled = deployments(document)[("presence-tracker", "staging")]
    old = before[("presence-tracker", "staging")]["deploymentId"]
    assert rolled["previousDeploymentId"] == old
    store = env.emulator.store
    assert store.get_deployment(old)["state"] == "STOPPED"
    assert store.get_deployment(rolled["deploymentId"])["state"] == "RUNNING"
    writes = [(method, path) for method, path in env.writes() if "deployment" in path]
    assert writes == [
        ("POST", "/v2/faas/package-deployments"),
        ("PUT", f"/v2/faas/package-deployments/{old}/function-deployments"),
    ]


def test_a_tag_deploys_to_production(env: Env) -> None:
    assert env.cli().code == 0
    env.repo.tag("v1.0.0")

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {
        **{(name, "staging"): "in-sync" for name in PACKAGES},
        **{(name, "production"): "deployed" for name in PACKAGES},
    }
    assert env.running(PRODUCTION) == env.running(STAGING)
    assert len(env.running(PRODUCTION)) == len(PACKAGES)


def test_a_package_restricted_to_staging_never_reaches_production(env: Env) -> None:
    manifest = env.repo.root / "presence-tracker/package.yaml"
    env.repo.write(
        "presence-tracker/package.yaml", manifest.read_text() + "environments: [staging]\n"
    )
    env.repo.commit("Keep presence-tracker on staging")
    env.repo.tag("v1.0.0")

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert ("presence-tracker", "staging") in statuses(document)
    assert ("presence-tracker", "production") not in statuses(document)
    assert "presence-tracker" in env.running(STAGING)
    assert set(env.running(PRODUCTION)) == {"chat-moderation", "webhooks"}


def test_a_pin_holds_production_on_the_pinned_revision_while_staging_moves_on(env: Env) -> None:
    env.repo.tag("v1.0.0")
    _, released = env.sync_json()
    good = {p["path"]: p["revisionName"] for p in released["packages"]}["webhooks"]
    manifest = (env.repo.root / "webhooks/package.yaml").read_text()
    env.repo.write("webhooks/package.yaml", manifest + f"pin:\n  production: {good}\n")
    env.repo.write("webhooks/functions/extra.js", "export default (r) => r.ok();\n")
    env.repo.write(
        "webhooks/package.yaml",
        (env.repo.root / "webhooks/package.yaml")
        .read_text()
        .replace(
            "functions:\n",
            "functions:\n  - name: Extra\n    type: ON_REQUEST\n"
            "    file: functions/extra.js\n    config: {path: extra}\n",
            1,
        ),
    )
    env.repo.commit("Add an extra endpoint; hold production on the release")
    env.repo.tag("v1.1.0")

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert env.running(PRODUCTION)["webhooks"] == good
    assert env.running(STAGING)["webhooks"] != good
    assert statuses(document)[("webhooks", "production")] == "in-sync"
    assert statuses(document)[("webhooks", "staging")] == "deployed"


def test_a_frozen_environment_writes_nothing(env: Env) -> None:
    config = (env.repo.root / "faas-gitops.yaml").read_text()
    env.repo.write("faas-gitops.yaml", config.replace("frozen: false", "frozen: true"))
    env.repo.commit("Freeze production for the holidays")
    assert env.cli().code == 0
    env.repo.tag("v1.0.0")
    env.clear()

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert {k: v for k, v in statuses(document).items() if k[1] == "production"} == {
        (name, "production"): "frozen" for name in PACKAGES
    }
    assert env.writes() == []
    assert env.running(PRODUCTION) == {}


def test_prune_stops_a_removed_package(env: Env) -> None:
    assert env.cli().code == 0
    env.repo.remove("webhooks")
    env.repo.commit("Retire the webhooks")

    code, document = env.sync_json("--prune")

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document)[("webhooks", "staging")] == "pruned"
    assert set(env.running(STAGING)) == {"chat-moderation", "presence-tracker"}


def test_without_prune_a_removed_package_keeps_running(env: Env) -> None:
    assert env.cli().code == 0
    env.repo.remove("webhooks")
    env.repo.commit("Retire the webhooks")

    assert env.cli().code == 0

    assert "webhooks" in env.running(STAGING)


def test_a_repo_without_faas_gitops_yaml_makes_no_deployment_call(env: Env) -> None:
    env.repo.remove("faas-gitops.yaml")
    env.repo.commit("No environments")

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {}
    assert {p["status"] for p in document["packages"]} == {"created", "unchanged"} or all(
        p["status"] in ("created", "unchanged", "adopted") for p in document["packages"]
    )
    assert env.deployment_calls() == []


def test_a_dry_run_shows_would_deploy_and_writes_nothing(env: Env) -> None:
    code, document = env.sync_json("--dry-run")

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {(name, "staging"): "would-deploy" for name in PACKAGES}
    assert env.writes() == []


def test_an_environment_a_package_names_but_the_file_does_not_fails_that_package(
    env: Env,
) -> None:
    manifest = (env.repo.root / "webhooks/package.yaml").read_text()
    env.repo.write("webhooks/package.yaml", manifest + "environments: [qa]\n")
    env.repo.commit("Aim webhooks at qa")

    code, document = env.sync_json()

    assert code == 1
    failed = deployments(document)[("webhooks", "staging")]
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "webhooks/package.yaml: environments: 'qa' is not defined in faas-gitops.yaml;"
        " define it there or remove it here"
    )
    assert set(env.running(STAGING)) == {"chat-moderation", "presence-tracker"}


def test_a_bad_faas_gitops_yaml_stops_the_sync_with_one_line_and_no_write(env: Env) -> None:
    env.repo.write("faas-gitops.yaml", "environments:\n  staging:\n    keysetId: abc\n")
    env.repo.commit("Typo")
    env.clear()

    run = env.cli()

    assert run.code == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("faas-gitops: error: faas-gitops.yaml on main@")  # the policy's tip
    assert last.endswith(
        ": environments.staging.keysetId: must be an integer (the numeric keyset id), not a string"
    )
    assert env.writes() == []


def test_environment_names_the_environments_to_act_on(env: Env) -> None:
    code, document = env.sync_json("--environment", "production")

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert statuses(document) == {(name, "production"): "deployed" for name in PACKAGES}
    assert env.running(STAGING) == {}


def test_the_ledger_records_every_step_and_a_result_per_package_and_environment(
    env: Env,
) -> None:
    _, document = env.sync_json()

    with Ledger(env.state) as ledger:
        results = ledger.history(environment="staging")
        rows = ledger._db.conn.execute(  # the step rows have no query of their own yet
            "SELECT path, step, status, correlation_id FROM deployments WHERE step != 'result'"
            " ORDER BY id"
        ).fetchall()
    assert sorted((r.path, r.status) for r in results) == [(name, "deployed") for name in PACKAGES]
    by_path = {k[0]: d for k, d in deployments(document).items()}
    assert {r.path: r.correlation_id for r in results} == {
        path: d["correlationId"] for path, d in by_path.items()
    }
    for name in PACKAGES:
        steps = [(step, status) for path, step, status, _ in rows if path == name]
        assert steps[:2] == [("create", "pending"), ("create", "ok")]
        assert ("start", "pending") in steps
        assert ("start", "ok") in steps
    writes = [cid for _, step, status, cid in rows if status == "ok" and step != "running"]
    assert writes
    assert all(writes)  # every answered write carries the API's correlation ID


def test_an_environment_flag_without_faas_gitops_yaml_is_one_line_and_exit_2(env: Env) -> None:
    env.repo.remove("faas-gitops.yaml")
    env.repo.commit("No environments")

    run = env.cli("--environment", "staging")

    assert run.code == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "faas-gitops: error: --environment staging: not defined in faas-gitops.yaml"
        " (defined: none: there is no faas-gitops.yaml)"
    )
    assert env.writes() == []

"""``faas-gitops promote`` where the manifests say no, or the source is moving: a package kept
off an environment is ``skipped`` with the reason (not a failure), a broken manifest fails only
its package, and a rollover in flight on ``--from`` is waited for, then promoted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.environments.environments_support import (
    PRODUCTION,
    STAGING,
    Env,
    deployments,
    statuses,
)

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def promote(env: Env, *args: str) -> tuple[int, dict[str, Any], str]:
    run = env.cli("promote", "--from", "staging", "--to", "production", "--output", "json",
                  *args, *env.base(), sync=False)  # fmt: skip
    assert run.stdout, run.stderr
    return run.code, json.loads(run.stdout), run.stderr


def _append(env: Env, path: str, text: str) -> None:
    env.repo.write(path, (env.repo.root / path).read_text() + text)


def test_a_production_only_package_is_skipped_with_the_reason_and_exits_0(env: Env) -> None:
    assert env.cli().code == 0
    _append(env, "webhooks/package.yaml", "environments: [production]\n")
    env.repo.commit("webhooks is released to production only, from tags")

    code, document, _ = promote(env)

    assert code == 0, document
    skipped = deployments(document)[("webhooks", "production")]
    assert skipped["status"] == "skipped"
    assert skipped["note"] == (
        "restricted to production in package.yaml: it is not deployed to staging, so there"
        " is nothing of it to promote"
    )
    assert set(env.running(PRODUCTION)) == {"chat-moderation", "presence-tracker"}


def test_a_staging_only_package_is_skipped_as_kept_off_the_target(env: Env) -> None:
    assert env.cli().code == 0
    _append(env, "webhooks/package.yaml", "environments: [staging]\n")
    env.repo.commit("webhooks stays on staging")

    code, document, _ = promote(env)

    assert code == 0, document
    skipped = deployments(document)[("webhooks", "production")]
    assert (skipped["status"], skipped["note"]) == (
        "skipped",
        "restricted to staging in package.yaml; not promoted to production",
    )
    assert "webhooks" not in env.running(PRODUCTION)


def test_a_package_pinned_on_the_target_is_skipped_and_shown_pinned(env: Env) -> None:
    _, synced = env.sync_json()
    revision = deployments(synced)[("webhooks", "staging")]["revisionName"]
    _append(env, "webhooks/package.yaml", f"pin:\n  production: {revision}\n")
    env.repo.commit("Pin production's webhooks")

    code, document, _ = promote(env)

    assert code == 0, document
    pinned = deployments(document)[("webhooks", "production")]
    assert (pinned["status"], pinned["pinned"]) == ("skipped", True)
    assert pinned["note"] == f"pinned to {revision} on production in package.yaml"
    assert "webhooks" not in env.running(PRODUCTION)


def test_a_broken_manifest_fails_only_its_package(env: Env) -> None:
    assert env.cli().code == 0
    env.repo.write("chat-moderation/package.yaml", "name: [chat-moderation\n")
    env.repo.commit("A typo")

    code, document, _ = promote(env)

    assert code == 1
    assert statuses(document) == {
        ("chat-moderation", "production"): "failed",
        ("presence-tracker", "production"): "deployed",
        ("webhooks", "production"): "deployed",
    }
    assert deployments(document)[("chat-moderation", "production")]["error"].startswith(
        "chat-moderation/package.yaml"
    )
    assert set(env.running(PRODUCTION)) == {"presence-tracker", "webhooks"}


def test_a_rollover_in_flight_on_the_source_is_waited_for_and_its_revision_promoted(
    env: Env,
) -> None:
    _, synced = env.sync_json()
    store = env.emulator.store
    running = deployments(synced)[("webhooks", "staging")]
    old = store.get_revision(running["revisionId"])
    fresh = store.add_revision(
        old["packageId"], "hand-made", [_as_input(f) for f in old["functions"]]
    )
    new = store.create_deployment(fresh["id"], STAGING)
    store.rolling_update(running["deploymentId"], new["id"], delay_ms=1500)
    assert store.get_deployment(new["id"])["state"] == "STARTING"

    code, document, _ = promote(env, "--package", "webhooks")

    assert code == 0, document
    promoted = deployments(document)[("webhooks", "production")]
    assert (promoted["status"], promoted["revisionId"]) == ("deployed", fresh["id"])
    [package] = [p for p in document["packages"] if p["path"] == "webhooks"]
    assert package["status"] == "promoted"  # not "unchanged": promote acted on it
    assert (document["summary"]["promoted"], document["summary"]["unchanged"]) == (1, 0)
    assert env.running(PRODUCTION) == {"webhooks": "hand-made"}
    assert env.running(STAGING)["webhooks"] == "hand-made"


def _as_input(function: dict[str, Any]) -> dict[str, Any]:
    keep = ("name", "type", "code", "sortOrder", "config")
    return {key: function[key] for key in keep if key in function}


def test_history_lists_the_promotion(env: Env) -> None:
    assert env.cli().code == 0

    code, _, _ = promote(env)

    assert code == 0
    run = env.cli("history", "--output", "json", "--state-dir", str(env.state), sync=False)
    assert run.code == 0, run.stderr
    newest = [e for e in json.loads(run.stdout)["entries"] if e["trigger"] == "promote"]
    assert sorted(e["path"] for e in newest) == ["chat-moderation", "presence-tracker", "webhooks"]
    # plain history shows the promotion as deployments on production, with what they deployed
    assert {(e["kind"], e["environment"], e["step"], e["status"]) for e in newest} == {
        ("deployment", "production", "result", "deployed")
    }
    assert all(e["to"] == e["revisionName"] and e["to"] for e in newest)


def test_every_step_of_a_promotion_is_in_history_and_found_by_its_correlation_id(
    env: Env,
) -> None:
    assert env.cli().code == 0
    assert promote(env)[0] == 0

    run = env.cli("history", "--steps", "--environment", "production", "--output", "json",
                  "--state-dir", str(env.state), sync=False)  # fmt: skip
    assert run.code == 0, run.stderr
    steps = [e for e in json.loads(run.stdout)["entries"] if e["step"] != "result"]
    answered = [e for e in steps if e["correlationId"]]
    assert {e["step"] for e in steps} & {"create", "start", "rolling-update", "running"}
    assert answered

    for step in answered:
        found = env.cli("history", "--correlation-id", step["correlationId"], "--output", "json",
                        "--state-dir", str(env.state), sync=False)  # fmt: skip
        assert found.code == 0, found.stderr
        assert step in json.loads(found.stdout)["entries"]
    missing = env.cli("history", "--correlation-id", "not-a-recorded-id", "--state-dir",
                      str(env.state), sync=False)  # fmt: skip
    assert missing.code == 1
    assert "--correlation-id" in missing.stderr

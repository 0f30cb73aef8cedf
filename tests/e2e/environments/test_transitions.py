"""A deployment in transition (423 FAAS-1008/1009) is waited out, never restarted."""

from __future__ import annotations

import pytest

from tests.e2e.environments.environments_support import PRODUCTION, Env, deployments

pytestmark = pytest.mark.both_modes


@pytest.mark.slow
def test_another_replicas_start_in_flight_is_seen_waited_out_and_never_restarted(
    env: Env,
) -> None:
    """The revision runs on staging, so the run lists its deployments and sees the one
    starting on production: it waits for it instead of starting it (which would be a 423)."""
    env.repo.remove("presence-tracker").remove("webhooks")
    env.repo.commit("Only chat-moderation")
    assert env.cli().code == 0
    env.repo.tag("v1.0.0")
    store = env.emulator.store
    (revision,) = [
        r for p in store.packages() if p["name"] == "chat-moderation"
        for r in store.revisions(p["id"])
        if store.revision_deployments(r["id"])
    ]  # fmt: skip
    other = store.create_deployment(revision["id"], PRODUCTION)
    store.start_deployment(other["id"], delay_ms=3000, max_running=5)  # another replica's start
    env.clear()

    code, document = env.sync_json()

    assert code == 0, [d["error"] for p in document["packages"] for d in p["deployments"]]
    production = deployments(document)[("chat-moderation", "production")]
    assert (production["status"], production["deploymentId"]) == ("in-sync", other["id"])
    starts = [
        r.status
        for r in env.emulator.requests
        if r.method == "POST" and r.path.endswith("/function-deployments")
    ]
    assert starts == []  # it waited; it never restarted the one in flight
    assert env.running(PRODUCTION) == {"chat-moderation": revision["name"]}

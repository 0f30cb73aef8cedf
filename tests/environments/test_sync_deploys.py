"""A sync deploys what git says, per environment: the real CLI against the emulator over HTTP."""

from __future__ import annotations

from environments_support import PACKAGES, PRODUCTION, STAGING, Env, statuses


def test_a_first_sync_on_main_deploys_every_package_to_staging_and_nothing_to_production(
    env: Env,
) -> None:
    code, document = env.sync_json()

    assert code == 0
    assert statuses(document) == {(name, "staging"): "deployed" for name in PACKAGES}
    assert (
        set(env.running(STAGING)) == {"chat-moderation", "presence-tracker", "webhooks"}
        or len(env.running(STAGING)) == 3
    )
    assert env.running(PRODUCTION) == {}

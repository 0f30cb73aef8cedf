"""A change freeze no commit bypasses: the policy is the configuration branch's tip, so a tag cut
before the freeze (whose own ``faas-gitops.yaml`` says ``frozen: false``) deploys nothing to a
frozen environment. A freeze is not a failure: exit 0, status ``frozen`` with a note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.environments.environments_support import (
    PACKAGES,
    PRODUCTION,
    Env,
    deployments,
    statuses,
)

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def _policy(env: Env) -> str:
    return (env.repo.root / "faas-gitops.yaml").read_text()


def _with_production_windows(env: Env, *windows: str) -> None:
    listed = "".join(f"      - {window}\n" for window in windows)
    env.repo.write(
        "faas-gitops.yaml",
        _policy(env).replace("    frozen: false", f"    frozen: false\n    windows:\n{listed}"),
    )


def _production(document: dict[str, Any]) -> dict[str, str]:
    return {path: status for (path, name), status in statuses(document).items()
            if name == "production"}  # fmt: skip


def test_a_tag_cut_before_the_freeze_deploys_nothing_to_production_and_exits_0(
    env: Env,
) -> None:
    before_freeze = env.repo.head()
    env.repo.write("faas-gitops.yaml", _policy(env).replace("frozen: false", "frozen: true"))
    env.repo.commit("Freeze production for the incident review")
    env.repo.git("checkout", "--quiet", "-b", "release-1.5", before_freeze)
    env.repo.write("webhooks/functions/heartbeat.js", "export default (r) => r.ok(); // 1.5\n")
    env.repo.commit("A hotfix on the release branch")
    assert "frozen: false" in _policy(env)  # the tag's own file says production is open
    env.repo.tag("v1.5.0")
    env.repo.git("checkout", "--quiet", "main")
    env.clear()

    code, document = env.sync_json("--ref", "v1.5.0")

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert _production(document) == dict.fromkeys(PACKAGES, "frozen")
    for name in PACKAGES:
        assert deployments(document)[(name, "production")]["note"] == "frozen in faas-gitops.yaml"
    assert env.running(PRODUCTION) == {}
    assert not [w for w in env.writes() if "deployments" in w[1]]


def _daily(at: datetime) -> str:
    return f"{at.minute} {at.hour} * * *"


def test_a_deny_window_open_now_freezes_with_the_moment_it_ends(env: Env) -> None:
    opened = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    _with_production_windows(env, f"{{kind: deny, schedule: '{_daily(opened)}', duration: 1h}}")
    env.repo.commit("No deployments for an hour")
    env.repo.tag("v1.0.0")

    code, document = env.sync_json()

    assert code == 0, [p["deployments"] for p in document["packages"]]
    assert _production(document) == dict.fromkeys(PACKAGES, "frozen")
    until = opened + timedelta(hours=1)
    note = deployments(document)[("webhooks", "production")]["note"]
    assert note == f"deny window {_daily(opened)} (UTC) until {until:%Y-%m-%dT%H:%MZ}"
    assert env.running(PRODUCTION) == {}


def test_a_deny_window_that_never_closes_freezes_without_an_end(env: Env) -> None:
    _with_production_windows(env, "{kind: deny, schedule: '* * * * *', duration: 1h}")
    env.repo.commit("Always closed")
    env.repo.tag("v1.0.0")

    code, document = env.sync_json()

    assert code == 0
    assert _production(document) == dict.fromkeys(PACKAGES, "frozen")
    note = deployments(document)[("webhooks", "production")]["note"]
    assert note == "deny window * * * * * (UTC)"
    assert env.running(PRODUCTION) == {}


def test_outside_every_allow_window_production_is_frozen_until_the_next_opening(
    env: Env,
) -> None:
    opens = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    _with_production_windows(env, f"{{kind: allow, schedule: '{_daily(opens)}', duration: 1h}}")
    env.repo.commit("Deploy to production only in the release hour")
    env.repo.tag("v1.0.0")

    code, document = env.sync_json()

    assert code == 0
    assert _production(document) == dict.fromkeys(PACKAGES, "frozen")
    note = deployments(document)[("chat-moderation", "production")]["note"]
    assert note == f"outside the allow windows until {opens:%Y-%m-%dT%H:%MZ}"
    assert env.running(PRODUCTION) == {}
    assert statuses(document)[("webhooks", "staging")] == "deployed"  # staging has no window

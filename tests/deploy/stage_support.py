"""One release of some targets, for the tests that drive ``run_release`` directly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faas_gitops.deploy import DeployTarget, ReleaseEnvironment, ReleaseInputs, run_release
from faas_gitops.deploy.api import Requester
from faas_gitops.deploy.apply import Outcomes

OWNER = "acme/functions"


def environment(env: Any) -> ReleaseEnvironment:
    """A loader ``Environment`` (or anything with name, keyset id, frozen) as the stage's."""
    return ReleaseEnvironment(env.name, env.keyset_id, env.frozen)


async def release(
    api: Requester,
    targets: Sequence[DeployTarget],
    *,
    environments: Sequence[Any],
    journal: Any = None,
    timing: Any = None,
    **inputs: Any,
) -> Outcomes:
    """``run_release`` of ``targets`` on ``environments``; its per-path outcomes."""
    active = tuple(environment(env) for env in environments)
    done = await run_release(
        api,
        ReleaseInputs(
            environments=active,
            configured=active,
            targets=tuple(targets),
            owner=OWNER,
            declared_ids=frozenset(t.package_id for t in targets if t.package_id),
            **inputs,
        ),
        journal=journal,
        timing=timing,
    )
    outcomes = dict(done.deployments)
    outcomes.update({removed.path: removed.deployments for removed in done.removed})
    return outcomes

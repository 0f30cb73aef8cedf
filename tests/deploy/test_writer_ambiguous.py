"""A deployment write answered 5xx, or not answered, is checked before it is sent again.

Over real HTTP against the emulator, whose forced write faults either change nothing and answer
500, or apply the write and then answer 500 or drop the connection. The request log shows what
was sent; the journal shows ``unknown`` until the read tells how the write ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from faas_gitops.deploy import DeployTarget, Timing
from faas_gitops.deploy.apply import Outcomes
from faas_gitops.emulator.requestlog import RequestRecord
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.source.environments import Environment
from tests.deploy.stage_support import Package, make_package, release, with_client

STAGING = Environment("staging", 412345, branches=("main",))
PROD = Environment("production", 498765, tags=("v*",))
STARTS = "/function-deployments"
_T = TypeVar("_T")


@dataclass
class Row:
    step: str
    deployment_id: str | None
    correlation_id: str | None
    status: str


@dataclass
class Faas:
    emulator: RunningEmulator
    journal: list[Row] = field(default_factory=list)

    def package(self, name: str, *revision_names: str) -> Package:
        return make_package(self.emulator, name, *revision_names)

    def deploy(
        self, targets: list[DeployTarget], *, deploy_timeout: float = 20.0, **kwargs: Any
    ) -> Outcomes:
        environments = kwargs.pop("environments", [STAGING])
        timing = Timing(deploy_timeout=deploy_timeout)

        def note(  # noqa: PLR0917 - the stage's Journal signature
            step: str,
            environment: str,
            path: str,
            deployment_id: str | None,
            correlation_id: str | None,
            status: str,
        ) -> None:
            self.journal.append(Row(step, deployment_id, correlation_id, status))

        return with_client(
            self.emulator,
            lambda api: release(
                api, targets, environments=environments, journal=note, timing=timing, **kwargs
            ),
        )

    def writes(self, method: str) -> list[RequestRecord]:
        deployment_paths = ("/v2/faas/package-deployments", "/v2/faas/function-deployments")
        return [
            r
            for r in self.emulator.requests
            if r.method == method and r.path.startswith(deployment_paths)
        ]

    def steps(self, step: str) -> list[str]:
        return [row.status for row in self.journal if row.step == step]

    def state(self, deployment_id: str | None) -> str:
        state: str = self.emulator.store.get_deployment(str(deployment_id))["state"]
        return state

    def clear(self) -> None:
        self.emulator.clear_requests()
        self.journal.clear()


def _only(outcomes: Outcomes, path: str) -> DeploymentOutcome:
    (outcome,) = outcomes[path]
    return outcome


pytestmark = [
    pytest.mark.emulator(sample=False, deploy_delay_ms=30, list_order="created"),
    pytest.mark.slow,
]


@pytest.fixture
def writer_faas(emulator: RunningEmulator) -> Faas:
    return Faas(emulator)


def test_a_start_answered_500_without_applying_is_sent_again_and_deploys(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    writer_faas.emulator.store.fault_deployment_writes("start", applied=False, times=1)
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([a.target("v1.0.0")]), a.path)

    assert (outcome.status, outcome.error) == (DeployStatus.DEPLOYED, None)
    assert writer_faas.state(outcome.deployment_id) == "RUNNING"
    starts = [(r.status, r.fault) for r in writer_faas.writes("POST") if r.path.endswith(STARTS)]
    assert starts == [(500, "write-unapplied"), (200, None)]
    assert writer_faas.steps("start") == ["pending", "unknown", "pending", "ok"]


def test_a_start_applied_whose_answer_was_lost_is_not_sent_again(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    writer_faas.emulator.store.fault_deployment_writes("start", applied=True, answer="drop")
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([a.target("v1.0.0")]), a.path)

    assert (outcome.status, outcome.error) == (DeployStatus.DEPLOYED, None)
    starts = [(r.status, r.fault) for r in writer_faas.writes("POST") if r.path.endswith(STARTS)]
    assert starts == [(0, "write-dropped")]
    assert writer_faas.steps("start") == ["pending", "unknown", "ok"]
    ok = next(row for row in writer_faas.journal if row.step == "start" and row.status == "ok")
    read = f"/v2/faas/package-deployments/{outcome.deployment_id}"
    gets = {
        r.correlation_id
        for r in writer_faas.emulator.requests
        if (r.method, r.path) == ("GET", read)
    }
    assert ok.correlation_id in gets  # the answer of the read that found it started
    assert outcome.correlation_id == ok.correlation_id


def test_a_rolling_update_answered_500_without_applying_is_sent_again(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0", "v1.1.0")
    first = _only(writer_faas.deploy([a.target("v1.0.0")]), a.path)
    writer_faas.emulator.store.fault_deployment_writes("rolling-update", applied=False)
    writer_faas.clear()

    rolled = _only(writer_faas.deploy([a.target("v1.1.0")]), a.path)

    assert (rolled.status, rolled.error) == (DeployStatus.DEPLOYED, None)
    assert [r.status for r in writer_faas.writes("PUT")] == [500, 200]
    assert (writer_faas.state(first.deployment_id), writer_faas.state(rolled.deployment_id)) == (
        "STOPPED",
        "RUNNING",
    )
    assert writer_faas.steps("rolling-update") == ["pending", "unknown", "pending", "ok"]


def test_a_rolling_update_applied_whose_answer_was_lost_is_not_sent_again(
    writer_faas: Faas,
) -> None:
    a = writer_faas.package("a", "v1.0.0", "v1.1.0")
    writer_faas.deploy([a.target("v1.0.0")])
    writer_faas.emulator.store.fault_deployment_writes(
        "rolling-update", applied=True, answer="drop"
    )
    writer_faas.clear()

    rolled = _only(writer_faas.deploy([a.target("v1.1.0")]), a.path)

    assert (rolled.status, rolled.error) == (DeployStatus.DEPLOYED, None)
    assert [r.status for r in writer_faas.writes("PUT")] == [0]
    assert writer_faas.steps("rolling-update") == ["pending", "unknown", "ok"]


def test_a_create_answered_500_after_applying_uses_the_deployment_it_made(
    writer_faas: Faas,
) -> None:
    a = writer_faas.package("a", "v1.0.0")
    writer_faas.emulator.store.fault_deployment_writes("create", applied=True, answer="500")
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([a.target("v1.0.0")]), a.path)

    assert (outcome.status, outcome.error) == (DeployStatus.DEPLOYED, None)
    creates = [
        r.status for r in writer_faas.writes("POST") if r.path == "/v2/faas/package-deployments"
    ]
    assert creates == [500]
    assert writer_faas.steps("create") == ["pending", "unknown", "exists"]
    (deployment,) = writer_faas.emulator.store.revision_deployments(a.revisions["v1.0.0"])
    assert deployment["id"] == outcome.deployment_id


def test_a_create_answered_500_without_applying_is_sent_again(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    writer_faas.emulator.store.fault_deployment_writes("create", applied=False)
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([a.target("v1.0.0")]), a.path)

    assert outcome.status is DeployStatus.DEPLOYED
    creates = [
        r.status for r in writer_faas.writes("POST") if r.path == "/v2/faas/package-deployments"
    ]
    assert creates == [500, 201]
    assert writer_faas.steps("create") == ["pending", "unknown", "pending", "ok"]


def test_a_start_that_never_applies_fails_naming_the_call_and_its_answer(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    writer_faas.emulator.store.fault_deployment_writes("start", applied=False, times=None)
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([a.target("v1.0.0")], deploy_timeout=0.5), a.path)

    assert outcome.status is DeployStatus.FAILED
    assert outcome.error is not None
    assert "POST /v2/faas/package-deployments/{id}/function-deployments: 500" in outcome.error
    assert "not applied" in outcome.error
    assert "--deploy-timeout" not in outcome.error
    starts = [r for r in writer_faas.writes("POST") if r.path.endswith(STARTS)]
    assert len(starts) > 1  # it was sent again before giving up
    statuses = writer_faas.steps("start")
    assert statuses[-2:] == ["unknown", "failed"]  # checked, not applied, and given up on
    assert "ok" not in statuses


def test_a_stop_answered_500_without_applying_is_sent_again(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    (running,) = writer_faas.deploy([a.target("v1.0.0")], environments=[STAGING, PROD])[a.path][:1]
    writer_faas.emulator.store.fault_deployment_writes("stop", applied=False)
    writer_faas.clear()

    pruned = writer_faas.deploy([], prune=True)[a.path]  # the first run marked it as ours
    outcome = next(o for o in pruned if o.environment == "staging")  # production: orphaned

    assert (outcome.status, outcome.error) == (DeployStatus.PRUNED, None)
    assert writer_faas.state(running.deployment_id) == "STOPPED"
    assert [r.status for r in writer_faas.writes("DELETE")] == [500, 200]
    assert writer_faas.steps("stop") == ["pending", "unknown", "pending", "ok"]


def test_a_stop_applied_but_answered_500_is_not_sent_again(writer_faas: Faas) -> None:
    a = writer_faas.package("a", "v1.0.0")
    (running,) = writer_faas.deploy([a.target("v1.0.0")])[a.path]
    writer_faas.emulator.store.fault_deployment_writes("stop", applied=True, answer="500")
    writer_faas.clear()

    outcome = _only(writer_faas.deploy([], prune=True), a.path)

    assert (outcome.status, outcome.error) == (DeployStatus.PRUNED, None)
    assert writer_faas.state(running.deployment_id) == "STOPPED"
    assert [(r.path, r.status) for r in writer_faas.writes("DELETE")] == [
        (f"/v2/faas/package-deployments/{running.deployment_id}/function-deployments", 500)
    ]
    assert writer_faas.steps("stop") == ["pending", "unknown", "ok"]

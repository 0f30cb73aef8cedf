"""The release stage and promotion over real HTTP against the emulator, in both list modes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from faas_gitops.api import ApiClient
from faas_gitops.deploy import (
    DeployTarget,
    ReleaseEnvironment,
    ReleaseInputs,
    Timing,
    promote,
    run_release,
)
from faas_gitops.deploy.apply import Outcomes
from faas_gitops.deploy.observe import Remembered
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import DeployStatus
from tests.deploy.stage_support import Package, make_package, with_client

_T = TypeVar("_T")
STAGING = ReleaseEnvironment("staging", 412345)
PROD = ReleaseEnvironment("production", 498765)
OWNER = "acme/functions"
LIMIT_CALL = "/v2/faas/limits/package-deployments-running"


class Faas:
    """One emulator and the calls a test makes to it, each in its own event loop."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.emulator = emulator

    def call(self, action: Callable[[ApiClient], Awaitable[_T]]) -> _T:
        return with_client(self.emulator, action)

    def package(self, name: str, *revision_names: str) -> Package:
        """A package with one revision per name (different code each), created over HTTP."""
        return make_package(self.emulator, name, *revision_names)

    def deploy(
        self,
        targets: list[DeployTarget],
        *,
        environments: list[ReleaseEnvironment] | None = None,
        known: Any = None,
        **inputs: Any,
    ) -> Outcomes:
        """One release of ``targets`` (removed packages' rows merged in by path)."""
        release_inputs = ReleaseInputs(
            environments=tuple(environments or [STAGING]),
            configured=(STAGING, PROD),
            targets=tuple(targets),
            owner=OWNER,
            declared_ids=frozenset(t.package_id for t in targets if t.package_id),
            **inputs,
        )
        release = self.call(
            lambda api: run_release(
                api, release_inputs, known=known, timing=Timing(deploy_timeout=20.0)
            )
        )
        outcomes = dict(release.deployments)
        outcomes.update({removed.path: removed.deployments for removed in release.removed})
        return outcomes

    def running(self, package: Package, keyset_id: int) -> list[str]:
        """Names of the package's revisions RUNNING on a keyset, read from the emulator's store."""
        store = self.emulator.store
        names = {rid: name for name, rid in package.revisions.items()}
        return sorted(
            names[d["packageRevisionId"]]
            for rid in package.revisions.values()
            for d in store.revision_deployments(rid)
            if d["keysetId"] == keyset_id and d["state"] == "RUNNING"
        )

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.emulator.requests if r.method != "GET"]

    def deployment_writes(self) -> list[tuple[str, str]]:
        """The writes that change what runs (not the ownership marks on package tags)."""
        return [w for w in self.writes() if not w[1].startswith("/v2/faas/packages/")]

    def gets(self, path: str) -> int:
        return sum(1 for r in self.emulator.requests if r.method == "GET" and r.path == path)

    def clear(self) -> None:
        self.emulator.clear_requests()


def _statuses(outcomes: Outcomes) -> dict[tuple[str, str], DeployStatus]:
    return {(path, o.environment): o.status for path, items in outcomes.items() for o in items}


# Deployments over real HTTP in both list modes, against an emulator holding only what a test
# creates; starts take 30 ms.
pytestmark = [pytest.mark.both_modes, pytest.mark.emulator(sample=False, deploy_delay_ms=30)]


@pytest.fixture
def stage_faas(emulator: RunningEmulator) -> Faas:
    return Faas(emulator)


@pytest.mark.slow
def test_a_first_deploy_starts_the_revision_on_staging_and_a_rerun_writes_nothing(
    stage_faas: Faas,
) -> None:
    a = stage_faas.package("a", "v1.0.0")
    stage_faas.clear()

    first = stage_faas.deploy([a.target("v1.0.0")])

    (outcome,) = first[a.path]
    assert outcome.status is DeployStatus.DEPLOYED
    assert stage_faas.running(a, STAGING.keyset_id) == ["v1.0.0"]
    assert stage_faas.writes() == [
        ("POST", "/v2/faas/package-deployments"),
        ("POST", f"/v2/faas/package-deployments/{outcome.deployment_id}/function-deployments"),
        ("PUT", f"/v2/faas/packages/{a.id}"),  # marked as this repository's
    ]
    stage_faas.clear()

    again = stage_faas.deploy([a.target("v1.0.0")])

    assert _statuses(again) == {(a.path, "staging"): DeployStatus.IN_SYNC}
    assert stage_faas.writes() == []


@pytest.mark.slow
def test_a_changed_revision_rolls_the_running_one_over(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0", "v1.1.0")
    (first,) = stage_faas.deploy([a.target("v1.0.0")])[a.path]
    stage_faas.clear()

    (rolled,) = stage_faas.deploy([a.target("v1.1.0")])[a.path]

    assert rolled.status is DeployStatus.DEPLOYED
    assert (rolled.previous_deployment_id, rolled.previous_revision_name) == (
        first.deployment_id,
        "v1.0.0",
    )
    assert stage_faas.running(a, STAGING.keyset_id) == ["v1.1.0"]
    old = stage_faas.emulator.store.get_deployment(str(first.deployment_id))
    assert old["state"] == "STOPPED"
    assert [method for method, _ in stage_faas.deployment_writes()] == ["POST", "PUT"]


@pytest.mark.slow
def test_a_package_restricted_to_staging_never_reaches_production(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0")
    b = stage_faas.package("b", "v1.0.0")

    outcomes = stage_faas.deploy(
        [a.target("v1.0.0", environments=("staging",)), b.target("v1.0.0")],
        environments=[STAGING, PROD],
    )

    assert _statuses(outcomes) == {
        (a.path, "staging"): DeployStatus.DEPLOYED,
        (b.path, "staging"): DeployStatus.DEPLOYED,
        (b.path, "production"): DeployStatus.DEPLOYED,
    }
    assert stage_faas.running(a, PROD.keyset_id) == []
    assert stage_faas.running(b, PROD.keyset_id) == ["v1.0.0"]


@pytest.mark.slow
def test_a_pin_holds_production_on_the_pinned_revision_while_staging_moves_on(
    stage_faas: Faas,
) -> None:
    a = stage_faas.package("a", "v1.0.0", "v1.1.0")
    pin = (("production", "v1.0.0"),)

    outcomes = stage_faas.deploy([a.target("v1.1.0", pins=pin)], environments=[STAGING, PROD])

    assert _statuses(outcomes) == {
        (a.path, "staging"): DeployStatus.DEPLOYED,
        (a.path, "production"): DeployStatus.DEPLOYED,
    }
    assert stage_faas.running(a, STAGING.keyset_id) == ["v1.1.0"]
    assert stage_faas.running(a, PROD.keyset_id) == ["v1.0.0"]


def test_a_frozen_environment_writes_nothing(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0")
    frozen = ReleaseEnvironment("production", PROD.keyset_id, frozen=True)
    stage_faas.clear()

    outcomes = stage_faas.deploy([a.target("v1.0.0")], environments=[frozen])

    assert _statuses(outcomes) == {(a.path, "production"): DeployStatus.FROZEN}
    assert stage_faas.writes() == []


@pytest.mark.slow
@pytest.mark.emulator(deploy_delay_ms=3000)
def test_a_start_in_flight_elsewhere_is_waited_for_and_never_sent_again(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0")
    store = stage_faas.emulator.store
    other = store.create_deployment(a.revisions["v1.0.0"], STAGING.keyset_id)
    store.start_deployment(other["id"], delay_ms=3000, max_running=5)  # another replica's start
    stage_faas.clear()

    (outcome,) = stage_faas.deploy([a.target("v1.0.0")])[a.path]

    # The STARTING deployment is in flight, not absent: the stage waited for it to settle,
    # read the package again and found it running: in sync, with no start of its own.
    assert (outcome.status, outcome.deployment_id) == (DeployStatus.IN_SYNC, other["id"])
    assert stage_faas.deployment_writes() == []
    assert stage_faas.running(a, STAGING.keyset_id) == ["v1.0.0"]


@pytest.mark.slow
@pytest.mark.emulator(max_running_deployments=2)
def test_the_running_limit_fails_exactly_the_packages_over_it(stage_faas: Faas) -> None:
    packages = [stage_faas.package(name, "v1.0.0") for name in ("a", "b", "c", "d")]
    stage_faas.clear()

    outcomes = stage_faas.deploy([p.target("v1.0.0") for p in packages])

    assert _statuses(outcomes) == {
        ("packages/a", "staging"): DeployStatus.DEPLOYED,
        ("packages/b", "staging"): DeployStatus.DEPLOYED,
        ("packages/c", "staging"): DeployStatus.FAILED,
        ("packages/d", "staging"): DeployStatus.FAILED,
    }
    assert outcomes["packages/d"][0].error == (
        "running-deployments limit reached: 2 of 2 running"
        f" (GET {LIMIT_CALL}); stop a deployment or raise the account's limit"
    )
    assert stage_faas.gets(LIMIT_CALL) == 1


@pytest.mark.slow
def test_promote_deploys_the_revision_ids_running_on_staging(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0", "v1.1.0")
    b = stage_faas.package("b", "v1.0.0", "v1.1.0")
    stage_faas.deploy([a.target("v1.0.0"), b.target("v1.1.0")])
    stage_faas.clear()

    outcomes = stage_faas.call(
        lambda api: promote(api, source_env=STAGING, target_env=PROD, packages=[a.ref, b.ref])
    )

    promoted = {path: (o.status, o.revision_id) for path, (o,) in outcomes.items()}
    assert promoted == {
        a.path: (DeployStatus.DEPLOYED, a.revisions["v1.0.0"]),
        b.path: (DeployStatus.DEPLOYED, b.revisions["v1.1.0"]),
    }
    assert stage_faas.running(a, PROD.keyset_id) == ["v1.0.0"]
    assert stage_faas.running(b, PROD.keyset_id) == ["v1.1.0"]
    assert not any(path == "/v2/faas/package-revisions" for _, path in stage_faas.writes())


@pytest.mark.slow
def test_prune_stops_a_removed_package_on_the_active_keysets(stage_faas: Faas) -> None:
    a = stage_faas.package("a", "v1.0.0")
    kept = stage_faas.package("b", "v1.0.0")
    stage_faas.deploy([a.target("v1.0.0"), kept.target("v1.0.0")], environments=[STAGING, PROD])
    stage_faas.clear()

    outcomes = stage_faas.deploy([kept.target("v1.0.0")], prune=True)

    assert _statuses(outcomes) == {
        (a.path, "staging"): DeployStatus.PRUNED,
        (a.path, "production"): DeployStatus.ORPHANED,  # still runs there, and says so
        (kept.path, "staging"): DeployStatus.IN_SYNC,
    }
    assert not any(path == "/v2/faas/function-deployments" for _, path in stage_faas.writes())
    assert stage_faas.running(a, STAGING.keyset_id) == []
    assert stage_faas.running(a, PROD.keyset_id) == ["v1.0.0"]  # production was not synced
    assert stage_faas.running(kept, STAGING.keyset_id) == ["v1.0.0"]


class Memory:
    """``KnownDeployments`` in a dict, as the state dir keeps it (through its JSON text)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def recall(self, package_id: str) -> Remembered | None:
        text = self.texts.get(package_id)
        return None if text is None else Remembered.from_json(text)

    def keep(self, package_id: str, remembered: Remembered | None) -> None:
        if remembered is None:
            self.texts.pop(package_id, None)
        else:
            self.texts[package_id] = remembered.to_json()


def _deployment_lists(stage_faas: Faas) -> int:
    return sum(1 for r in stage_faas.emulator.requests if r.path.endswith("/package-deployments"))


def test_remembered_deployments_spare_the_deployment_lists_while_the_counters_agree(
    stage_faas: Faas,
) -> None:
    a = stage_faas.package("a", "v1.0.0")
    memory = Memory()
    (first,) = stage_faas.deploy([a.target("v1.0.0")], known=memory)[a.path]
    assert first.status is DeployStatus.DEPLOYED
    written = memory.recall(a.id)  # what was read before the write is past: only a hint
    assert written is not None
    assert not written.settled
    stage_faas.deploy([a.target("v1.0.0")], known=memory)  # reads what runs, and remembers it
    settled = memory.recall(a.id)
    assert settled is not None
    assert settled.settled
    stage_faas.clear()

    again = stage_faas.deploy([a.target("v1.0.0")], known=memory)

    assert _statuses(again) == {(a.path, "staging"): DeployStatus.IN_SYNC}
    assert again[a.path][0].deployment_id == first.deployment_id
    assert _deployment_lists(stage_faas) == 0
    assert [r.path for r in stage_faas.emulator.requests if "/package-deployments/" in r.path] == []


def test_a_deployment_stopped_by_hand_changes_the_counters_so_it_is_read_and_restarted(
    stage_faas: Faas,
) -> None:
    a = stage_faas.package("a", "v1.0.0")
    memory = Memory()
    (first,) = stage_faas.deploy([a.target("v1.0.0")], known=memory)[a.path]
    stage_faas.deploy([a.target("v1.0.0")], known=memory)
    stage_faas.emulator.store.stop_deployment(str(first.deployment_id))  # in the portal
    stage_faas.clear()

    (again,) = stage_faas.deploy([a.target("v1.0.0")], known=memory)[a.path]

    assert again.status is DeployStatus.DEPLOYED
    assert _deployment_lists(stage_faas) == 1  # the desired revision's, now that nothing runs
    assert stage_faas.running(a, STAGING.keyset_id) == ["v1.0.0"]

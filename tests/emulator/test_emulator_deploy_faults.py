"""Forced deployment-write faults: a 500 that changed nothing, or a write applied whose answer is
a 500 or never comes. What a client sees over HTTP, what the store holds, what the log says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from faas_gitops.emulator import EmulatorStore
from faas_gitops.emulator.cli import main
from faas_gitops.emulator.flags import write_fault_of
from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

# ``main`` configures structlog for its process: reset before and after each test.
pytestmark = pytest.mark.usefixtures("unfiltered_logs")

STAGING, PRODUCTION = 412345, 498765


@pytest.fixture
def fault_emulator(start_emulator: StartEmulator) -> RunningEmulator:
    return start_emulator(EmulatorStore(), deploy_delay_ms=0)


@pytest.fixture
def fault_http(fault_emulator: RunningEmulator, faas_client_for: Any) -> httpx.Client:
    client: httpx.Client = faas_client_for(fault_emulator)
    return client


def revision(store: EmulatorStore, package: str = "chat", name: str = "v1") -> str:
    if not store.has_package(name=package):
        store.add_package(package, package_id=f"pkg-{package}")
    rev_id: str = store.add_revision(f"pkg-{package}", name, [function("a")])["id"]
    return rev_id


def create(fault_http: httpx.Client, revision_id: str, keyset_id: int = STAGING) -> httpx.Response:
    return fault_http.post(
        "/v2/faas/package-deployments",
        json={"packageRevisionId": revision_id, "keysetId": keyset_id},
    )


def start(fault_http: httpx.Client, deployment_id: str) -> httpx.Response:
    return fault_http.post(f"/v2/faas/package-deployments/{deployment_id}/function-deployments")


def stop(fault_http: httpx.Client, deployment_id: str) -> httpx.Response:
    return fault_http.delete(f"/v2/faas/package-deployments/{deployment_id}/function-deployments")


def running_deployment(fault_http: httpx.Client, revision_id: str, keyset: int = STAGING) -> str:
    deployment_id: str = create(fault_http, revision_id, keyset).json()["data"]["id"]
    assert start(fault_http, deployment_id).status_code == 200
    return deployment_id


def faults(fault_emulator: RunningEmulator) -> list[tuple[str, int, str | None]]:
    return [(r.method, r.status, r.fault) for r in fault_emulator.requests if r.fault is not None]


def test_an_unapplied_start_answers_500_changes_nothing_and_only_the_next_n_meet_it(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    deployment_id = create(fault_http, revision(fault_emulator.store)).json()["data"]["id"]
    fault_emulator.store.fault_deployment_writes("start", applied=False, times=2)

    answers = [start(fault_http, deployment_id).status_code for _ in range(2)]

    assert answers == [500, 500]
    assert fault_emulator.store.get_deployment(deployment_id)["state"] == "STOPPED"
    assert start(fault_http, deployment_id).status_code == 200
    assert fault_emulator.store.get_deployment(deployment_id)["state"] == "RUNNING"
    assert faults(fault_emulator) == [("POST", 500, "write-unapplied")] * 2


def test_an_applied_start_whose_answer_is_dropped_leaves_the_client_without_a_status(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    deployment_id = create(fault_http, revision(fault_emulator.store)).json()["data"]["id"]
    fault_emulator.store.fault_deployment_writes("start", applied=True)

    with pytest.raises(httpx.RemoteProtocolError):
        start(fault_http, deployment_id)

    assert fault_emulator.store.get_deployment(deployment_id)["state"] == "RUNNING"
    assert faults(fault_emulator) == [("POST", 0, "write-dropped")]


def test_an_applied_create_answered_500_is_there_to_list(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    rev = revision(fault_emulator.store)
    fault_emulator.store.fault_deployment_writes("create", applied=True, answer="500")

    answer = create(fault_http, rev)

    assert answer.status_code == 500
    listed = fault_http.get(f"/v2/faas/package-revisions/{rev}/package-deployments").json()["data"]
    assert [(d["keysetId"], d["state"]) for d in listed] == [(STAGING, "STOPPED")]
    assert faults(fault_emulator) == [("POST", 500, "write-applied-500")]


def test_an_unapplied_create_stores_nothing(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    rev = revision(fault_emulator.store)
    fault_emulator.store.fault_deployment_writes("create")

    assert create(fault_http, rev).status_code == 500
    assert fault_emulator.store.revision_deployments(rev) == []


def test_an_unapplied_rolling_update_leaves_both_deployments_as_they_were(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    old = running_deployment(fault_http, revision(fault_emulator.store, name="v1"))
    new = create(fault_http, revision(fault_emulator.store, name="v2")).json()["data"]["id"]
    fault_emulator.store.fault_deployment_writes("rolling-update")

    answer = fault_http.put(
        f"/v2/faas/package-deployments/{old}/function-deployments",
        json={"newPackageDeploymentId": new},
    )

    assert answer.status_code == 500
    store = fault_emulator.store
    assert (store.get_deployment(old)["state"], store.get_deployment(new)["state"]) == (
        "RUNNING",
        "STOPPED",
    )


@pytest.mark.slow
def test_stops_meet_their_fault_one_by_one_or_by_package(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    one = running_deployment(fault_http, revision(fault_emulator.store))
    fault_emulator.store.fault_deployment_writes("stop", applied=False)
    fault_emulator.store.fault_deployment_writes("stop", applied=True, answer="500")

    unapplied = stop(fault_http, one)
    state_after_unapplied = fault_emulator.store.get_deployment(one)["state"]
    by_package = fault_http.delete(
        "/v2/faas/function-deployments", params={"package_id": "pkg-chat"}
    )

    assert (unapplied.status_code, state_after_unapplied) == (500, "RUNNING")
    assert by_package.status_code == 500
    assert fault_emulator.store.get_deployment(one)["state"] == "STOPPED"


def test_a_fault_for_one_package_spares_the_others(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    chat = create(fault_http, revision(fault_emulator.store, "chat")).json()["data"]["id"]
    other = create(fault_http, revision(fault_emulator.store, "other")).json()["data"]["id"]
    fault_emulator.store.fault_deployment_writes("start", package_id="pkg-chat", times=None)

    assert start(fault_http, other).status_code == 200
    assert [start(fault_http, chat).status_code for _ in range(3)] == [500, 500, 500]


@pytest.mark.slow
def test_a_write_refused_anyway_does_not_use_up_the_fault(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    rev = revision(fault_emulator.store)
    assert create(fault_http, rev).status_code == 201
    fault_emulator.store.fault_deployment_writes("create", applied=False)

    assert create(fault_http, rev).status_code == 409  # FAAS-1015, as without the fault
    assert create(fault_http, rev, PRODUCTION).status_code == 500


def test_reset_forgets_write_faults(
    fault_emulator: RunningEmulator, fault_http: httpx.Client
) -> None:
    fault_emulator.store.fault_deployment_writes("create", times=None)
    fault_emulator.store.reset()

    assert create(fault_http, revision(fault_emulator.store)).status_code == 201


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("start:unapplied", ("start", "unapplied", 1, None)),
        ("rolling-update:dropped:3", ("rolling-update", "dropped", 3, None)),
        ("stop:applied-500:forever:pkg-1", ("stop", "applied-500", None, "pkg-1")),
    ],
)
def test_the_fault_flag_reads_op_mode_times_and_package(
    spec: str, parsed: tuple[object, ...]
) -> None:
    assert write_fault_of(spec) == parsed


@pytest.mark.parametrize(
    "spec", ["start", "launch:unapplied", "start:maybe", "start:dropped:0", "start:dropped:x"]
)
def test_a_bad_fault_flag_exits_2_naming_it(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fault-deployment-write", spec]) == 2
    assert "--fault-deployment-write" in capsys.readouterr().err

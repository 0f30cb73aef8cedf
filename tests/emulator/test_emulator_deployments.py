"""Package deployments over HTTP: create, start, roll over, stop, the limit and the counters.

Most tests drive the emulator's clock by hand (a store with an injected clock), so "still
STARTING" and "now RUNNING" are decided by the test, never by how fast the machine is; one
test uses the real clock with a small delay and polls, as a client does.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from faas_gitops.emulator import EmulatorStore
from faas_gitops.emulator.cli import main
from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

DELAY_MS = 200
STAGING, PRODUCTION = 412345, 498765


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: int) -> None:
        self.now += ms / 1000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def running(start_emulator: StartEmulator, clock: FakeClock) -> RunningEmulator:
    return start_emulator(
        EmulatorStore(clock=clock), deploy_delay_ms=DELAY_MS, max_running_deployments=3
    )


@pytest.fixture
def http(running: RunningEmulator, faas_client_for: Any) -> httpx.Client:
    client: httpx.Client = faas_client_for(running)
    return client


def revision(store: EmulatorStore, package: str = "chat", name: str = "v1") -> dict[str, Any]:
    if not store.has_package(name=package):
        store.add_package(package, package_id=f"pkg-{package}")
    return store.add_revision(f"pkg-{package}", name, [function("a"), function("b")])


def create(http: httpx.Client, revision_id: str, keyset_id: int = STAGING) -> dict[str, Any]:
    answer = http.post(
        "/v2/faas/package-deployments",
        json={"packageRevisionId": revision_id, "keysetId": keyset_id},
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def start(http: httpx.Client, deployment_id: str) -> httpx.Response:
    return http.post(f"/v2/faas/package-deployments/{deployment_id}/function-deployments")


def state(http: httpx.Client, deployment_id: str) -> str:
    answer = http.get(f"/v2/faas/package-deployments/{deployment_id}")
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["data"]["state"]
    return value


def error_code(answer: httpx.Response) -> str:
    body = answer.json()
    assert "data" not in body
    code: str = body["errors"][0]["code"]
    return code


def running_deployment(http: httpx.Client, clock: FakeClock, revision_id: str, keyset: int) -> str:
    deployment_id: str = create(http, revision_id, keyset)["id"]
    assert start(http, deployment_id).status_code == 200
    clock.advance_ms(DELAY_MS)
    assert state(http, deployment_id) == "RUNNING"
    return deployment_id


def test_a_new_deployment_is_stopped_with_one_function_deployment_per_function(
    running: RunningEmulator, http: httpx.Client
) -> None:
    rev = revision(running.store)

    created = http.post(
        "/v2/faas/package-deployments", json={"packageRevisionId": rev["id"], "keysetId": STAGING}
    )

    assert created.status_code == 201
    body = created.json()
    assert body["errors"] == []
    assert set(body["meta"]) == {"timestamp", "correlationId"}
    deployment = body["data"]
    assert deployment["packageRevisionId"] == rev["id"]
    assert deployment["keysetId"] == STAGING
    assert deployment["state"] == "STOPPED"
    assert [f["functionRevisionId"] for f in deployment["functionDeployments"]] == [
        f["functionRevisionId"] for f in rev["functions"]
    ]
    assert {f["state"] for f in deployment["functionDeployments"]} == {"STOPPED"}
    assert not any(key.startswith("_") for key in deployment)
    fetched = http.get(f"/v2/faas/package-deployments/{deployment['id']}").json()["data"]
    assert fetched == deployment


def test_a_second_deployment_of_a_revision_on_a_keyset_is_409_naming_the_existing_one(
    running: RunningEmulator, http: httpx.Client
) -> None:
    rev = revision(running.store)
    first = create(http, rev["id"])

    again = http.post(
        "/v2/faas/package-deployments", json={"packageRevisionId": rev["id"], "keysetId": STAGING}
    )

    assert again.status_code == 409
    assert error_code(again) == "FAAS-1015"
    assert first["id"] in again.json()["errors"][0]["message"]
    listed = http.get(f"/v2/faas/package-revisions/{rev['id']}/package-deployments").json()
    assert [d["id"] for d in listed["data"]] == [first["id"]]
    assert create(http, rev["id"], PRODUCTION)["keysetId"] == PRODUCTION


def test_a_revisions_deployments_are_listed_in_pages(
    running: RunningEmulator, http: httpx.Client
) -> None:
    rev = revision(running.store)
    ids = {create(http, rev["id"], keyset)["id"] for keyset in (1, 2, 3)}
    path = f"/v2/faas/package-revisions/{rev['id']}/package-deployments"

    pages = [http.get(path, params={"size": 2, "page": page}).json() for page in (0, 1)]

    assert pages[0]["meta"]["paging"] == {
        "totalElements": 3,
        "totalPages": 2,
        "pageSize": 2,
        "pageNumber": 0,
        "pageOffset": 0,
    }
    assert {d["id"] for page in pages for d in page["data"]} == ids
    assert [len(page["data"]) for page in pages] == [2, 1]


def test_a_started_deployment_is_starting_until_the_delay_has_passed_then_running(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    deployment = create(http, revision(running.store)["id"])

    started = start(http, deployment["id"])

    assert started.status_code == 200
    assert started.json()["data"]["state"] == "STARTING"
    clock.advance_ms(DELAY_MS - 1)
    assert state(http, deployment["id"]) == "STARTING"
    clock.advance_ms(1)
    fetched = http.get(f"/v2/faas/package-deployments/{deployment['id']}").json()["data"]
    assert fetched["state"] == "RUNNING"
    assert {f["state"] for f in fetched["functionDeployments"]} == {"RUNNING"}


@pytest.mark.slow
def test_the_real_clock_brings_a_started_deployment_to_running_after_the_delay(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(deploy_delay_ms=50)
    http = faas_client_for(emu)
    deployment = create(http, revision(emu.store)["id"])

    assert start(http, deployment["id"]).json()["data"]["state"] == "STARTING"
    seen = ["STARTING"]
    deadline = time.monotonic() + 10
    while seen[-1] != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
        seen.append(state(http, deployment["id"]))

    assert seen[-1] == "RUNNING"
    assert set(seen) == {"STARTING", "RUNNING"}


def test_writes_on_a_deployment_in_transition_answer_423(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    deployment_id = create(http, revision(running.store)["id"])["id"]
    start(http, deployment_id)
    path = f"/v2/faas/package-deployments/{deployment_id}/function-deployments"

    restart = http.post(path)
    stop = http.delete(path)
    stop_all = http.delete("/v2/faas/function-deployments", params={"package_id": "pkg-chat"})

    assert (restart.status_code, error_code(restart)) == (423, "FAAS-1008")
    assert (stop.status_code, error_code(stop)) == (423, "FAAS-1009")
    assert (stop_all.status_code, error_code(stop_all)) == (423, "FAAS-1009")
    assert state(http, deployment_id) == "STARTING"
    clock.advance_ms(DELAY_MS)
    assert http.delete(path).json()["data"]["state"] == "STOPPED"


@pytest.mark.slow
def test_the_revision_and_package_counters_follow_the_deployments(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    rev = revision(running.store)
    other = revision(running.store, name="v2")

    def counters() -> tuple[Any, ...]:
        listed = http.get("/v2/faas/packages/pkg-chat/package-revisions").json()["data"]
        item = next(r for r in listed if r["id"] == rev["id"])
        got = http.get(f"/v2/faas/package-revisions/{rev['id']}").json()["data"]
        assert (got["packageDeploymentsTotal"], got["packageDeploymentsRunning"]) == (
            item["packageDeploymentsTotal"],
            item["packageDeploymentsRunning"],
        )
        pkg = http.get("/v2/faas/packages/pkg-chat").json()["data"]
        return (
            item["packageDeploymentsTotal"],
            item["packageDeploymentsRunning"],
            pkg["packageDeploymentsTotal"],
            pkg["packageDeploymentsRunning"],
            pkg["revisionsRunning"],
        )

    assert counters() == (0, 0, 0, 0, 0)
    first = create(http, rev["id"])["id"]
    create(http, other["id"])
    assert counters() == (1, 0, 2, 0, 0)
    start(http, first)
    assert counters() == (1, 0, 2, 0, 0)  # STARTING is not running yet
    clock.advance_ms(DELAY_MS)
    assert counters() == (1, 1, 2, 1, 1)
    running_deployment(http, clock, rev["id"], PRODUCTION)
    assert counters() == (2, 2, 3, 2, 1)


def test_a_rolling_update_stops_the_old_deployment_as_the_new_one_starts(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    old_id = running_deployment(http, clock, revision(running.store)["id"], STAGING)
    new_id = create(http, revision(running.store, name="v2")["id"])["id"]

    rolled = http.put(
        f"/v2/faas/package-deployments/{old_id}/function-deployments",
        json={"newPackageDeploymentId": new_id},
    )

    assert rolled.status_code == 200
    assert rolled.json()["data"]["id"] == new_id
    assert (state(http, old_id), state(http, new_id)) == ("STOPPING", "STARTING")
    again = start(http, new_id)
    assert (again.status_code, error_code(again)) == (423, "FAAS-1008")
    clock.advance_ms(DELAY_MS)
    assert (state(http, old_id), state(http, new_id)) == ("STOPPED", "RUNNING")


def test_a_rolling_update_needs_a_running_old_and_a_stopped_new_one_on_the_same_keyset(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    v1, v2 = (
        revision(running.store)["id"],
        revision(running.store, name="v2")["id"],
    )
    old_id = running_deployment(http, clock, v1, STAGING)
    elsewhere = create(http, v2, PRODUCTION)["id"]
    stopped = create(http, v2, STAGING)["id"]

    def roll(source: str, target: str) -> httpx.Response:
        return http.put(
            f"/v2/faas/package-deployments/{source}/function-deployments",
            json={"newPackageDeploymentId": target},
        )

    to_other_keyset = roll(old_id, elsewhere)
    from_stopped = roll(stopped, elsewhere)
    without_body = http.put(f"/v2/faas/package-deployments/{old_id}/function-deployments", json={})

    assert (to_other_keyset.status_code, error_code(to_other_keyset)) == (400, "FAAS-400")
    assert "keyset" in to_other_keyset.json()["errors"][0]["message"]
    assert from_stopped.status_code == 400
    assert "newPackageDeploymentId" in without_body.json()["errors"][0]["message"]
    assert (state(http, old_id), state(http, stopped)) == ("RUNNING", "STOPPED")


@pytest.mark.slow
def test_stopping_by_package_stops_every_running_deployment_of_it_on_every_keyset(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    rev = revision(running.store)["id"]
    staging = running_deployment(http, clock, rev, STAGING)
    production = running_deployment(http, clock, rev, PRODUCTION)
    never_started = create(http, rev, 3)["id"]
    other = running_deployment(http, clock, revision(running.store, "presence")["id"], STAGING)

    stopped = http.delete("/v2/faas/function-deployments", params={"package_id": "pkg-chat"})

    assert stopped.status_code == 200
    assert {d["id"] for d in stopped.json()["data"]} == {staging, production}
    assert {d["state"] for d in stopped.json()["data"]} == {"STOPPED"}
    assert [state(http, d) for d in (staging, production, never_started, other)] == [
        "STOPPED",
        "STOPPED",
        "STOPPED",
        "RUNNING",
    ]


def test_stopping_by_revision_and_the_one_parameter_rule(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    v1, v2 = (
        revision(running.store)["id"],
        revision(running.store, name="v2")["id"],
    )
    one, two = (
        running_deployment(http, clock, v1, STAGING),
        running_deployment(http, clock, v2, 2),
    )

    by_revision = http.delete("/v2/faas/function-deployments", params={"package_revision_id": v1})
    neither = http.delete("/v2/faas/function-deployments")
    both = http.delete(
        "/v2/faas/function-deployments",
        params={"package_id": "pkg-chat", "package_revision_id": v1},
    )

    assert [d["id"] for d in by_revision.json()["data"]] == [one]
    assert (state(http, one), state(http, two)) == ("STOPPED", "RUNNING")
    assert (neither.status_code, both.status_code) == (400, 400)


@pytest.mark.slow
def test_the_running_limit_is_reported_and_starting_beyond_it_is_refused(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    rev = revision(running.store)["id"]

    def limit() -> dict[str, Any]:
        answer = http.get("/v2/faas/limits/package-deployments-running")
        assert answer.status_code == 200
        data: dict[str, Any] = answer.json()["data"]
        return data

    assert (limit()["maxValue"], limit()["currentValue"]) == ("3", "0")
    ids = [running_deployment(http, clock, rev, keyset) for keyset in (1, 2)]
    third = create(http, rev, 3)["id"]
    start(http, third)  # STARTING holds a slot too
    assert limit()["currentValue"] == "3"
    fourth = create(http, rev, 4)["id"]

    refused = start(http, fourth)

    assert refused.status_code == 422
    assert error_code(refused) == "FAAS-1005"
    assert "limit" in refused.json()["errors"][0]["message"]
    assert state(http, fourth) == "STOPPED"
    assert start(http, ids[0]).status_code == 200  # a restart needs no new slot
    clock.advance_ms(DELAY_MS)
    http.delete(f"/v2/faas/package-deployments/{ids[1]}/function-deployments")
    assert start(http, fourth).status_code == 200
    assert limit()["currentValue"] == "3"


def test_a_start_made_to_fail_answers_500_faas_1012_and_changes_nothing(
    running: RunningEmulator, http: httpx.Client
) -> None:
    deployment_id = create(http, revision(running.store)["id"])["id"]
    running.store.fail_deployment_starts("pkg-chat", times=1)

    failed = start(http, deployment_id)

    assert (failed.status_code, error_code(failed)) == (500, "FAAS-1012")
    assert state(http, deployment_id) == "STOPPED"
    assert start(http, deployment_id).json()["data"]["state"] == "STARTING"


@pytest.mark.slow
def test_deletes_are_refused_while_something_runs(
    running: RunningEmulator, http: httpx.Client, clock: FakeClock
) -> None:
    rev = revision(running.store)["id"]
    deployment_id = running_deployment(http, clock, rev, STAGING)

    deployment = http.delete(f"/v2/faas/package-deployments/{deployment_id}")
    of_revision = http.delete(f"/v2/faas/package-revisions/{rev}")
    of_package = http.delete("/v2/faas/packages/pkg-chat")

    assert (deployment.status_code, error_code(deployment)) == (409, "FAAS-1014")
    assert (of_revision.status_code, error_code(of_revision)) == (409, "FAAS-1017")
    assert (of_package.status_code, error_code(of_package)) == (409, "FAAS-1016")
    http.delete(f"/v2/faas/package-deployments/{deployment_id}/function-deployments")
    assert http.delete(f"/v2/faas/package-deployments/{deployment_id}").status_code == 204
    assert http.get(f"/v2/faas/package-deployments/{deployment_id}").status_code == 400


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"keysetId": 1}, "packageRevisionId"),
        ({"packageRevisionId": "r"}, "keysetId"),
        ({"packageRevisionId": "r", "keysetId": "412345"}, "keysetId"),
        ({"packageRevisionId": "r", "keysetId": True}, "keysetId"),
    ],
)
def test_a_bad_create_body_names_the_field(
    http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    answer = http.post("/v2/faas/package-deployments", json=body)

    assert (answer.status_code, error_code(answer)) == (400, "FAAS-400")
    assert answer.json()["errors"][0]["message"].startswith(field)


@pytest.mark.slow
def test_unknown_revisions_and_deployments_are_not_found(http: httpx.Client) -> None:
    answers = [
        http.post(
            "/v2/faas/package-deployments", json={"packageRevisionId": "nope", "keysetId": 1}
        ),
        http.get("/v2/faas/package-deployments/nope"),
        http.get("/v2/faas/package-revisions/nope/package-deployments"),
        start(http, "nope"),
    ]

    assert [(a.status_code, error_code(a)) for a in answers] == [(400, "FAAS-1004")] * 4


@pytest.mark.slow
def test_deployments_survive_a_restart_with_a_state_file(
    start_emulator: StartEmulator, faas_client_for: Any, tmp_path: Any
) -> None:
    state_file = tmp_path / "state.json"
    first = start_emulator(state_file=state_file, deploy_delay_ms=0)
    http = faas_client_for(first)
    deployment_id = create(http, revision(first.store)["id"])["id"]
    start(http, deployment_id)

    second = start_emulator(EmulatorStore(state_file), state_file=state_file)

    assert state(faas_client_for(second), deployment_id) == "RUNNING"


@pytest.mark.parametrize("argv", [["--deploy-delay-ms", "-1"], ["--max-running-deployments", "0"]])
def test_bad_deployment_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert argv[0] in capsys.readouterr().err


@pytest.mark.slow
def test_an_error_forced_on_a_package_applies_to_its_deployments(
    running: RunningEmulator, http: httpx.Client
) -> None:
    deployment_id = create(http, revision(running.store)["id"])["id"]
    running.store.force_error("pkg-chat", 503, "FAAS-500", "down", methods=["POST"], times=1)

    forced = start(http, deployment_id)

    assert (forced.status_code, error_code(forced)) == (503, "FAAS-500")
    assert state(http, deployment_id) == "STOPPED"
    assert start(http, deployment_id).status_code == 200

"""Revision list answers that lie on purpose (``revision_list_fault``), and revision descriptions.

Each fault must change only the package's revision list: the package list and a revision's
function list stay true, so a test can blame exactly the listing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

REVISIONS = "/v2/faas/packages/pkg-chat/package-revisions"


def with_revisions(start_emulator: StartEmulator, fault: str, count: int = 5) -> RunningEmulator:
    emu = start_emulator(revision_list_fault=fault, list_order="created")
    emu.store.add_package("chat", package_id="pkg-chat")
    for index in range(count):
        emu.store.add_revision("pkg-chat", f"v{index}", [function()])
    return emu


def pages(http: httpx.Client, count: int, size: int = 2) -> list[dict[str, Any]]:
    answers = [http.get(REVISIONS, params={"page": n, "size": size}) for n in range(count)]
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.json() for answer in answers]


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["data"]]


@pytest.mark.slow
def test_without_a_fault_the_revision_list_is_true(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "none")

    bodies = pages(faas_client_for(emu), 3)

    assert [b["meta"]["paging"]["totalPages"] for b in bodies] == [3, 3, 3]
    assert len({i for body in bodies for i in ids(body)}) == 5


@pytest.mark.slow
def test_null_data_answers_data_null_with_the_paging_block(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "null-data")

    body = pages(faas_client_for(emu), 1)[0]

    assert body["data"] is None
    assert body["meta"]["paging"]["totalElements"] == 5
    assert body["errors"] == []


@pytest.mark.slow
def test_no_paging_leaves_meta_paging_out_of_every_page(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "no-paging")

    bodies = pages(faas_client_for(emu), 3)

    assert all("paging" not in body["meta"] for body in bodies)
    assert all(set(body["meta"]) == {"timestamp", "correlationId"} for body in bodies)
    assert [len(ids(body)) for body in bodies] == [2, 2, 1]


def test_one_page_under_reports_total_pages_as_one(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "one-page")

    bodies = pages(faas_client_for(emu), 3)

    assert [body["meta"]["paging"]["totalPages"] for body in bodies] == [1, 1, 1]
    assert len({i for body in bodies for i in ids(body)}) == 5  # the data is all there


@pytest.mark.slow
def test_ignore_page_answers_page_zero_whatever_page_is_asked(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "ignore-page")

    bodies = pages(faas_client_for(emu), 3)

    assert ids(bodies[0]) == ids(bodies[1]) == ids(bodies[2])
    assert len(ids(bodies[0])) == 2
    assert [body["meta"]["paging"]["pageNumber"] for body in bodies] == [0, 0, 0]


def test_growing_pages_always_promises_one_page_more(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = with_revisions(start_emulator, "growing-pages")

    bodies = pages(faas_client_for(emu), 6)

    assert [body["meta"]["paging"]["totalPages"] for body in bodies] == [3, 3, 4, 5, 6, 7]
    assert [len(ids(body)) for body in bodies] == [2, 2, 1, 0, 0, 0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault", ["null-data", "no-paging", "one-page", "ignore-page", "growing-pages"]
)
def test_a_fault_changes_only_the_revision_list(
    start_emulator: StartEmulator, faas_client_for: Any, fault: str
) -> None:
    emu = with_revisions(start_emulator, fault)
    http = faas_client_for(emu)
    revision_id = emu.store.revisions("pkg-chat")[0]["id"]

    packages = http.get("/v2/faas/packages").json()
    functions = http.get(f"/v2/faas/package-revisions/{revision_id}/functions").json()

    assert [p["id"] for p in packages["data"]] == ["pkg-chat"]
    assert packages["meta"]["paging"]["totalPages"] == 1
    assert len(functions["data"]) == 1
    assert functions["meta"]["paging"]["totalElements"] == 1


def test_an_unknown_revision_list_fault_is_refused(start_emulator: StartEmulator) -> None:
    with pytest.raises(ValueError, match="revision_list_fault"):
        start_emulator(revision_list_fault="sometimes")


def test_a_revision_keeps_its_description_in_the_list_and_on_get(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    emu.store.add_package("chat", package_id="pkg-chat")
    stamp = "faas-gitops content sha256:0123abcd"

    created = faas.post(
        "/v2/faas/package-revisions",
        json={
            "packageId": "pkg-chat",
            "name": "v1",
            "description": stamp,
            "functions": [function()],
        },
    )
    plain = faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": "pkg-chat", "name": "v2", "functions": [function()]},
    )

    assert created.status_code == 201
    assert created.json()["data"]["description"] == stamp
    listed = {r["name"]: r for r in faas.get(REVISIONS).json()["data"]}
    assert listed["v1"]["description"] == stamp
    assert listed["v2"]["description"] == ""
    revision_id = created.json()["data"]["id"]
    assert faas.get(f"/v2/faas/package-revisions/{revision_id}").json()["data"]["description"] == (
        stamp
    )
    assert plain.json()["data"]["description"] == ""

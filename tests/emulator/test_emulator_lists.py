"""Lists: paging, size limits, sort, search, unspecified order, embedded function code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).


def names(response: httpx.Response) -> list[str]:
    return [item["name"] for item in response.json()["data"]]


def add_packages(emu: RunningEmulator, count: int) -> list[str]:
    return [emu.store.add_package(name=f"pkg-{i:02d}")["name"] for i in range(count)]


def test_lists_page_through_every_item_once_with_paging_meta(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    created = add_packages(emu, 7)

    pages = [faas.get("/v2/faas/packages", params={"page": n, "size": 3}) for n in range(4)]

    assert [p.json()["meta"]["paging"] for p in pages[:3]] == [
        {"totalElements": 7, "totalPages": 3, "pageSize": 3, "pageNumber": n, "pageOffset": 3 * n}
        for n in range(3)
    ]
    seen = [name for page in pages for name in names(page)]
    assert sorted(seen) == created
    assert names(pages[3]) == []


def test_the_default_page_is_page_zero_of_twenty(emu: RunningEmulator, faas: httpx.Client) -> None:
    add_packages(emu, 25)

    paging = faas.get("/v2/faas/packages").json()["meta"]["paging"]

    assert paging == {
        "totalElements": 25,
        "totalPages": 2,
        "pageSize": 20,
        "pageNumber": 0,
        "pageOffset": 0,
    }


@pytest.mark.slow
def test_a_size_above_the_maximum_is_capped_and_shown_in_paging(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(max_page_size=4)
    add_packages(emu, 6)

    response = faas_client_for(emu).get("/v2/faas/packages", params={"size": 50})

    assert len(response.json()["data"]) == 4
    assert response.json()["meta"]["paging"]["pageSize"] == 4
    assert response.json()["meta"]["paging"]["totalPages"] == 2


def test_a_page_size_of_zero_is_400_faas_1019(faas: httpx.Client) -> None:
    response = faas.get("/v2/faas/packages", params={"size": 0})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "FAAS-1019"


@pytest.mark.parametrize(
    ("param", "value"), [("page", "-1"), ("page", "x"), ("size", "-5"), ("size", "1.5")]
)
def test_a_page_or_size_that_is_not_a_non_negative_integer_is_400(
    faas: httpx.Client, param: str, value: str
) -> None:
    response = faas.get("/v2/faas/packages", params={param: value})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "FAAS-400"
    assert error["message"].startswith(f"{param}:")


def test_sort_by_created_ascending_and_descending_is_honoured(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    created = add_packages(emu, 6)

    ascending = faas.get("/v2/faas/packages", params={"sort": "createdDttm,ASC"})
    descending = faas.get("/v2/faas/packages", params={"sort": "createdDttm,DESC"})
    default_direction = faas.get("/v2/faas/packages", params={"sort": "createdDttm"})

    assert names(ascending) == created
    assert names(descending) == created[::-1]
    assert names(default_direction) == created


def test_sort_by_name_and_sorted_paging_is_consistent(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    for name in ("delta", "alpha", "charlie", "bravo"):
        emu.store.add_package(name=name)

    pages = [
        names(faas.get("/v2/faas/packages", params={"sort": "name,DESC", "size": 2, "page": n}))
        for n in range(2)
    ]

    assert pages == [["delta", "charlie"], ["bravo", "alpha"]]


@pytest.mark.parametrize("sort", ["id,ASC", "createdDttm,UP", "revisionsTotal"])
def test_an_unknown_sort_field_or_direction_is_400(faas: httpx.Client, sort: str) -> None:
    response = faas.get("/v2/faas/packages", params={"sort": sort})

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("sort:")


def test_without_sort_a_shuffled_list_is_stable_across_calls_but_not_creation_order(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    created = add_packages(emu, 10)

    first = names(faas.get("/v2/faas/packages"))
    second = names(faas.get("/v2/faas/packages"))
    paged = [
        name
        for n in range(4)
        for name in names(faas.get("/v2/faas/packages", params={"size": 3, "page": n}))
    ]

    assert sorted(first) == created
    assert first != created
    assert second == first
    assert paged == first


def test_with_list_order_created_an_unsorted_list_keeps_creation_order(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(list_order="created")
    created = add_packages(emu, 10)

    assert names(faas_client_for(emu).get("/v2/faas/packages")) == created


def test_search_filters_names_by_case_insensitive_substring(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    for name in ("chat-filter", "Chat", "presence", "chatter-box"):
        emu.store.add_package(name=name)

    response = faas.get("/v2/faas/packages", params={"search": "CHAT", "sort": "name"})

    assert names(response) == ["Chat", "chat-filter", "chatter-box"]
    assert response.json()["meta"]["paging"]["totalElements"] == 3


def test_revision_lists_omit_function_code_by_default_but_keep_other_fields(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    emu.store.add_revision(package["id"], name="v1", functions=[function("a"), function("b")])

    items = faas.get(f"/v2/faas/packages/{package['id']}/package-revisions").json()["data"]

    functions = items[0]["functions"]
    assert [f["name"] for f in functions] == ["a", "b"]
    assert all("code" not in f for f in functions)
    assert all({"id", "functionRevisionId", "type", "config"} <= set(f) for f in functions)


def test_revision_lists_embed_function_code_when_configured_to_include_it(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(revision_list_code="include")
    package = emu.store.add_package(name="chat")
    emu.store.add_revision(package["id"], name="v1", functions=[function("a", code="A")])

    response = faas_client_for(emu).get(f"/v2/faas/packages/{package['id']}/package-revisions")

    assert response.json()["data"][0]["functions"][0]["code"] == "A"


def test_revision_lists_page_sort_and_search_like_package_lists(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    for name in ("v1", "v2", "v3", "x1"):
        emu.store.add_revision(package["id"], name=name, functions=[function()])
    path = f"/v2/faas/packages/{package['id']}/package-revisions"

    latest = faas.get(path, params={"sort": "createdDttm,DESC", "size": 1})
    searched = faas.get(path, params={"search": "v", "sort": "name"})

    assert names(latest) == ["x1"]
    assert latest.json()["meta"]["paging"]["totalElements"] == 4
    assert names(searched) == ["v1", "v2", "v3"]


def test_the_functions_of_a_revision_are_a_paginated_list_with_code(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    revision = emu.store.add_revision(
        package["id"],
        name="v1",
        functions=[function(f"f{i}", sortOrder=i, code=f"code {i}") for i in range(5)],
    )
    path = f"/v2/faas/package-revisions/{revision['id']}/functions"

    first = faas.get(path, params={"size": 2, "sort": "sortOrder"})
    last = faas.get(path, params={"size": 2, "page": 2, "sort": "sortOrder"})

    assert names(first) == ["f0", "f1"]
    assert first.json()["data"][0]["code"] == "code 0"
    assert first.json()["meta"]["paging"]["totalPages"] == 3
    assert names(last) == ["f4"]

"""Lists that lie fail loudly and boundedly instead of silently missing revisions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from faas_gitops.api import RequestStats
from faas_gitops.errors import ApiBadResponse, ApiInconsistentList
from tests.api.api_support import envelope, mock_client, revision

CALL = "GET /v2/faas/packages/{id}/package-revisions"


def page_of(start: int, count: int) -> list[dict[str, Any]]:
    return [revision(f"r{i}") for i in range(start, start + count)]


@pytest.mark.parametrize(
    "body", [envelope(None), {"meta": {"correlationId": "corr-1"}, "errors": []}]
)
def test_a_revision_list_answer_without_a_list_is_an_error_not_no_revisions(
    body: dict[str, Any],
) -> None:
    api = mock_client(lambda _request: httpx.Response(200, json=body))
    with pytest.raises(ApiBadResponse) as caught:
        asyncio.run(api.list_revisions("p"))
    assert f"the API's answer to {CALL} has no list ('data' is null)" in str(caught.value)
    assert caught.value.correlation_id == "corr-1"


def test_pages_without_paging_are_read_until_a_short_page() -> None:
    stats = RequestStats()

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json=envelope(page_of(page * 100, 100 if page < 2 else 7)))

    revisions, _ = asyncio.run(mock_client(handler, stats).list_revisions("p", sort=None))
    assert len(revisions) == 207
    assert stats.total == 3


def test_a_short_first_page_without_paging_is_the_whole_list() -> None:
    stats = RequestStats()
    api = mock_client(lambda _r: httpx.Response(200, json=envelope(page_of(0, 3))), stats)
    revisions, _ = asyncio.run(api.list_revisions("p", sort=None))
    assert len(revisions) == 3
    assert stats.total == 1


def test_an_ignored_page_parameter_is_caught_as_a_repeated_page() -> None:
    stats = RequestStats()
    api = mock_client(lambda _r: httpx.Response(200, json=envelope(page_of(0, 100))), stats)
    with pytest.raises(ApiInconsistentList) as caught:
        asyncio.run(api.list_revisions("p", sort=None))
    assert str(caught.value) == (
        f"{CALL}: the API's revision list is inconsistent: page 1 repeats page 0 (same ids);"
        " stopped after 2 requests"
    )
    assert stats.total == 2


def test_total_pages_that_keep_growing_stop_after_a_bounded_number_of_requests() -> None:
    stats = RequestStats()

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        paging = {"totalElements": (page + 2) * 100, "totalPages": page + 2, "pageSize": 100}
        return httpx.Response(200, json=envelope(page_of(page * 100, 100), paging=paging))

    with pytest.raises(ApiInconsistentList, match="still not at its end after 4 pages"):
        asyncio.run(mock_client(handler, stats).list_revisions("p", sort=None))
    assert stats.total == 4  # 2 pages announced by page 0, plus 2


def test_under_reported_total_pages_do_not_hide_the_rest_of_the_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        paging = {"totalElements": 150, "totalPages": 1, "pageSize": 100}
        items = page_of(page * 100, 100 if page == 0 else 50)
        return httpx.Response(200, json=envelope(items, paging=paging))

    revisions, _ = asyncio.run(mock_client(handler).list_revisions("p", sort=None))
    assert len(revisions) == 150


def test_a_complete_listing_ignores_paging_and_uses_its_own_page_size() -> None:
    sizes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(request.url.params["size"])
        page = int(request.url.params["page"])
        # Lies: says one page of one, holds 60 revisions.
        paging = {"totalElements": 1, "totalPages": 1, "pageSize": 50}
        items = page_of(page * 50, 50 if page == 0 else 10)
        return httpx.Response(200, json=envelope(items, paging=paging))

    revisions, _ = asyncio.run(mock_client(handler).list_revisions("p", complete=True))
    assert len(revisions) == 60
    assert sizes == ["50", "50"]


def test_an_unparseable_item_names_the_correlation_id_of_its_own_page() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        paging = {"totalElements": 3, "totalPages": 2, "pageSize": 2}
        if page == 0:
            return httpx.Response(
                200, json=envelope(page_of(0, 2), paging=paging, correlation_id="page-0")
            )
        bad = [{"id": "r9", "name": "x"}]  # no packageId, no createdDttm
        return httpx.Response(200, json=envelope(bad, paging=paging, correlation_id="page-1"))

    with pytest.raises(ApiBadResponse) as caught:
        asyncio.run(mock_client(handler).list_revisions("p", sort=None))
    assert caught.value.correlation_id == "page-1"

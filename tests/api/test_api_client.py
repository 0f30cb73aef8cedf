"""Narrow unit tests of the client's error mapping and retries (MockTransport).

End-to-end behaviour is proven against the emulator over real HTTP elsewhere; here each status,
code and transport failure the docs leave open is pinned to the exception it must become.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any

import httpx
import pytest

from faas_gitops.api import ApiClient, RequestStats, RetryPolicy
from faas_gitops.errors import (
    ApiAmbiguous,
    ApiAuthError,
    ApiBadResponse,
    ApiConflict,
    ApiError,
    ApiForbidden,
    ApiNotFound,
    ApiRetryable,
)
from faas_gitops.models import FunctionSpec
from faas_gitops.settings import ApiSettings
from tests.api.api_support import Handler, envelope, error


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def client(
    handler: Handler, recorder: Recorder | None = None, stats: RequestStats | None = None
) -> ApiClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api")
    return ApiClient(
        http,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
        sleep=(recorder or Recorder()).sleep,
        rng=random.Random(0),
        observers=[stats] if stats else (),
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (error(401, "FAAS-1001"), ApiAuthError),
        (error(401, "FAAS-1002"), ApiAuthError),
        (error(403, "FAAS-403"), ApiForbidden),
        (error(404, "FAAS-404"), ApiNotFound),
        (error(400, "FAAS-1004"), ApiNotFound),
        (error(409, "FAAS-409"), ApiConflict),
        (error(422, "FAAS-1006"), ApiError),
        (error(400, "FAAS-400"), ApiError),
        (httpx.Response(418, text="teapot"), ApiError),
        (error(429, "FAAS-429"), ApiRetryable),
        (error(503, "FAAS-500"), ApiRetryable),
        (httpx.Response(200, text="<html>"), ApiBadResponse),
        (httpx.Response(200, json={"data": {"id": 1}}), ApiBadResponse),
    ],
)
def test_every_answer_maps_to_the_exception_that_says_what_to_do(
    response: httpx.Response, expected: type[ApiError]
) -> None:
    api = client(lambda _request: response)
    with pytest.raises(expected) as caught:
        run(api.get_package("p1"))
    assert type(caught.value) is expected
    assert "GET /v2/faas/packages/{id}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_error_keeps_the_correlation_id_for_support() -> None:
    api = client(lambda _request: error(403, "FAAS-403", correlation_id="corr-support"))
    with pytest.raises(ApiForbidden) as caught:
        run(api.get_package("p1"))
    assert caught.value.correlation_id == "corr-support"


@pytest.mark.parametrize("status", [200, 201])
def test_a_create_accepts_200_and_201(status: int) -> None:
    revision = {
        "id": "r1",
        "packageId": "p1",
        "name": "v1",
        "createdDttm": "2026-01-01T00:00:00.000Z",
        "functions": [],
    }
    api = client(lambda _request: httpx.Response(status, json=envelope(revision)))
    created, correlation = run(
        api.create_revision(package_id="p1", name="v1", description="d", functions=())
    )
    assert created.id == "r1"
    assert correlation == "corr-1"


def test_429_is_retried_after_the_servers_retry_after() -> None:
    answers = iter(
        [
            httpx.Response(
                429,
                headers={"Retry-After": "2"},
                json=envelope(errors=[{"code": "FAAS-429", "message": "slow"}]),
            ),
            httpx.Response(200, json=envelope({"id": "p1", "name": "n"})),
        ]
    )
    recorder = Recorder()
    stats = RequestStats()
    api = client(lambda _request: next(answers), recorder, stats)
    assert run(api.get_package("p1")).id == "p1"
    assert recorder.sleeps == [2.0]
    assert stats.total == 2
    assert stats.retries == 1


def test_reads_are_retried_on_5xx_and_transport_errors_then_give_up() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return error(502, "FAAS-500")

    recorder = Recorder()
    api = client(handler, recorder)
    with pytest.raises(ApiRetryable, match="gave up"):
        run(api.get_package("p1"))
    assert calls == 3
    assert len(recorder.sleeps) == 2
    assert all(0 < delay <= 0.05 for delay in recorder.sleeps)


def test_a_write_whose_answer_was_lost_is_ambiguous_and_not_retried_blindly() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    api = client(handler)
    with pytest.raises(ApiAmbiguous):
        run(api.create_revision(package_id="p", name="v", description="", functions=()))
    assert calls == 1


def test_a_write_that_could_not_connect_is_retried_it_never_left() -> None:
    calls = 0
    revision = {
        "id": "r1",
        "packageId": "p",
        "name": "v",
        "createdDttm": "2026-01-01T00:00:00.000Z",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json=envelope(revision))

    created, _ = run(
        client(handler).create_revision(package_id="p", name="v", description="", functions=())
    )
    assert created.id == "r1"
    assert calls == 2


def test_a_write_answered_5xx_is_ambiguous_the_server_may_have_stored_it() -> None:
    api = client(lambda _request: error(500, "FAAS-500"))
    with pytest.raises(ApiAmbiguous):
        run(api.create_revision(package_id="p", name="v", description="", functions=()))


def test_lists_follow_meta_paging_across_pages() -> None:
    pages = {0: ["a", "b"], 1: ["c", "d"], 2: ["e"]}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        seen.append(request.url.params["page"])
        items = [{"id": i, "name": i} for i in pages[page]]
        paging = {
            "totalElements": 5,
            "totalPages": 3,
            "pageSize": 2,
            "pageNumber": page,
            "pageOffset": page * 2,
        }
        return httpx.Response(200, json=envelope(items, paging=paging))

    packages = run(client(handler).list_packages())
    assert [p.id for p in packages] == ["a", "b", "c", "d", "e"]
    assert seen == ["0", "1", "2"]


def test_revision_list_items_without_code_mean_unknown_functions_not_empty() -> None:
    items = [
        {
            "id": "r1",
            "packageId": "p",
            "name": "v1",
            "createdDttm": "2026-01-01T00:00:00.000Z",
            "functions": [{"name": "f", "type": "BEFORE_PUBLISH"}],
        },
        {
            "id": "r2",
            "packageId": "p",
            "name": "v2",
            "createdDttm": "2026-01-02T00:00:00.000Z",
            "functions": [{}],
        },
        {
            "id": "r3",
            "packageId": "p",
            "name": "v3",
            "createdDttm": "2026-01-03T00:00:00.000Z",
            "functions": [{"name": "f", "type": "BEFORE_PUBLISH", "code": "x", "config": {}}],
        },
    ]
    api = client(lambda _request: httpx.Response(200, json=envelope(items)))
    revisions, correlation = run(api.list_revisions("p"))
    assert [r.functions is None for r in revisions] == [True, True, False]
    assert correlation == "corr-1"


def test_every_call_carries_the_documented_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"id": "p1", "name": "n"}))

    async def call() -> None:
        settings = ApiSettings(url="http://api", key="raw-key-123456", version="2026-05-26")
        async with ApiClient.open(settings, transport=httpx.MockTransport(handler)) as api:
            await api.get_package("p1")

    run(call())
    headers = seen[0].headers
    assert headers["Authorization"] == "raw-key-123456"
    assert headers["PubNub-Version"] == "2026-05-26"
    assert headers["Content-Type"] == "application/json"


def test_the_create_body_carries_every_field_the_api_needs() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            201,
            json=envelope(
                {"id": "r", "packageId": "p", "name": "v", "createdDttm": "2026-01-01T00:00:00Z"}
            ),
        )

    spec = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="c", config={"a": 1})
    run(
        client(handler).create_revision(package_id="p", name="v", description="d", functions=[spec])
    )
    assert bodies == [
        {
            "packageId": "p",
            "name": "v",
            "description": "d",
            "functions": [
                {
                    "name": "f",
                    "type": "BEFORE_PUBLISH",
                    "language": "JAVASCRIPT",
                    "sortOrder": 0,
                    "code": "c",
                    "config": {"a": 1},
                }
            ],
        }
    ]


def revision_page(page: int, created: list[str]) -> httpx.Response:
    items = [
        {"id": f"r{page}-{i}", "packageId": "p", "name": f"n{page}-{i}", "createdDttm": when}
        for i, when in enumerate(created)
    ]
    paging = {"totalElements": 6, "totalPages": 3, "pageSize": 2, "pageNumber": page}
    return httpx.Response(200, json=envelope(items, paging=paging))


@pytest.mark.parametrize(
    ("first_page", "expected_pages"),
    [
        (["2026-01-09T00:00:00Z", "2026-01-08T00:00:00Z"], ["0"]),  # really newest first
        (["2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"], ["0", "1", "2"]),  # sort ignored
        (["2026-01-09T00:00:00Z", "not a date"], ["0", "1", "2"]),  # cannot tell
    ],
)
def test_the_revision_list_stops_after_page_0_only_when_it_is_really_sorted(
    first_page: list[str], expected_pages: list[str]
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        seen.append(str(page))
        assert request.url.params["sort"] == "createdDttm,DESC"
        if page == 0:
            return revision_page(0, first_page)
        return revision_page(page, ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])

    api = client(handler)
    # The unparseable date fails parsing later: what matters is how many pages were read.
    with contextlib.suppress(ApiBadResponse):
        run(api.list_revisions("p"))
    assert seen == expected_pages


def test_a_complete_listing_reads_every_page_even_when_sorted() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        seen.append(str(page))
        if page >= 3:
            return revision_page(page, [])
        return revision_page(page, [f"2026-01-0{9 - page}T00:00:00Z", "2026-01-01T00:00:00Z"])

    revisions, _ = run(client(handler).list_revisions("p", complete=True))
    # Paging is not trusted to end it: one more page proves the list is over.
    assert seen == ["0", "1", "2", "3"]
    assert len(revisions) == 6

"""A create whose outcome is unknown is ``ApiAmbiguous`` with the id of its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from faas_gitops.api import ApiClient
from faas_gitops.errors import ApiAmbiguous
from tests.api.api_support import error, mock_client


def create_package(api: ApiClient) -> Coroutine[Any, Any, Any]:
    return api.create_package(name="n", description=None, revision_name="v", functions=())


def create_revision(api: ApiClient) -> Coroutine[Any, Any, Any]:
    return api.create_revision(package_id="p", name="v", description="", functions=())


CREATES = [create_package, create_revision]


@pytest.mark.parametrize("create", CREATES)
@pytest.mark.parametrize(
    ("answer", "correlation_id"),
    [
        (
            httpx.Response(
                201, text='{"data": {"id": "r1", "na', headers={"X-Correlation-Id": "hdr-7"}
            ),
            "hdr-7",
        ),
        (
            httpx.Response(201, text='{"meta": {"correlationId": "part-3", "timestamp": "2026'),
            "part-3",
        ),
        (httpx.Response(200, text="<html>ok</html>"), None),
        (
            httpx.Response(
                201, json={"data": {"id": 5}, "meta": {"correlationId": "c-9"}, "errors": []}
            ),
            "c-9",
        ),
    ],
)
def test_a_2xx_create_that_cannot_be_read_is_ambiguous_with_that_answers_id(
    create: Any, answer: httpx.Response, correlation_id: str | None
) -> None:
    calls = 0

    def handler(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return answer

    with pytest.raises(ApiAmbiguous) as caught:
        asyncio.run(create(mock_client(handler)))
    assert caught.value.correlation_id == correlation_id
    assert calls == 1


@pytest.mark.parametrize("create", CREATES)
def test_a_create_answered_5xx_is_ambiguous_and_not_retried(create: Any) -> None:
    calls = 0

    def handler(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return error(503, "FAAS-500", correlation_id="c-503")

    with pytest.raises(ApiAmbiguous) as caught:
        asyncio.run(create(mock_client(handler)))
    assert caught.value.correlation_id == "c-503"
    assert "may have landed" in str(caught.value)
    assert calls == 1


@pytest.mark.parametrize("create", CREATES)
def test_a_create_whose_answer_timed_out_is_ambiguous_without_a_correlation_id(
    create: Any,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ApiAmbiguous) as caught:
        asyncio.run(create(mock_client(handler)))
    assert caught.value.correlation_id is None
    assert "no answer from api:80" in str(caught.value)

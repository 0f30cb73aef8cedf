"""The deployment calls' boundary: ids encoded into paths, error codes mapped to what to do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from faas_gitops.api import ApiClient, RetryPolicy
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import DeploymentBusy, DeploymentExists, DeploymentStartFailed
from faas_gitops.errors import ApiError


def answering(status: int, body: dict[str, Any], seen: list[httpx.Request]) -> ApiClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(base_url="http://faas.test", transport=httpx.MockTransport(handle))
    return ApiClient(http, retry=RetryPolicy(max_attempts=1))


def failure(code: str) -> dict[str, Any]:
    return {"meta": {"correlationId": "c-err"}, "errors": [{"code": code, "message": "no"}]}


def test_ids_are_percent_encoded_into_the_path() -> None:
    seen: list[httpx.Request] = []
    api = answering(200, {"data": None, "meta": {"correlationId": "c1"}}, seen)

    correlation = asyncio.run(deploy_api.start_deployment(api, "../packages/x?y"))

    assert correlation == "c1"
    assert seen[0].url.raw_path == (
        b"/v2/faas/package-deployments/%2E%2E%2Fpackages%2Fx%3Fy/function-deployments"
    )


@pytest.mark.parametrize(
    ("status", "code", "kind", "call"),
    [
        (409, "FAAS-1015", DeploymentExists, lambda api: deploy_api.create_deployment(api, "r", 1)),
        (423, "FAAS-1008", DeploymentBusy, lambda api: deploy_api.start_deployment(api, "d")),
        (423, "FAAS-1009", DeploymentBusy, lambda api: deploy_api.stop_deployment(api, "d")),
        (
            500,
            "FAAS-1012",
            DeploymentStartFailed,
            lambda api: deploy_api.start_deployment(api, "d"),
        ),
    ],
)
def test_deployment_error_codes_become_the_exception_the_writer_acts_on(
    status: int, code: str, kind: type[ApiError], call: Callable[[ApiClient], Any]
) -> None:
    api = answering(status, failure(code), [])

    with pytest.raises(kind) as raised:
        asyncio.run(call(api))

    assert (raised.value.code, raised.value.correlation_id) == (code, "c-err")


def test_the_limit_accepts_values_given_as_strings() -> None:
    body = {"data": {"name": "x", "currentValue": "3", "maxValue": "10"}, "meta": {}}
    api = answering(200, body, [])

    limit, _ = asyncio.run(deploy_api.running_limit(api))

    assert (limit.current, limit.maximum, limit.headroom) == (3, 10, 7)


def test_a_deployment_answer_without_an_id_is_one_line_naming_the_call() -> None:
    api = answering(200, {"data": {"state": "RUNNING"}, "meta": {}}, [])

    with pytest.raises(ApiError, match=r"^GET /v2/faas/package-deployments/\{id\}: unexpected"):
        asyncio.run(deploy_api.get_deployment(api, "d"))

"""Deployment calls: REFERENCE-shaped answers become small values; their errors are sorted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from api_support import envelope, error, mock_client

from faas_gitops.api import RemoteDeployment, RunningLimit
from faas_gitops.errors import ApiConflict, ApiDeploymentFailed, ApiTransitional

DEPLOYMENT = {
    "id": "d1",
    "packageRevisionId": "r1",
    "keysetId": 12345,
    "state": "STOPPED",
    "functionDeployments": [
        {"functionRevisionId": "fr1", "state": "RUNNING", "createdDttm": "2026-01-15T10:30:00.000Z"}
    ],
    "createdDttm": "2026-01-15T10:30:00.000Z",
    "updatedDttm": "2026-01-15T10:30:00.000Z",
}


class Recorder:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer

    def sent(self) -> list[tuple[str, str, Any]]:
        return [
            (r.method, r.url.raw_path.decode(), json.loads(r.content) if r.content else None)
            for r in self.requests
        ]


def test_create_sends_revision_and_keyset_and_returns_the_stopped_deployment() -> None:
    rec = Recorder(httpx.Response(201, json=envelope(DEPLOYMENT)))
    deployment, correlation = asyncio.run(
        mock_client(rec).create_deployment(revision_id="r1", keyset_id=12345)
    )
    assert rec.sent() == [
        ("POST", "/v2/faas/package-deployments", {"packageRevisionId": "r1", "keysetId": 12345})
    ]
    assert deployment.id == "d1"
    assert deployment.keyset_id == 12345
    assert deployment.state == "STOPPED"
    assert not deployment.running
    assert deployment.functions[0].function_revision_id == "fr1"
    assert correlation == "corr-1"


def test_a_revision_already_on_the_keyset_is_a_conflict_with_its_code() -> None:
    api = mock_client(Recorder(error(409, "FAAS-1015", correlation_id="c-409")))
    with pytest.raises(ApiConflict) as caught:
        asyncio.run(api.create_deployment(revision_id="r1", keyset_id=1))
    assert caught.value.code == "FAAS-1015"
    assert caught.value.correlation_id == "c-409"


def test_get_and_list_read_deployments() -> None:
    running = {**DEPLOYMENT, "state": "RUNNING"}
    rec = Recorder(httpx.Response(200, json=envelope(running)))
    got = asyncio.run(mock_client(rec).get_deployment("d1"))
    assert got == RemoteDeployment(
        id="d1",
        revision_id="r1",
        keyset_id=12345,
        state="RUNNING",
        functions=got.functions,
        created=got.created,
        updated=got.updated,
    )
    assert got.running
    paging = {"totalElements": 1, "totalPages": 1, "pageSize": 100, "pageNumber": 0}
    rec = Recorder(httpx.Response(200, json=envelope([running], paging=paging)))
    listed = asyncio.run(mock_client(rec).list_deployments("r1"))
    assert [d.id for d in listed] == ["d1"]
    assert rec.requests[0].url.raw_path.startswith(
        b"/v2/faas/package-revisions/r1/package-deployments?"
    )


@pytest.mark.parametrize("code", ["FAAS-1008", "FAAS-1009"])
def test_a_deployment_in_transition_is_a_wait_and_retry_error_not_retried_here(code: str) -> None:
    rec = Recorder(error(423, code))
    with pytest.raises(ApiTransitional) as caught:
        asyncio.run(mock_client(rec).start_deployment("d1"))
    assert caught.value.code == code
    assert len(rec.requests) == 1


def test_a_deployment_that_failed_to_start_is_a_failure_not_an_ambiguous_write() -> None:
    rec = Recorder(error(500, "FAAS-1012", "Deployment failed to start"))
    with pytest.raises(ApiDeploymentFailed, match="FAAS-1012: Deployment failed to start"):
        asyncio.run(mock_client(rec).start_deployment("d1"))
    assert len(rec.requests) == 1


def test_start_rolling_update_and_stop_send_what_the_reference_shows() -> None:
    rec = Recorder(httpx.Response(200, json=envelope({**DEPLOYMENT, "state": "RUNNING"})))
    api = mock_client(rec)
    started, _ = asyncio.run(api.start_deployment("d1"))
    rolled, _ = asyncio.run(api.rolling_update("d1", "d2"))
    assert started is not None
    assert started.running
    assert rolled is not None
    rec.answer = httpx.Response(200, json=envelope([DEPLOYMENT]))
    stopped, correlation = asyncio.run(api.stop_package_deployments("p1"))
    assert [d.id for d in stopped] == ["d1"]
    assert correlation == "corr-1"
    assert [(r.method, r.url.raw_path) for r in rec.requests] == [
        ("POST", b"/v2/faas/package-deployments/d1/function-deployments"),
        ("PUT", b"/v2/faas/package-deployments/d1/function-deployments"),
        ("DELETE", b"/v2/faas/function-deployments?package_id=p1"),
    ]
    assert json.loads(rec.requests[0].content) == {}
    assert json.loads(rec.requests[1].content) == {"newPackageDeploymentId": "d2"}


def test_an_empty_start_answer_is_success_without_a_deployment() -> None:
    started, _ = asyncio.run(mock_client(Recorder(httpx.Response(204))).start_deployment("d1"))
    assert started is None


@pytest.mark.parametrize(("current", "maximum"), [("3", "10"), (3, 10)])
def test_the_running_limit_reads_numbers_sent_as_strings_or_numbers(
    current: Any, maximum: Any
) -> None:
    body = {
        "name": "max_packages",
        "description": "x",
        "maxValue": maximum,
        "currentValue": current,
    }
    limit = asyncio.run(
        mock_client(Recorder(httpx.Response(200, json=envelope(body)))).running_deployments_limit()
    )
    assert limit == RunningLimit(current=3, maximum=10)
    assert limit.headroom == 7

"""Deployment calls: REFERENCE-shaped answers become small values; their errors are sorted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Deployment, DeploymentBusy, DeploymentExists, RunningLimit
from faas_gitops.errors import (
    ApiConflict,
    ApiDeploymentFailed,
    ApiInconsistentList,
    ApiTransitional,
)
from tests.api.api_support import envelope, error, mock_client

UPDATED = "2026-01-15T10:30:00.000Z"  # kept as sent: it orders a keyset's earlier deployments
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
        deploy_api.create_deployment(mock_client(rec), "r1", 12345)
    )
    assert rec.sent() == [
        ("POST", "/v2/faas/package-deployments", {"packageRevisionId": "r1", "keysetId": 12345})
    ]
    assert deployment == Deployment(
        id="d1", revision_id="r1", keyset_id=12345, state="STOPPED", updated=UPDATED
    )
    assert not deployment.running
    assert correlation == "corr-1"


def test_a_revision_already_on_the_keyset_is_a_conflict_with_its_code() -> None:
    api = mock_client(Recorder(error(409, "FAAS-1015", correlation_id="c-409")))
    with pytest.raises(DeploymentExists) as caught:
        asyncio.run(deploy_api.create_deployment(api, "r1", 1))
    assert isinstance(caught.value, ApiConflict)
    assert caught.value.code == "FAAS-1015"
    assert caught.value.correlation_id == "c-409"


def test_get_and_list_read_deployments() -> None:
    running = {**DEPLOYMENT, "state": "running"}  # the state is compared upper-cased
    rec = Recorder(httpx.Response(200, json=envelope(running)))
    got, correlation = asyncio.run(deploy_api.get_deployment(mock_client(rec), "d1"))
    assert got == Deployment(
        id="d1", revision_id="r1", keyset_id=12345, state="RUNNING", updated=UPDATED
    )
    assert got.running
    assert correlation == "corr-1"
    paging = {"totalElements": 1, "totalPages": 1, "pageSize": 100, "pageNumber": 0}
    rec = Recorder(httpx.Response(200, json=envelope([running], paging=paging)))
    listed = asyncio.run(deploy_api.list_revision_deployments(mock_client(rec), "r1"))
    assert [d.id for d in listed] == ["d1"]
    assert rec.requests[0].url.raw_path.startswith(
        b"/v2/faas/package-revisions/r1/package-deployments?"
    )


def test_a_deployment_list_that_repeats_its_pages_fails_loudly_instead_of_looping() -> None:
    """Deployment lists are read by the client's paging rules, lying lists included."""
    page = [{**DEPLOYMENT, "id": f"d{i}"} for i in range(100)]
    rec = Recorder(httpx.Response(200, json=envelope(page)))  # every page is the first one
    with pytest.raises(ApiInconsistentList, match="package-deployments"):
        asyncio.run(deploy_api.list_revision_deployments(mock_client(rec), "r1"))
    assert 2 <= len(rec.requests) <= 3


@pytest.mark.parametrize("code", ["FAAS-1008", "FAAS-1009"])
def test_a_deployment_in_transition_is_a_wait_and_retry_error_not_retried_here(code: str) -> None:
    rec = Recorder(error(423, code))
    with pytest.raises(DeploymentBusy) as caught:
        asyncio.run(deploy_api.start_deployment(mock_client(rec), "d1"))
    assert isinstance(caught.value, ApiTransitional)
    assert caught.value.code == code
    assert len(rec.requests) == 1


def test_a_deployment_that_failed_to_start_is_a_failure_not_an_ambiguous_write() -> None:
    rec = Recorder(error(500, "FAAS-1012", "Deployment failed to start"))
    with pytest.raises(ApiDeploymentFailed, match="FAAS-1012: Deployment failed to start"):
        asyncio.run(deploy_api.start_deployment(mock_client(rec), "d1"))
    assert len(rec.requests) == 1


def test_start_rolling_update_and_stop_send_what_the_reference_shows() -> None:
    rec = Recorder(httpx.Response(200, json=envelope({**DEPLOYMENT, "state": "RUNNING"})))
    api = mock_client(rec)
    assert asyncio.run(deploy_api.start_deployment(api, "d1")) == "corr-1"
    assert asyncio.run(deploy_api.rolling_update(api, "d1", "d2")) == "corr-1"
    assert asyncio.run(deploy_api.stop_deployment(api, "d1")) == "corr-1"
    rec.answer = httpx.Response(200, json=envelope([DEPLOYMENT]))
    assert asyncio.run(deploy_api.stop_package(api, "p1")) == "corr-1"
    assert [(r.method, r.url.raw_path) for r in rec.requests] == [
        ("POST", b"/v2/faas/package-deployments/d1/function-deployments"),
        ("PUT", b"/v2/faas/package-deployments/d1/function-deployments"),
        ("DELETE", b"/v2/faas/package-deployments/d1/function-deployments"),
        ("DELETE", b"/v2/faas/function-deployments?package_id=p1"),
    ]
    assert json.loads(rec.requests[0].content) == {}
    assert json.loads(rec.requests[1].content) == {"newPackageDeploymentId": "d2"}


def test_an_empty_start_answer_is_success() -> None:
    api = mock_client(Recorder(httpx.Response(204)))
    assert asyncio.run(deploy_api.start_deployment(api, "d1")) is None


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
    api = mock_client(Recorder(httpx.Response(200, json=envelope(body))))
    limit, correlation = asyncio.run(deploy_api.running_limit(api))
    assert limit == RunningLimit(current=3, maximum=10)
    assert limit.headroom == 7
    assert correlation == "corr-1"

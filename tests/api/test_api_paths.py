"""Ids from manifests and answers stay one encoded path segment inside ``/v2/faas``."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from faas_gitops.api import faas_path
from faas_gitops.deploy import api as deploy_api
from faas_gitops.errors import ApiError
from tests.api.api_support import envelope, mock_client


@pytest.mark.parametrize(
    ("package_id", "raw_path"),
    [
        ("../../packages", b"/v2/faas/packages/%2E%2E%2F%2E%2E%2Fpackages/package-revisions"),
        ("abc?size=1&x=", b"/v2/faas/packages/abc%3Fsize%3D1%26x%3D/package-revisions"),
        ("..", b"/v2/faas/packages/%2E%2E/package-revisions"),
        ("a b#c", b"/v2/faas/packages/a%20b%23c/package-revisions"),
    ],
)
def test_a_hostile_package_id_stays_one_segment_inside_the_faas_root(
    package_id: str, raw_path: bytes
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope([]))

    asyncio.run(mock_client(handler).list_revisions(package_id))
    assert [request.url.raw_path.split(b"?")[0] for request in seen] == [raw_path]
    assert dict(seen[0].url.params) == {"sort": "createdDttm,DESC", "page": "0", "size": "100"}


def test_every_id_the_client_sends_is_encoded() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json=envelope(None))

    api = mock_client(handler)
    for call in (
        api.get_package("x/y"),
        api.get_revision("x/y"),
        deploy_api.get_deployment(api, "x/y"),
        deploy_api.start_deployment(api, "../y"),
    ):
        with contextlib.suppress(ApiError):  # only the paths sent matter here
            asyncio.run(call)
    assert paths == [
        b"/v2/faas/packages/x%2Fy",
        b"/v2/faas/package-revisions/x%2Fy",
        b"/v2/faas/package-deployments/x%2Fy",
        b"/v2/faas/package-deployments/%2E%2E%2Fy/function-deployments",
    ]


def test_an_empty_id_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="empty path segment"):
        faas_path("packages", "")

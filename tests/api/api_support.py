"""Helpers for the client's narrow unit tests: REFERENCE-shaped answers and a mock client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from faas_gitops.api import ApiClient, RequestStats, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def envelope(
    data: Any = None,
    *,
    errors: list[dict[str, str]] | None = None,
    paging: dict[str, int] | None = None,
    correlation_id: str = "corr-1",
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "timestamp": "2026-01-01T00:00:00.000Z",
        "correlationId": correlation_id,
    }
    if paging is not None:
        meta["paging"] = paging
    body: dict[str, Any] = {"meta": meta, "errors": errors or []}
    if errors is None:
        body["data"] = data
    return body


def error(
    status: int, code: str, message: str = "nope", correlation_id: str = "corr-e"
) -> httpx.Response:
    body = envelope(errors=[{"code": code, "message": message}], correlation_id=correlation_id)
    return httpx.Response(status, json=body)


def mock_client(handler: Handler, stats: RequestStats | None = None) -> ApiClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api")
    return ApiClient(http, retry=FAST_RETRY, observers=[stats] if stats else ())


def revision(
    rid: str, name: str | None = None, created: str = "2026-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {"id": rid, "packageId": "p", "name": name or rid, "createdDttm": created}

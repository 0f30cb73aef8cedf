"""Every answer in the documented envelope (REFERENCE.md §1), built in one place.

The gateway leaves the request's correlation id and parsed body in the ASGI scope; handlers
read them back through ``correlation_id`` and ``body`` so no handler builds ``meta`` itself.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas_gitops.emulator.clock import format_timestamp
from faas_gitops.emulator.problems import ApiProblem, NotFound

API_PREFIX = "/v2/faas"
CORRELATION_KEY = "faas.correlation_id"
BODY_KEY = "faas.body"
#: Set by a handler whose answer is an injected fault: the request log names it.
FAULT_KEY = "faas.fault"


def meta(correlation_id: str) -> dict[str, Any]:
    return {
        "timestamp": format_timestamp(int(time.time() * 1000)),
        "correlationId": correlation_id,
    }


def headers(correlation_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"X-Correlation-Id": correlation_id, **(extra or {})}


def correlation_id(request: Request) -> str:
    value = request.scope.get(CORRELATION_KEY)
    return value if isinstance(value, str) else str(uuid.uuid4())


def body(request: Request) -> Any:
    """The JSON body the gateway already parsed (``None`` for requests without one)."""
    return request.scope.get(BODY_KEY)


def problem_response(problem: ApiProblem, cid: str, not_found_status: int) -> Response:
    """The error envelope: ``meta`` and ``errors``, no ``data`` (REFERENCE.md §1)."""
    status = not_found_status if isinstance(problem, NotFound) else problem.status
    content = {"meta": meta(cid), "errors": [{"code": problem.code, "message": problem.message}]}
    return JSONResponse(content, status_code=status, headers=headers(cid, problem.headers))


def ok(request: Request, data: Any, status: int = 200) -> Response:
    cid = correlation_id(request)
    content = {"data": data, "meta": meta(cid), "errors": []}
    return JSONResponse(content, status_code=status, headers=headers(cid))


def ok_list(request: Request, items: Any, paging: dict[str, int] | None) -> Response:
    """A list answer; ``paging=None`` leaves ``meta.paging`` out (only a fault does that)."""
    cid = correlation_id(request)
    list_meta = meta(cid) if paging is None else {**meta(cid), "paging": paging}
    content = {"data": items, "meta": list_meta, "errors": []}
    return JSONResponse(content, headers=headers(cid))


def no_content(request: Request) -> Response:
    return Response(status_code=204, headers=headers(correlation_id(request)))

"""The emulator's HTTP face: the documented ``/v2/faas`` package and revision endpoints.

Requests pass a gateway before any handler, in this order (each step answers and stops):

1. paths outside ``/v2/faas`` go straight to the router, which answers 404;
2. ``Authorization`` must equal the configured key: missing ``FAAS-1001``, wrong ``FAAS-1002``
   (both 401). The raw key is expected; ``Bearer <key>`` is treated as a wrong key;
3. ``PubNub-Version`` must be a ``YYYY-MM-DD`` date (400 ``FAAS-400`` naming the header);
4. injected faults (latency, 429, 5xx) from ``faults.FaultInjector``;
5. POST/PUT need ``Content-Type: application/json`` (415 ``FAAS-415``) and a parseable body
   (400 ``FAAS-1003``).

Answers use the envelope of REFERENCE.md §1 with a fresh ``meta.correlationId`` (also sent as
``X-Correlation-Id``). Creating a package with a non-empty ``functions`` list also creates its
initial revision, named ``revisionName`` (default ``v1``); with no functions the package has no
revision. Deletes answer 204 with an empty body.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faas_gitops.emulator import listing, validation
from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.faults import FaultInjector
from faas_gitops.emulator.problems import ApiProblem, NotFound
from faas_gitops.emulator.requestlog import FAULT_DROPPED, RequestLog, RequestRecord
from faas_gitops.emulator.store import EmulatorStore, format_timestamp

API_PREFIX = "/v2/faas"
_CORRELATION_KEY = "faas.correlation_id"
_BODY_KEY = "faas.body"
_PACKAGE_SORT_FIELDS = ("name", "createdDttm", "updatedDttm")
_FUNCTION_SORT_FIELDS = ("name", "createdDttm", "updatedDttm", "sortOrder")


class ConnectionDropped(Exception):
    """Raised after a committed create to make the server close the connection unanswered."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _meta(correlation_id: str) -> dict[str, Any]:
    return {"timestamp": format_timestamp(_now_ms()), "correlationId": correlation_id}


def _headers(correlation_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"X-Correlation-Id": correlation_id, **(extra or {})}


def problem_response(problem: ApiProblem, correlation_id: str, not_found_status: int) -> Response:
    """The error envelope: ``meta`` and ``errors``, no ``data`` (REFERENCE.md §1)."""
    status = not_found_status if isinstance(problem, NotFound) else problem.status
    body = {
        "meta": _meta(correlation_id),
        "errors": [{"code": problem.code, "message": problem.message}],
    }
    return JSONResponse(body, status_code=status, headers=_headers(correlation_id, problem.headers))


def _correlation_id(request: Request) -> str:
    value = request.scope.get(_CORRELATION_KEY)
    return value if isinstance(value, str) else str(uuid.uuid4())


def _ok(request: Request, data: Any, status: int = 200) -> Response:
    cid = _correlation_id(request)
    body = {"data": data, "meta": _meta(cid), "errors": []}
    return JSONResponse(body, status_code=status, headers=_headers(cid))


def _ok_list(request: Request, items: list[dict[str, Any]], paging: dict[str, int]) -> Response:
    cid = _correlation_id(request)
    body = {"data": items, "meta": {**_meta(cid), "paging": paging}, "errors": []}
    return JSONResponse(body, headers=_headers(cid))


def _no_content(request: Request) -> Response:
    return Response(status_code=204, headers=_headers(_correlation_id(request)))


def _body(request: Request) -> Any:
    return request.scope.get(_BODY_KEY)


def _strip_code(revision: dict[str, Any]) -> dict[str, Any]:
    revision["functions"] = [
        {key: value for key, value in function.items() if key != "code"}
        for function in revision["functions"]
    ]
    return revision


class _Handlers:
    """One method per endpoint; they raise ``ApiProblem`` and return success responses."""

    def __init__(self, config: EmulatorConfig, store: EmulatorStore) -> None:
        self.config = config
        self.store = store

    def _forced(self, request: Request, package_id: str) -> None:
        problem = self.store.take_forced_error(package_id, request.method)
        if problem is not None:
            raise problem

    def _list(
        self, request: Request, items: list[dict[str, Any]], sort_fields: tuple[str, ...]
    ) -> Response:
        query = listing.parse_list_query(
            dict(request.query_params),
            request.query_params.getlist("sort"),
            max_page_size=self.config.max_page_size,
            sort_fields=sort_fields,
        )
        arranged = listing.arrange(
            items, query, order=self.config.list_order, seed=self.config.seed
        )
        page, paging = listing.page_of(arranged, query)
        return _ok_list(request, page, paging)

    # packages

    async def list_packages(self, request: Request) -> Response:
        return self._list(request, self.store.packages(), _PACKAGE_SORT_FIELDS)

    async def create_package(self, request: Request) -> Response:
        spec = validation.parse_package_create(
            _body(request), max_functions=self.config.max_functions
        )
        package = self.store.add_package(
            spec.name, spec.description, tags=spec.tags, api_managed=spec.api_managed
        )
        if spec.functions:
            self.store.create_revision(package["id"], spec.revision_name, spec.functions)
            package = self.store.get_package(package["id"])
        return _ok(request, package, self.config.create_status)

    async def get_package(self, request: Request) -> Response:
        package_id = request.path_params["package_id"]
        self._forced(request, package_id)
        return _ok(request, self.store.get_package(package_id))

    async def update_package(self, request: Request) -> Response:
        package_id = request.path_params["package_id"]
        self._forced(request, package_id)
        self.store.get_package(package_id)  # not-found before validation
        spec = validation.parse_package_update(_body(request))
        package = self.store.update_package(
            package_id, name=spec.name, description=spec.description, tags=spec.tags
        )
        return _ok(request, package)

    async def delete_package(self, request: Request) -> Response:
        package_id = request.path_params["package_id"]
        self._forced(request, package_id)
        self.store.delete_package(package_id)
        return _no_content(request)

    async def list_revisions(self, request: Request) -> Response:
        package_id = request.path_params["package_id"]
        self._forced(request, package_id)
        revisions = self.store.revisions(package_id)
        if self.config.revision_list_code == "omit":
            revisions = [_strip_code(revision) for revision in revisions]
        return self._list(request, revisions, _PACKAGE_SORT_FIELDS)

    # revisions

    async def create_revision(self, request: Request) -> Response:
        body = _body(request)
        if isinstance(body, dict) and isinstance(body.get("packageId"), str):
            self._forced(request, body["packageId"])
        spec = validation.parse_revision_create(body, max_functions=self.config.max_functions)
        revision = self.store.create_revision(
            spec.package_id, spec.name, spec.functions, spec.description
        )
        return _ok(request, revision, self.config.create_status)

    def _revision(self, request: Request) -> dict[str, Any]:
        revision = self.store.get_revision(request.path_params["revision_id"])
        self._forced(request, revision["packageId"])
        return revision

    async def get_revision(self, request: Request) -> Response:
        return _ok(request, self._revision(request))

    async def update_revision(self, request: Request) -> Response:
        revision = self._revision(request)
        spec = validation.parse_revision_update(_body(request))
        updated = self.store.update_revision(
            revision["id"], name=spec.name, description=spec.description
        )
        return _ok(request, updated)

    async def delete_revision(self, request: Request) -> Response:
        revision = self._revision(request)
        self.store.delete_revision(revision["id"])
        return _no_content(request)

    async def list_functions(self, request: Request) -> Response:
        revision = self._revision(request)
        return self._list(request, revision["functions"], _FUNCTION_SORT_FIELDS)


class _Gateway:
    """Pure-ASGI middleware: auth, version, faults, content checks, request log, drops."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: EmulatorConfig,
        faults: FaultInjector,
        request_log: RequestLog,
    ) -> None:
        self.app = app
        self.config = config
        self.faults = faults
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self.request_log, scope)
        scope[_CORRELATION_KEY] = exchange.correlation_id
        exchange.raw = await _read_body(receive)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                exchange.finish()  # before the client can see the answer
            await send(message)

        try:
            await self._handle(scope, exchange, send_recording)
        except ConnectionDropped:
            exchange.status, exchange.fault = 0, FAULT_DROPPED
            raise
        except Exception:
            exchange.status = exchange.status or 500  # ServerErrorMiddleware answers it
            raise
        finally:
            exchange.finish()

    async def _handle(self, scope: Scope, exchange: _Exchange, send: Send) -> None:
        """Answer the request, noting any injected fault on ``exchange``."""
        replay = _replay(exchange.raw)
        path: str = scope["path"]
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            await self.app(scope, replay, send)
            return
        headers = _header_map(scope)
        problem = self._check_headers(headers)
        if problem is not None:
            await self._answer(problem, exchange.correlation_id, scope, send)
            return
        plan = self.faults.draw()
        if plan.delay_s > 0:
            await asyncio.sleep(plan.delay_s)
        if plan.problem is not None:
            exchange.fault = "429" if plan.problem.status == 429 else "5xx"
            await self._answer(plan.problem, exchange.correlation_id, scope, send)
            return
        method: str = scope["method"]
        if method in ("POST", "PUT"):
            problem = _check_json(headers, exchange.raw, scope)
            if problem is not None:
                await self._answer(problem, exchange.correlation_id, scope, send)
                return
        if plan.drop_after_commit and method == "POST":
            await self._drop_after_commit(scope, replay, send)
            return
        await self.app(scope, replay, send)

    def _check_headers(self, headers: dict[str, str]) -> ApiProblem | None:
        key = headers.get("authorization", "")
        if not key:
            return ApiProblem(401, "FAAS-1001", "Authentication credentials were not provided")
        if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
            return ApiProblem(401, "FAAS-1002", "Invalid authentication credential")
        version = headers.get("pubnub-version")
        if version is None:
            return validation_problem("PubNub-Version", "header is required (YYYY-MM-DD)")
        if not _is_date(version):
            return validation_problem("PubNub-Version", "must be a date in YYYY-MM-DD format")
        return None

    async def _answer(
        self, problem: ApiProblem, correlation_id: str, scope: Scope, send: Send
    ) -> None:
        response = problem_response(problem, correlation_id, self.config.not_found_status)
        await response(scope, _replay(b""), send)

    async def _drop_after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the create; if it succeeded, start the answer and abort the connection.

        Sending the status line and headers (with the real ``Content-Length``) and then
        raising makes uvicorn close the transport mid-response, so the client sees a
        protocol error, never a status: the write happened but its outcome is unknown.
        """
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None or not 200 <= int(start["status"]) < 300:
            for message in messages:
                await send(message)
            return
        await send(
            {
                "type": "http.response.start",
                "status": start["status"],
                "headers": start.get("headers", []),
            }
        )
        raise ConnectionDropped("dropping the connection after a committed create (injected)")


def validation_problem(field: str, message: str) -> ApiProblem:
    return ApiProblem(400, "FAAS-400", f"{field}: {message}")


def _is_date(value: str) -> bool:
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_json(headers: dict[str, str], raw: bytes, scope: Scope) -> ApiProblem | None:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return ApiProblem(
            415,
            "FAAS-415",
            f"Content type '{media_type or 'none'}' not supported; use application/json",
        )
    try:
        scope[_BODY_KEY] = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ApiProblem(400, "FAAS-1003", "Malformed JSON request body")
    return None


def _header_map(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(raw: bytes) -> Receive:
    """A ``receive`` that hands the already read body to the app once, then waits forever."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}  # pragma: no cover - never reached

    return receive


class _Exchange:
    """One request on its way through the gateway; becomes a ``RequestRecord`` once answered."""

    def __init__(self, request_log: RequestLog, scope: Scope) -> None:
        self.request_log = request_log
        self.scope = scope
        self.slot = request_log.arrive()
        self.correlation_id = str(uuid.uuid4())
        self.raw = b""
        self.status = 0
        self.fault: str | None = None
        self.finished = False

    def finish(self) -> None:
        """Record the request (once): called before the last byte of the answer is sent."""
        if self.finished:
            return
        self.finished = True
        body: Any | None = None
        if self.raw:
            try:
                body = json.loads(self.raw)
            except (ValueError, UnicodeDecodeError):
                body = self.raw.decode("utf-8", errors="replace")
        query_string = self.scope.get("query_string", b"").decode("latin-1")
        headers = _header_map(self.scope)
        headers.pop("authorization", None)
        self.request_log.complete(
            self.slot,
            RequestRecord(
                method=self.scope["method"],
                path=self.scope["path"],
                query=dict(parse_qsl(query_string, keep_blank_values=True)),
                status=self.status,
                body=body,
                fault=self.fault,
                correlation_id=self.correlation_id,
                headers=headers,
            ),
        )


def create_app(
    config: EmulatorConfig,
    store: EmulatorStore | None = None,
    request_log: RequestLog | None = None,
) -> Starlette:
    """The ASGI app; ``store`` and ``request_log`` default to fresh ones (see ``app.state``)."""
    store = store if store is not None else EmulatorStore(config.state_file)
    request_log = request_log if request_log is not None else RequestLog()
    handlers = _Handlers(config, store)
    p = API_PREFIX
    routes = [
        Route(f"{p}/packages", handlers.list_packages, methods=["GET"]),
        Route(f"{p}/packages", handlers.create_package, methods=["POST"]),
        Route(f"{p}/packages/{{package_id}}", handlers.get_package, methods=["GET"]),
        Route(f"{p}/packages/{{package_id}}", handlers.update_package, methods=["PUT"]),
        Route(f"{p}/packages/{{package_id}}", handlers.delete_package, methods=["DELETE"]),
        Route(
            f"{p}/packages/{{package_id}}/package-revisions",
            handlers.list_revisions,
            methods=["GET"],
        ),
        Route(f"{p}/package-revisions", handlers.create_revision, methods=["POST"]),
        Route(f"{p}/package-revisions/{{revision_id}}", handlers.get_revision, methods=["GET"]),
        Route(f"{p}/package-revisions/{{revision_id}}", handlers.update_revision, methods=["PUT"]),
        Route(
            f"{p}/package-revisions/{{revision_id}}",
            handlers.delete_revision,
            methods=["DELETE"],
        ),
        Route(
            f"{p}/package-revisions/{{revision_id}}/functions",
            handlers.list_functions,
            methods=["GET"],
        ),
    ]

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiProblem)  # noqa: S101 - registered for ApiProblem only
        return problem_response(exc, _correlation_id(request), config.not_found_status)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
        if exc.status_code == 405:
            problem = ApiProblem(
                405, "FAAS-405", f"Method {request.method} not allowed", dict(exc.headers or {})
            )
        else:
            problem = ApiProblem(
                exc.status_code,
                f"FAAS-{exc.status_code}",
                "Entity not found" if exc.status_code == 404 else str(exc.detail),
            )
        return problem_response(problem, _correlation_id(request), config.not_found_status)

    handlers_map: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiProblem: on_problem,
        HTTPException: on_http_exception,
    }
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                _Gateway, config=config, faults=FaultInjector(config), request_log=request_log
            )
        ],
        exception_handlers=handlers_map,
    )
    app.router.redirect_slashes = False
    app.state.store = store
    app.state.request_log = request_log
    app.state.config = config
    return app

"""The gateway every request passes before a handler; each step answers and stops.

1. paths outside ``/v2/faas`` go straight to the router, which answers 404;
2. ``Authorization`` must equal the configured key: missing ``FAAS-1001``, wrong ``FAAS-1002``
   (both 401). The raw key is expected; ``Bearer <key>`` is treated as a wrong key;
3. ``PubNub-Version`` must be a ``YYYY-MM-DD`` date (400 ``FAAS-400`` naming the header);
4. injected faults (latency, 429, 5xx) from ``faults.FaultInjector``; a deployment write a
   test forced to lose its answer (``AnswerLost``, raised by the store once the write is
   applied) has its connection closed unanswered;
5. POST/PUT with a body (or a ``Content-Type``) need ``Content-Type: application/json`` (415
   ``FAAS-415``) and a parseable body (400 ``FAAS-1003``); a bare POST, such as starting a
   deployment (REFERENCE.md §5.20: no body), passes with no body.

Every request is recorded in the ``RequestLog`` before its answer's last byte leaves.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.envelope import (
    API_PREFIX,
    BODY_KEY,
    CORRELATION_KEY,
    FAULT_KEY,
    problem_response,
)
from faas_gitops.emulator.faults import FaultInjector
from faas_gitops.emulator.forced import AnswerLost
from faas_gitops.emulator.problems import ApiProblem, invalid
from faas_gitops.emulator.requestlog import (
    FAULT_DROPPED,
    FAULT_WRITE_DROPPED,
    RequestLog,
    RequestRecord,
)


class ConnectionDropped(Exception):
    """Raised after a committed create to make the server close the connection unanswered."""


class Gateway:
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
        scope[CORRELATION_KEY] = exchange.correlation_id
        exchange.raw = await _read_body(receive)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                exchange.fault = exchange.fault or scope.get(FAULT_KEY)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                exchange.finish()  # before the client can see the answer
            await send(message)

        try:
            await self._handle(scope, exchange, send_recording)
        except ConnectionDropped:
            exchange.status, exchange.fault = 0, exchange.fault or FAULT_DROPPED
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
        if method in ("POST", "PUT") and (exchange.raw or "content-type" in headers):
            problem = _check_json(headers, exchange.raw, scope)
            if problem is not None:
                await self._answer(problem, exchange.correlation_id, scope, send)
                return
        if plan.drop_after_commit and method == "POST":
            await self._drop_after_commit(scope, replay, send)
            return
        try:
            await self.app(scope, replay, send)
        except AnswerLost:
            exchange.fault = FAULT_WRITE_DROPPED
            await _start_then_drop(send)

    def _check_headers(self, headers: dict[str, str]) -> ApiProblem | None:
        key = headers.get("authorization", "")
        if not key:
            return ApiProblem(401, "FAAS-1001", "Authentication credentials were not provided")
        if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
            return ApiProblem(401, "FAAS-1002", "Invalid authentication credential")
        version = headers.get("pubnub-version")
        if version is None:
            return invalid("PubNub-Version", "header is required (YYYY-MM-DD)")
        if not _is_date(version):
            return invalid("PubNub-Version", "must be a date in YYYY-MM-DD format")
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


async def _start_then_drop(send: Send) -> None:
    """Begin a 200 answer whose body never comes, then abort: the client sees no status.

    As in ``_drop_after_commit``: uvicorn closes the transport mid-response.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    raise ConnectionDropped("dropping the connection after an applied write (injected)")


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
        scope[BODY_KEY] = json.loads(raw)
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

"""The daemon's HTTP face: ``/healthz``, ``/readyz``, ``/metrics``, ``POST /hooks/sync``, and the
status page (``GET /``, ``GET /api/status``).

The app only *reads* ``LoopState`` (which the daemon writes) and *sets* the wake-up through
``on_webhook``; it never syncs anything itself, so a slow sync can never make a probe slow.

Probes tell the truth the way git-sync's do: not ready until the first full sync succeeded, and
not ready again after ``--unready-after`` consecutive failed syncs, while ``/healthz`` only says
whether the loop is alive and not stuck, so Kubernetes restarts a wedged daemon but never one
that is merely failing to reach the API (restarting would not help, and would lose the caches).

``GET /packages/<path>`` is one package's page; the path is only looked up among the packages
the ledger knows (404 otherwise, without echoing it).

Nothing here redirects: Starlette's trailing-slash redirect builds its ``Location`` from the
request's ``Host`` header, so ``/healthz/`` with ``Host: evil.example`` would send a client to
``evil.example``. It is off; ``/healthz/`` is a 404 like any other unknown path.

A webhook delivery is acted on once: GitHub (or an attacker replaying a captured request)
may send the same signed body again, with the same, a new or no ``X-GitHub-Delivery``; an id
already seen, or a signed body acted on within ``REPLAY_WINDOW_S``, is answered 200
``{"duplicate": true}`` without waking the daemon (``daemon.replay``).

With a ``StatusToken`` (``--status-token-file``) the page and ``/api/status`` answer 401 to a
request without it (``daemon.access``); the probes, ``/metrics`` and the webhook never ask for it.
Every answer carries ``X-Content-Type-Options: nosniff``: a browser must never guess that JSON or
Prometheus text holding names from git is HTML.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from faas_gitops.daemon.access import CHALLENGES, StatusToken
from faas_gitops.daemon.metrics import CONTENT_TYPE, Metrics
from faas_gitops.daemon.replay import REPLAY_WINDOW_S, DeliveryLog, RecentBodies
from faas_gitops.daemon.statuspage import (
    PackageProvider,
    StatusProvider,
    StatusSnapshot,
    content_security_policy,
    new_nonce,
    render_main,
    render_package_page,
    render_page,
    snapshot_document,
)

#: Webhook bodies larger than this are refused (413) before any signature check; GitHub's
#: payloads are capped at 25 MB, but a push event for a normal push is a few KiB.
MAX_WEBHOOK_BYTES = 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-GitHub-Delivery"
#: On every answer: never let a browser sniff JSON or metrics text into HTML.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
#: On every status answer, and on its 401: nothing of it belongs in a cache.
PRIVATE = {**NOSNIFF, "Cache-Control": "no-store"}

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(slots=True)
class LoopState:
    """What the probes report; written by the daemon, read here (same thread, no locks)."""

    unready_after: int
    stuck_after: float  # seconds; the loop sets each sync's own (deploy-aware) deadline
    loop_alive: Callable[[], bool] = lambda: True
    clock: Callable[[], float] = time.monotonic
    synced_once: bool = False  # a sync in which every package succeeded has happened
    consecutive_failures: int = 0
    commit: str | None = None  # of the last successful sync
    last_success: datetime | None = None
    failing_packages: list[str] = field(default_factory=list)
    failing_deployments: list[str] = field(default_factory=list)  # "path@environment"
    package_names: dict[str, str] = field(default_factory=dict)  # path -> manifest name
    last_error: str | None = None
    refused: str | None = None  # --verify-signatures refused the commit to sync: why
    sync_started: float | None = None  # clock() when the running sync began
    accepting: bool = True  # False once shutdown began

    def health(self) -> tuple[bool, str]:
        if not self.loop_alive():
            return False, "the sync loop has stopped"
        if self.sync_started is not None:
            running = self.clock() - self.sync_started
            if running > self.stuck_after:
                return False, f"a sync has been running for {running:.0f} s"
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        if self.refused is not None:  # at once: not a flake that a retry may cure
            return False, self.refused
        if not self.synced_once:
            return False, "no full sync has succeeded yet"
        if self.consecutive_failures >= self.unready_after:
            return False, f"{self.consecutive_failures} consecutive syncs failed"
        if self.failing_deployments:
            return True, f"ok; {len(self.failing_deployments)} deployment(s) failing"
        return True, "ok"

    def document(self) -> dict[str, Any]:
        ready, reason = self.readiness()
        return {
            "ready": ready,
            "reason": reason,
            "commit": self.commit,
            "lastSuccess": self.last_success.isoformat() if self.last_success else None,
            "consecutiveFailures": self.consecutive_failures,
            "failingPackages": list(self.failing_packages),
            "failingDeployments": list(self.failing_deployments),
            "lastError": self.last_error,
            "syncing": self.sync_started is not None,
        }


def loop_snapshot(state: LoopState) -> StatusSnapshot:
    """The status page with no history: what the loop state alone knows."""
    ready, reason = state.readiness()
    return StatusSnapshot(
        commit=state.commit,
        ref=None,
        last_sync_at=state.last_success,
        last_sync_ok=None if state.last_success is None else state.consecutive_failures == 0,
        last_error=state.last_error,
        ready=ready,
        ready_reason=reason,
        syncing=state.sync_started is not None,
        packages=(),
        syncs=(),
    )


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """GitHub's ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, compared in
    constant time (a timing difference would let an attacker guess the signature byte by byte).
    """
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("latin-1", "replace"))


def create_app(
    state: LoopState,
    metrics: Metrics,
    on_webhook: Callable[[], bool],
    *,
    webhook_secret: bytes | None = None,
    status: StatusProvider | None = None,
    package: PackageProvider | None = None,
    status_token: StatusToken | None = None,
    replay_window: float = REPLAY_WINDOW_S,
) -> Starlette:
    """The Starlette app; ``on_webhook`` returns False when the daemon no longer takes triggers.

    Without ``webhook_secret`` any POST triggers a sync: only acceptable when the listener is
    not reachable from outside the pod (the README says so); nor are bodies compared then, as
    anyone could send a new one. ``status`` feeds the status page (it may read SQLite, so it
    runs in a worker thread and never delays a probe); without it the page shows only what
    ``state`` knows. ``package`` feeds ``/packages/<path>`` (without it every path is a 404).
    ``status_token``, when given, guards the pages and ``/api/status``.
    """
    deliveries = DeliveryLog()
    bodies = RecentBodies(window=replay_window)
    provider: StatusProvider = status or (lambda: loop_snapshot(state))

    def guarded(handler: Handler, refusal: Callable[[], Response]) -> Handler:
        """``handler`` behind the status token (as is when there is none)."""
        if status_token is None:
            return handler

        async def check(request: Request) -> Response:
            if status_token.admits(request.headers.get("authorization")):
                return await handler(request)
            answer = refusal()
            for challenge in CHALLENGES:
                answer.headers.append("WWW-Authenticate", challenge)
            return answer

        return check

    async def status_page(request: Request) -> Response:
        snapshot = await run_in_threadpool(provider)
        nonce = new_nonce()
        main_only = request.query_params.get("part") == "main"
        return HTMLResponse(
            render_main(snapshot) if main_only else render_page(snapshot, nonce),
            headers={
                "Content-Security-Policy": content_security_policy(nonce),
                **PRIVATE,
                "Referrer-Policy": "no-referrer",
            },
        )

    async def package_page(request: Request) -> Response:
        path = str(request.path_params.get("path", ""))
        page = await run_in_threadpool(package, path) if package is not None else None
        if page is None:  # the path is never echoed: it is whatever a stranger typed
            return PlainTextResponse("404: no package with that path\n", 404, headers=PRIVATE)
        nonce = new_nonce()
        return HTMLResponse(
            render_package_page(page, nonce),
            headers={
                "Content-Security-Policy": content_security_policy(nonce),
                **PRIVATE,
                "Referrer-Policy": "no-referrer",
            },
        )

    async def status_api(_request: Request) -> Response:
        snapshot = await run_in_threadpool(provider)
        return JSONResponse(snapshot_document(snapshot), headers=PRIVATE)

    def page_refused() -> Response:
        return PlainTextResponse(
            "401: this status page needs the token of --status-token-file (as the password)\n",
            status_code=401,
            headers=PRIVATE,
        )

    def api_refused() -> Response:
        return JSONResponse(
            {"error": "missing or wrong Authorization (Bearer token of --status-token-file)"},
            status_code=401,
            headers=PRIVATE,
        )

    async def healthz(_request: Request) -> Response:
        healthy, reason = state.health()
        return PlainTextResponse(
            reason + "\n", status_code=200 if healthy else 503, headers=NOSNIFF
        )

    async def readyz(_request: Request) -> Response:
        document = state.document()
        return JSONResponse(
            document, status_code=200 if document["ready"] else 503, headers=NOSNIFF
        )

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE, headers=NOSNIFF)

    async def hook(request: Request) -> Response:
        if not state.accepting:
            metrics.webhook_requests.labels(result="stopping").inc()
            return _answer(503, accepted=False, error="shutting down")
        body = await _read_capped(request)
        if body is None:
            metrics.webhook_requests.labels(result="too_large").inc()
            return _answer(413, accepted=False, error=f"body over {MAX_WEBHOOK_BYTES} bytes")
        if webhook_secret is not None and not signature_valid(
            webhook_secret, body, request.headers.get(SIGNATURE_HEADER)
        ):
            metrics.webhook_requests.labels(result="unauthorized").inc()
            return _answer(401, accepted=False, error=f"missing or invalid {SIGNATURE_HEADER}")
        delivery = request.headers.get(DELIVERY_HEADER, "").strip()[:200]
        signed = webhook_secret is not None
        if (delivery and deliveries.seen(delivery)) or (signed and bodies.seen(body)):
            metrics.webhook_requests.labels(result="duplicate").inc()
            return JSONResponse(
                {"accepted": False, "duplicate": True}, status_code=200, headers=NOSNIFF
            )
        if not on_webhook():
            metrics.webhook_requests.labels(result="stopping").inc()
            return _answer(503, accepted=False, error="shutting down")
        # Remembered once acted on, and only past the signature check.
        if delivery:
            deliveries.remember(delivery)
        if signed:
            bodies.remember(body)
        metrics.webhook_requests.labels(result="accepted").inc()
        return _answer(202, accepted=True)

    app = Starlette(
        routes=[
            Route("/", guarded(status_page, page_refused), methods=["GET"]),
            Route("/api/status", guarded(status_api, api_refused), methods=["GET"]),
            Route("/packages/{path:path}", guarded(package_page, page_refused), methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/hooks/sync", hook, methods=["POST"]),
        ]
    )
    app.router.redirect_slashes = False  # its Location would come from the request's Host
    return app


def _answer(status: int, *, accepted: bool, error: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"accepted": accepted}
    if error is not None:
        body["error"] = error
    return JSONResponse(body, status_code=status, headers=NOSNIFF)


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``MAX_WEBHOOK_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

"""The daemon's HTTP face: ``/healthz``, ``/readyz``, ``/metrics`` and ``POST /hooks/sync``.

The app only *reads* ``LoopState`` (which the daemon writes) and *sets* the wake-up through
``on_webhook``; it never syncs anything itself, so a slow sync can never make a probe slow.

Probes tell the truth the way git-sync's do: not ready until the first full sync succeeded, and
not ready again after ``--unready-after`` consecutive failed syncs, while ``/healthz`` only says
whether the loop is alive and not stuck, so Kubernetes restarts a wedged daemon but never one
that is merely failing to reach the API (restarting would not help, and would lose the caches).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from faas_gitops.metrics import CONTENT_TYPE, Metrics

#: Webhook bodies larger than this are refused (413) before any signature check; GitHub's
#: payloads are capped at 25 MB, but a push event for a normal push is a few KiB.
MAX_WEBHOOK_BYTES = 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"


@dataclass(slots=True)
class LoopState:
    """What the probes report; written by the daemon, read here (same thread, no locks)."""

    unready_after: int
    stuck_after: float
    loop_alive: Callable[[], bool] = lambda: True
    clock: Callable[[], float] = time.monotonic
    synced_once: bool = False  # a sync in which every package succeeded has happened
    consecutive_failures: int = 0
    commit: str | None = None  # of the last successful sync
    last_success: datetime | None = None
    failing_packages: list[str] = field(default_factory=list)
    last_error: str | None = None
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
        if not self.synced_once:
            return False, "no full sync has succeeded yet"
        if self.consecutive_failures >= self.unready_after:
            return False, f"{self.consecutive_failures} consecutive syncs failed"
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
            "lastError": self.last_error,
            "syncing": self.sync_started is not None,
        }


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
) -> Starlette:
    """The Starlette app; ``on_webhook`` returns False when the daemon no longer takes triggers.

    Without ``webhook_secret`` any POST triggers a sync: only acceptable when the listener is
    not reachable from outside the pod (the README says so).
    """

    async def healthz(_request: Request) -> Response:
        healthy, reason = state.health()
        return PlainTextResponse(reason + "\n", status_code=200 if healthy else 503)

    async def readyz(_request: Request) -> Response:
        document = state.document()
        return JSONResponse(document, status_code=200 if document["ready"] else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

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
        if not on_webhook():
            metrics.webhook_requests.labels(result="stopping").inc()
            return _answer(503, accepted=False, error="shutting down")
        metrics.webhook_requests.labels(result="accepted").inc()
        return _answer(202, accepted=True)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/hooks/sync", hook, methods=["POST"]),
        ]
    )


def _answer(status: int, *, accepted: bool, error: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"accepted": accepted}
    if error is not None:
        body["error"] = error
    return JSONResponse(body, status_code=status)


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

"""The emulator's ASGI app: the gateway in front of the route lists of every resource group.

Answers use the envelope of REFERENCE.md §1 with a fresh ``meta.correlationId`` (also sent as
``X-Correlation-Id``); deletes answer 204 with an empty body. What each resource group serves
is in its own module (``packages_api``, ``revisions_api``, ``deployments_api``, ``limits_api``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import (
    deployments_api,
    envelope,
    limits_api,
    packages_api,
    revisions_api,
)
from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.envelope import API_PREFIX, FAULT_KEY, problem_response
from faas_gitops.emulator.faults import FaultInjector
from faas_gitops.emulator.forced import InjectedWriteFault
from faas_gitops.emulator.gateway import ConnectionDropped, Gateway
from faas_gitops.emulator.problems import ApiProblem
from faas_gitops.emulator.requestlog import RequestLog
from faas_gitops.emulator.resource import ResourceApi
from faas_gitops.emulator.store import EmulatorStore

__all__ = ["API_PREFIX", "ROUTE_GROUPS", "ConnectionDropped", "create_app", "problem_response"]

#: One entry per resource group; a new group is a new module and one line here.
ROUTE_GROUPS: tuple[Callable[[ResourceApi], list[Route]], ...] = (
    packages_api.routes,
    revisions_api.routes,
    deployments_api.routes,
    limits_api.routes,
)


def _exception_handlers(
    config: EmulatorConfig,
) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """``ApiProblem`` and Starlette's own 404/405 become the documented error envelope."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiProblem)  # noqa: S101 - registered for ApiProblem only
        if isinstance(exc, InjectedWriteFault):
            request.scope[FAULT_KEY] = exc.fault
        return problem_response(exc, envelope.correlation_id(request), config.not_found_status)

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
        return problem_response(problem, envelope.correlation_id(request), config.not_found_status)

    return {ApiProblem: on_problem, HTTPException: on_http_exception}


def create_app(
    config: EmulatorConfig,
    store: EmulatorStore | None = None,
    request_log: RequestLog | None = None,
) -> Starlette:
    """The ASGI app; ``store`` and ``request_log`` default to fresh ones (see ``app.state``)."""
    store = store if store is not None else EmulatorStore(config.state_file)
    request_log = request_log if request_log is not None else RequestLog()
    api = ResourceApi(config, store)
    gateway = Middleware(
        Gateway, config=config, faults=FaultInjector(config), request_log=request_log
    )
    app = Starlette(
        routes=[r for group in ROUTE_GROUPS for r in group(api)],
        middleware=[gateway],
        exception_handlers=_exception_handlers(config),
    )
    app.router.redirect_slashes = False
    app.state.store = store
    app.state.request_log = request_log
    app.state.config = config
    return app

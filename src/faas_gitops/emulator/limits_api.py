"""``GET /v2/faas/limits/package-deployments-running`` (REFERENCE.md §5.25).

The values are strings, as in the docs' example (``"maxValue": "10"``); a client should accept
strings and integers. ``currentValue`` counts deployments ``RUNNING`` or ``STARTING``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import envelope
from faas_gitops.emulator.deployment_store import LIMIT_NAME
from faas_gitops.emulator.resource import ResourceApi, route


def routes(api: ResourceApi) -> list[Route]:
    async def running_deployments(request: Request) -> Response:
        limit = {
            "name": LIMIT_NAME,
            "description": "Maximum number of running package deployments per account",
            "maxValue": str(api.config.max_running_deployments),
            "currentValue": str(api.store.running_deployments()),
        }
        return envelope.ok(request, limit)

    return [route("GET", "/limits/package-deployments-running", running_deployments)]

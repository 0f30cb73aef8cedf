"""Package deployments (REFERENCE.md §5.12, §5.17-5.22, §5.24); the rules are in
``deployment_store``.

* ``POST /package-deployments {packageRevisionId, keysetId}`` creates one, ``STOPPED``;
* ``GET|DELETE /package-deployments/{id}``;
* ``GET /package-revisions/{id}/package-deployments``: paged like every list;
* ``POST|PUT|DELETE /package-deployments/{id}/function-deployments``: start, rolling update
  (``{newPackageDeploymentId}``; answers the new deployment), stop;
* ``DELETE /function-deployments?package_id=|package_revision_id=`` (exactly one): stop every
  active deployment of it, on every keyset; answers the stopped ones.

Forced errors (``force_error``) apply to every request about a deployment of the package.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import envelope, validation
from faas_gitops.emulator.problems import invalid
from faas_gitops.emulator.resource import DATE_SORT_FIELDS, Handlers, ResourceApi, endpoint

SORT_FIELDS = ("state", "keysetId", *DATE_SORT_FIELDS)


class _Deployments(Handlers):
    def _forced_for_revision(self, request: Request, revision_id: str) -> None:
        revision = self.store.get_revision(revision_id)
        self.api.raise_forced(request, revision["packageId"])

    def _deployment_id(self, request: Request) -> str:
        deployment_id: str = request.path_params["deployment_id"]
        deployment = self.store.get_deployment(deployment_id)
        self._forced_for_revision(request, deployment["packageRevisionId"])
        return deployment_id

    @endpoint("POST", "/package-deployments")
    async def create(self, request: Request) -> Response:
        spec = validation.parse_deployment_create(envelope.body(request))
        self._forced_for_revision(request, spec.package_revision_id)
        deployment = self.store.create_deployment(spec.package_revision_id, spec.keyset_id)
        return envelope.ok(request, deployment, self.api.config.create_status)

    @endpoint("GET", "/package-deployments/{deployment_id}")
    async def get(self, request: Request) -> Response:
        return envelope.ok(request, self.store.get_deployment(self._deployment_id(request)))

    @endpoint("DELETE", "/package-deployments/{deployment_id}")
    async def delete(self, request: Request) -> Response:
        self.store.delete_deployment(self._deployment_id(request))
        return envelope.no_content(request)

    @endpoint("GET", "/package-revisions/{revision_id}/package-deployments")
    async def of_revision(self, request: Request) -> Response:
        revision_id = request.path_params["revision_id"]
        self._forced_for_revision(request, revision_id)
        items = self.store.revision_deployments(revision_id)
        return self.api.list_answer(request, items, SORT_FIELDS)

    @endpoint("POST", "/package-deployments/{deployment_id}/function-deployments")
    async def start(self, request: Request) -> Response:
        config = self.api.config
        deployment = self.store.start_deployment(
            self._deployment_id(request),
            delay_ms=config.deploy_delay_ms,
            max_running=config.max_running_deployments,
        )
        return envelope.ok(request, deployment)

    @endpoint("PUT", "/package-deployments/{deployment_id}/function-deployments")
    async def rolling_update(self, request: Request) -> Response:
        old_id = self._deployment_id(request)
        new_id = validation.parse_rolling_update(envelope.body(request))
        deployment = self.store.rolling_update(
            old_id, new_id, delay_ms=self.api.config.deploy_delay_ms
        )
        return envelope.ok(request, deployment)

    @endpoint("DELETE", "/package-deployments/{deployment_id}/function-deployments")
    async def stop(self, request: Request) -> Response:
        return envelope.ok(request, self.store.stop_deployment(self._deployment_id(request)))

    @endpoint("DELETE", "/function-deployments")
    async def stop_all(self, request: Request) -> Response:
        params = request.query_params
        given = {
            name: params[name] for name in ("package_id", "package_revision_id") if name in params
        }
        if len(given) != 1:
            raise invalid("package_id", "give exactly one of package_id or package_revision_id")
        scope: dict[str, Any] = {}
        if "package_id" in given:
            self.api.raise_forced(request, given["package_id"])
            scope["package_id"] = given["package_id"]
        else:
            self._forced_for_revision(request, given["package_revision_id"])
            scope["revision_id"] = given["package_revision_id"]
        return envelope.ok(request, self.store.stop_deployments(**scope))


def routes(api: ResourceApi) -> list[Route]:
    return _Deployments(api).routes()

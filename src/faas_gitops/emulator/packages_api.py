"""``/v2/faas/packages``: list, create (with its initial revision), get, update, delete.

Creating a package with a non-empty ``functions`` list also creates its initial revision,
named ``revisionName`` (default ``v1``); with no functions the package has no revision.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import envelope, validation
from faas_gitops.emulator.resource import DATE_SORT_FIELDS, Handlers, ResourceApi, endpoint

SORT_FIELDS = ("name", *DATE_SORT_FIELDS)


class _Packages(Handlers):
    @endpoint("GET", "/packages")
    async def list(self, request: Request) -> Response:
        return self.api.list_answer(request, self.store.packages(), SORT_FIELDS)

    @endpoint("POST", "/packages")
    async def create(self, request: Request) -> Response:
        config = self.api.config
        spec = validation.parse_package_create(
            envelope.body(request), max_functions=config.max_functions
        )
        package = self.store.add_package(
            spec.name, spec.description, tags=spec.tags, api_managed=spec.api_managed
        )
        if spec.functions:
            self.store.create_revision(package["id"], spec.revision_name, spec.functions)
            package = self.store.get_package(package["id"])
        return envelope.ok(request, package, config.create_status)

    def _package_id(self, request: Request) -> str:
        package_id: str = request.path_params["package_id"]
        self.api.raise_forced(request, package_id)
        return package_id

    @endpoint("GET", "/packages/{package_id}")
    async def get(self, request: Request) -> Response:
        return envelope.ok(request, self.store.get_package(self._package_id(request)))

    @endpoint("PUT", "/packages/{package_id}")
    async def update(self, request: Request) -> Response:
        package_id = self._package_id(request)
        self.store.get_package(package_id)  # not-found before validation
        spec = validation.parse_package_update(envelope.body(request))
        package = self.store.update_package(
            package_id, name=spec.name, description=spec.description, tags=spec.tags
        )
        return envelope.ok(request, package)

    @endpoint("DELETE", "/packages/{package_id}")
    async def delete(self, request: Request) -> Response:
        self.store.delete_package(self._package_id(request))
        return envelope.no_content(request)


def routes(api: ResourceApi) -> list[Route]:
    return _Packages(api).routes()

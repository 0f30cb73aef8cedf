"""Package revisions: a package's revision list, and create/get/update/delete of a revision.

Revision list items omit each function's ``code`` unless ``revision_list_code="include"``
(the docs show list items as ``[{}]``), and may lie on purpose (``list_faults``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import envelope, list_faults, validation
from faas_gitops.emulator.resource import DATE_SORT_FIELDS, Handlers, ResourceApi, endpoint

SORT_FIELDS = ("name", *DATE_SORT_FIELDS)
FUNCTION_SORT_FIELDS = ("name", *DATE_SORT_FIELDS, "sortOrder")


def _strip_code(revision: dict[str, Any]) -> dict[str, Any]:
    revision["functions"] = [
        {key: value for key, value in function.items() if key != "code"}
        for function in revision["functions"]
    ]
    return revision


class _Revisions(Handlers):
    @endpoint("GET", "/packages/{package_id}/package-revisions")
    async def list(self, request: Request) -> Response:
        package_id = request.path_params["package_id"]
        self.api.raise_forced(request, package_id)
        revisions = self.store.revisions(package_id)
        if self.api.config.revision_list_code == "omit":
            revisions = [_strip_code(revision) for revision in revisions]
        fault = self.api.config.revision_list_fault
        page, paging = self.api.page(
            request, revisions, SORT_FIELDS, ignore_page=fault == "ignore-page"
        )
        data, shown_paging = list_faults.distort(fault, page, paging)
        return envelope.ok_list(request, data, shown_paging)

    @endpoint("POST", "/package-revisions")
    async def create(self, request: Request) -> Response:
        body = envelope.body(request)
        if isinstance(body, dict) and isinstance(body.get("packageId"), str):
            self.api.raise_forced(request, body["packageId"])
        config = self.api.config
        spec = validation.parse_revision_create(body, max_functions=config.max_functions)
        revision = self.store.create_revision(
            spec.package_id, spec.name, spec.functions, spec.description
        )
        return envelope.ok(request, revision, config.create_status)

    def _revision(self, request: Request) -> dict[str, Any]:
        revision = self.store.get_revision(request.path_params["revision_id"])
        self.api.raise_forced(request, revision["packageId"])
        return revision

    @endpoint("GET", "/package-revisions/{revision_id}")
    async def get(self, request: Request) -> Response:
        return envelope.ok(request, self._revision(request))

    @endpoint("PUT", "/package-revisions/{revision_id}")
    async def update(self, request: Request) -> Response:
        revision = self._revision(request)
        spec = validation.parse_revision_update(envelope.body(request))
        updated = self.store.update_revision(
            revision["id"], name=spec.name, description=spec.description
        )
        return envelope.ok(request, updated)

    @endpoint("DELETE", "/package-revisions/{revision_id}")
    async def delete(self, request: Request) -> Response:
        self.store.delete_revision(self._revision(request)["id"])
        return envelope.no_content(request)

    @endpoint("GET", "/package-revisions/{revision_id}/functions")
    async def functions(self, request: Request) -> Response:
        revision = self._revision(request)
        return self.api.list_answer(request, revision["functions"], FUNCTION_SORT_FIELDS)


def routes(api: ResourceApi) -> list[Route]:
    return _Revisions(api).routes()

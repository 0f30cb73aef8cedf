"""What every resource group's handlers share: settings, store, forced errors, list answers.

A resource group is one module with a ``routes(api: ResourceApi) -> list[Route]`` function,
usually the ``routes()`` of a ``Handlers`` object whose methods carry ``@endpoint(method,
path)``; ``app.ROUTE_GROUPS`` lists them, so a new group is one new module plus one line there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faas_gitops.emulator import envelope, listing
from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.store import EmulatorStore

Endpoint = Callable[[Request], Awaitable[Response]]
_Handler = TypeVar("_Handler", bound=Callable[..., Awaitable[Response]])
_ROUTE_ATTR = "_faas_route"

#: Sort fields every list accepts (REFERENCE.md §3; [MCP] examples use the two dates).
DATE_SORT_FIELDS = ("createdDttm", "updatedDttm")


def route(method: str, path: str, endpoint: Endpoint) -> Route:
    """A route under ``/v2/faas`` answering one method (``path`` starts with ``/``)."""
    return Route(envelope.API_PREFIX + path, endpoint, methods=[method])


def endpoint(method: str, path: str) -> Callable[[_Handler], _Handler]:
    """Mark a handler method as answering ``method`` on ``/v2/faas`` + ``path``."""

    def mark(handler: _Handler) -> _Handler:
        setattr(handler, _ROUTE_ATTR, (method, path))
        return handler

    return mark


class Handlers:
    """Base of a resource group's handler object: every handler reads the shared
    ``ResourceApi`` and its store, and ``routes()`` serves its ``@endpoint`` methods."""

    def __init__(self, api: ResourceApi) -> None:
        self.api = api
        self.store = api.store

    def routes(self) -> list[Route]:
        """A route for every ``@endpoint`` method, in definition order."""
        found: list[Route] = []
        for name, member in vars(type(self)).items():
            marked = getattr(member, _ROUTE_ATTR, None)
            if marked is not None:
                method, path = marked
                found.append(route(method, path, getattr(self, name)))
        return found


@dataclass(frozen=True, slots=True)
class ResourceApi:
    config: EmulatorConfig
    store: EmulatorStore

    def raise_forced(self, request: Request, package_id: str) -> None:
        """Answer the error a test forced on ``package_id`` for this method, if any."""
        problem = self.store.take_forced_error(package_id, request.method)
        if problem is not None:
            raise problem

    def page(
        self,
        request: Request,
        items: Sequence[dict[str, Any]],
        sort_fields: tuple[str, ...],
        *,
        ignore_page: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Filter, order and cut ``items`` as the request's list query asks.

        ``ignore_page`` serves page 0 whatever ``page`` says (a fault, see ``list_faults``).
        """
        query = listing.parse_list_query(
            dict(request.query_params),
            request.query_params.getlist("sort"),
            max_page_size=self.config.max_page_size,
            sort_fields=sort_fields,
        )
        if ignore_page:
            query = dataclasses.replace(query, page=0)
        arranged = listing.arrange(
            items, query, order=self.config.list_order, seed=self.config.seed
        )
        return listing.page_of(arranged, query)

    def list_answer(
        self, request: Request, items: Sequence[dict[str, Any]], sort_fields: tuple[str, ...]
    ) -> Response:
        page, paging = self.page(request, items, sort_fields)
        return envelope.ok_list(request, page, paging)

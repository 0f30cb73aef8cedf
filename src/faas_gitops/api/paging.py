"""Reading a paged list completely, or failing loudly when the API's list cannot be trusted.

A list that silently misses items is worse than an error: the writer would take a taken
revision name for free and create a duplicate. So a list answer without a list is an error,
pages without ``meta.paging`` are read until a short page, and a list that repeats a page or
keeps growing is stopped after a bounded number of requests with ``ApiInconsistentList``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from faas_gitops.api.envelope import ApiResponse
from faas_gitops.errors import ApiBadResponse, ApiInconsistentList

LIST_PAGE_SIZE = 100
MAX_PAGES = 200
"""An absolute cap: 20,000 items at the default page size, far beyond any package's revisions."""

FetchPage = Callable[[int, int], Awaitable[ApiResponse]]


@dataclass(frozen=True, slots=True)
class ListStrategy:
    """How to read a list: the page size, and whether ``meta.paging`` may end it early.

    ``trust_paging=False`` reads until an empty or short page whatever ``totalPages`` says (one
    request more than needed when the API tells the truth): the second opinion after a 409
    showed that a listing missed an item. Either way ``meta.paging`` of page 0 bounds the
    requests (its page count plus two), so a list that keeps growing ends in an error.
    """

    page_size: int = LIST_PAGE_SIZE
    trust_paging: bool = True
    max_pages: int = MAX_PAGES


DEFAULT_STRATEGY = ListStrategy()


@dataclass(slots=True)
class Listing:
    """The pages in the server's order, each with the correlation id of its answer.

    Kept per page so an item that cannot be parsed is reported with the id of the answer it
    came in, never with another page's.
    """

    pages: list[tuple[list[Any], str | None]] = field(default_factory=list)

    @property
    def items(self) -> list[Any]:
        return [item for page, _ in self.pages for item in page]

    @property
    def first_correlation_id(self) -> str | None:
        return self.pages[0][1] if self.pages else None

    def pairs(self) -> Iterator[tuple[Any, str | None]]:
        """Each item with the correlation id of the page that carried it."""
        for page, correlation in self.pages:
            for item in page:
                yield item, correlation


async def read_pages(
    fetch: FetchPage,
    call: str,
    *,
    noun: str = "list",
    strategy: ListStrategy = DEFAULT_STRATEGY,
    enough: Callable[[list[Any]], bool] | None = None,
) -> Listing:
    """Every page of a list; ``enough(first_page)`` returning true stops after page 0."""
    listing = Listing()
    seen: dict[tuple[str, ...], int] = {}
    budget = strategy.max_pages
    size = strategy.page_size
    total = 0
    for page in range(strategy.max_pages + 1):
        if page >= budget:
            raise _inconsistent(call, noun, f"still not at its end after {page} pages", listing)
        response = await fetch(page, size)
        data = response.data
        if not isinstance(data, list):
            what = "null" if data is None else type(data).__name__
            raise ApiBadResponse(
                call,
                f"the API's answer to {call} has no list ('data' is {what})",
                status=response.status,
                correlation_id=response.correlation_id,
            )
        listing.pages.append((data, response.correlation_id))
        total += len(data)
        if page == 0 and enough is not None and enough(data):
            break
        if not data:
            break
        ids = _ids(data)
        if ids in seen:
            raise _inconsistent(
                call,
                noun,
                f"page {page} repeats page {seen[ids]} (same ids)",
                listing,
                response.correlation_id,
            )
        seen[ids] = page
        paging = response.paging
        short = len(data) < (paging.page_size if paging and paging.page_size > 0 else size)
        if paging is None or paging.total_pages <= 0:
            if short:
                break
            continue
        if page == 0:
            # The server's page size, not ours: it may cap what we asked for.
            served = paging.page_size if paging.page_size > 0 else size
            expected = max(paging.total_pages, math.ceil(paging.total_elements / served))
            budget = min(strategy.max_pages, expected + 2)
        if short or (
            strategy.trust_paging
            and page + 1 >= paging.total_pages
            and total >= paging.total_elements
        ):
            break
    return listing


def _ids(page: list[Any]) -> tuple[str, ...]:
    return tuple(str(item.get("id")) if isinstance(item, dict) else repr(item) for item in page)


def _inconsistent(
    call: str,
    noun: str,
    detail: str,
    listing: Listing,
    correlation_id: str | None = None,
) -> ApiInconsistentList:
    requests = len(listing.pages)
    last = listing.pages[-1][1] if listing.pages else None
    return ApiInconsistentList(
        call,
        f"the API's {noun} is inconsistent: {detail}; stopped after {requests} requests",
        correlation_id=correlation_id or last,
    )

"""Spring-style list queries: ``page``, ``size``, ``sort``, ``search`` and the paging block.

REFERENCE.md §3: request names come from PubNub's own client, response names from the docs.
Without ``sort`` the real order is unspecified; the emulator either keeps creation order or
shuffles *stably* (by a hash of seed and id), so paging through a list is consistent while a
client that silently relies on creation order still breaks in tests.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faas_gitops.emulator.config import ListOrder
from faas_gitops.emulator.problems import ApiProblem, invalid

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class ListQuery:
    page: int
    size: int
    sort: tuple[tuple[str, bool], ...]  # (field, descending), most significant first
    search: str | None


def _non_negative(raw: str, field: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise invalid(field, "must be a non-negative integer") from None
    if value < 0:
        raise invalid(field, "must be a non-negative integer")
    return value


def parse_list_query(
    params: Mapping[str, str],
    sorts: Sequence[str],
    *,
    max_page_size: int,
    sort_fields: Iterable[str],
) -> ListQuery:
    """Read the list query; ``size`` above ``max_page_size`` is capped, 0 is ``FAAS-1019``."""
    page = _non_negative(params["page"], "page") if "page" in params else 0
    size = _non_negative(params["size"], "size") if "size" in params else DEFAULT_PAGE_SIZE
    if size == 0:
        raise ApiProblem(400, "FAAS-1019", "Page size must be greater than zero")
    size = min(size, max_page_size)
    allowed = tuple(sort_fields)
    parsed: list[tuple[str, bool]] = []
    for raw in sorts:
        field, _, direction = raw.partition(",")
        field = field.strip()
        direction = direction.strip().upper() or "ASC"
        if field not in allowed:
            raise invalid("sort", f"unknown field '{field}'; use one of {', '.join(allowed)}")
        if direction not in ("ASC", "DESC"):
            raise invalid("sort", f"direction must be ASC or DESC, not '{direction}'")
        parsed.append((field, direction == "DESC"))
    search = params.get("search") or None
    return ListQuery(page, size, tuple(parsed), search)


def arrange(
    items: Sequence[dict[str, Any]], query: ListQuery, *, order: ListOrder, seed: int
) -> list[dict[str, Any]]:
    """Filter by ``search`` (case-insensitive substring of ``name``) and order the items.

    ``items`` come in creation order. Sorting ties keep that default order.
    """
    chosen = list(items)
    if query.search is not None:
        needle = query.search.casefold()
        chosen = [item for item in chosen if needle in str(item.get("name", "")).casefold()]
    if order == "shuffled":
        chosen.sort(key=lambda item: hashlib.sha256(f"{seed}:{item['id']}".encode()).digest())
    for field, descending in reversed(query.sort):
        chosen.sort(key=operator.itemgetter(field), reverse=descending)
    return chosen


def page_of(
    items: Sequence[dict[str, Any]], query: ListQuery
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The requested page and its ``meta.paging`` block."""
    total = len(items)
    offset = query.page * query.size
    paging = {
        "totalElements": total,
        "totalPages": math.ceil(total / query.size),
        "pageSize": query.size,
        "pageNumber": query.page,
        "pageOffset": offset,
    }
    return list(items[offset : offset + query.size]), paging

"""Revision list answers that lie, so tests can prove a client never trusts an incomplete list.

Each is a way a paged list has been seen to mislead a client into thinking it saw every
revision (issue: duplicates when a revision listing is incomplete):

* ``null-data``: ``data`` is ``null``;
* ``no-paging``: ``meta.paging`` is missing (a client reading it learns nothing of page 1+);
* ``one-page``: ``totalPages`` is always 1, however many pages there are;
* ``ignore-page``: the ``page`` parameter is ignored, every request gets page 0 (same ids again);
* ``growing-pages``: ``totalPages`` is always one more than the page asked for (pages past the
  real end are empty), so a client that trusts it never stops.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

RevisionListFault = Literal[
    "none", "null-data", "no-paging", "one-page", "ignore-page", "growing-pages"
]
REVISION_LIST_FAULTS: tuple[str, ...] = get_args(RevisionListFault)


def distort(
    fault: RevisionListFault, page: list[dict[str, Any]], paging: dict[str, int]
) -> tuple[list[dict[str, Any]] | None, dict[str, int] | None]:
    """The ``data`` and ``meta.paging`` to answer instead of the true ones.

    ``ignore-page`` is applied earlier, when the page is cut (``ResourceApi.page``).
    """
    if fault == "null-data":
        return None, paging
    if fault == "no-paging":
        return page, None
    if fault == "one-page":
        return page, {**paging, "totalPages": 1}
    if fault == "growing-pages":
        grown = max(paging["totalPages"], paging["pageNumber"] + 2)
        return page, {**paging, "totalPages": grown}
    return page, paging

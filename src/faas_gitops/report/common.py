"""Pieces every rendering shares: making untrusted text printable, times, alignment, labels.

Paths, manifest names, revision names and error texts come from git and from the API, so a
directory named ``"a\\nfailed  b"`` or holding ``ESC[31m`` must not forge a line or recolour the
terminal: every human rendering passes them through ``printable`` (JSON does not need to: its
encoder escapes control characters itself). The rule lives in ``logs``, which applies it to
console logs too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from faas_gitops.logs import printable

SHORT_COMMIT = 12
NONE = "(none)"
EMPTY_CELL = "-"


def one_line(text: str) -> str:
    """A multi-line text (an error) collapsed into one printable line, for cells and headers."""
    return printable(" ".join(text.split()))


def text_lines(text: str) -> list[str]:
    """A multi-line text (an error with several problems) as printable lines, blanks dropped."""
    return [printable(line.strip()) for line in text.splitlines() if line.strip()]


def canonical_json(value: Any) -> str:
    """One-line JSON with sorted keys, so equal configs always print the same."""
    if isinstance(value, Mapping):
        value = dict(value)
    return json.dumps(value, sort_keys=True, default=str)


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already (not local time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def table_time(moment: datetime) -> str:
    """``2024-05-01 12:00:02Z``: UTC, to the second, for table columns."""
    return utc(moment).strftime("%Y-%m-%d %H:%M:%SZ")


def package_label(name: str | None, package_id: str | None) -> str | None:
    """``name (uuid)``: how a person and a support ticket both recognise a package."""
    if name and package_id and name != package_id:
        return f"{name} ({package_id})"
    return name or package_id


def align(rows: Sequence[Sequence[str]], *, keep_first: bool = False) -> list[str]:
    """Left-aligned columns two spaces apart; columns empty in every row are left out.

    ``keep_first``: the first row is a header, so a column counts as empty when only the
    header fills it.
    """
    if not rows:
        return []
    body = rows[1:] if keep_first else rows
    keep = [i for i in range(len(rows[0])) if any(row[i] for row in body)]
    kept = [[row[i] for i in keep] for row in rows]
    if not kept[0]:
        return ["" for _ in kept]
    widths = [max(len(row[i]) for row in kept) for i in range(len(kept[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in kept
    ]

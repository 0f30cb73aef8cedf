"""How a package's functions change, as a reviewer reads it in a terminal or a pull request.

Each change starts with a line naming its function (``function filter: modified``), so a
config-only change is never an anonymous ``config: ... -> ...``. Then the attributes that differ,
config key by key (``config.inputChannel: "a.*" -> "b.*"``), like git's mode lines, then a
unified diff of the code. A removed and an added function with the same code, type, language
and config are one rename (``function new: renamed old -> new``), not two blocks of ``(none)``.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faas_gitops.logs import printable
from faas_gitops.models import ChangeKind, FunctionChange, FunctionSpec
from faas_gitops.report.common import NONE, canonical_json

#: The scalar attribute lines of a function diff: (label as the API spells it, getter).
_ATTRIBUTES: tuple[tuple[str, Callable[[FunctionSpec], str]], ...] = (
    ("type", lambda spec: spec.type),
    ("language", lambda spec: spec.language),
    ("sortOrder", lambda spec: str(spec.sort_order)),
)


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One entry of a package's change list: a ``FunctionChange``, or a rename made of two."""

    change: FunctionChange
    renamed_from: str | None = None

    @property
    def function(self) -> str:
        return self.change.function

    @property
    def label(self) -> str:
        if self.renamed_from is not None:
            return f"renamed {printable(self.renamed_from)} -> {printable(self.function)}"
        return self.change.change.value


def _same_content(a: FunctionSpec, b: FunctionSpec) -> bool:
    return (a.code, a.type, a.language, canonical_json(a.config)) == (
        b.code,
        b.type,
        b.language,
        canonical_json(b.config),
    )


def change_items(changes: Iterable[FunctionChange]) -> list[ChangeItem]:
    """The changes sorted by function name, each removed+added pair of equal content as a rename.

    Pairs are matched in name order, so the same change list always gives the same renames.
    """
    ordered = sorted(changes, key=lambda change: (change.function, change.change.value))
    removed = [c for c in ordered if c.change is ChangeKind.REMOVED and c.before is not None]
    items: list[ChangeItem] = []
    paired: set[int] = set()
    for change in ordered:
        if change.change is not ChangeKind.ADDED or change.after is None:
            continue
        for old in removed:
            if id(old) not in paired and old.before and _same_content(old.before, change.after):
                paired.add(id(old))
                renamed = FunctionChange(
                    change.function, ChangeKind.MODIFIED, before=old.before, after=change.after
                )
                items.append(ChangeItem(renamed, renamed_from=old.function))
                break
        else:
            items.append(ChangeItem(change))
    items += [
        ChangeItem(change)
        for change in ordered
        if change.change is not ChangeKind.ADDED and id(change) not in paired
    ]
    return sorted(items, key=lambda item: (item.function, item.change.change.value))


def _config_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """``config.KEY: old -> new``, one line per key that changed, keys sorted."""
    old, new = before or {}, after or {}
    lines = []
    for key in sorted(set(old) | set(new)):
        was = canonical_json(old[key]) if key in old else NONE
        now = canonical_json(new[key]) if key in new else NONE
        if was != now:
            lines.append(printable(f"config.{key}: {was} -> {now}"))
    return lines


def _attribute_lines(before: FunctionSpec | None, after: FunctionSpec | None) -> list[str]:
    lines = []
    for label, get in _ATTRIBUTES:
        old = get(before) if before is not None else NONE
        new = get(after) if after is not None else NONE
        if old != new:
            lines.append(printable(f"{label}: {old} -> {new}"))
    return lines + _config_lines(
        before.config if before is not None else None,
        after.config if after is not None else None,
    )


def _code_lines(change: FunctionChange, package_path: str, renamed_from: str | None) -> list[str]:
    before, after = change.before, change.after
    old_code = before.code if before is not None else ""
    new_code = after.code if after is not None else ""
    location = printable(posixpath.normpath(posixpath.join(package_path, change.function)))
    old_location = location
    if renamed_from is not None:
        old_location = printable(posixpath.normpath(posixpath.join(package_path, renamed_from)))
    code_diff = [
        printable(line, keep_tab=True)
        for line in difflib.unified_diff(
            old_code.splitlines(),
            new_code.splitlines(),
            fromfile=f"a/{old_location}",
            tofile=f"b/{location}",
            lineterm="",
        )
    ]
    if not code_diff and old_code != new_code:
        # Only line endings or the final newline differ: splitlines() hides that, so say it.
        code_diff = [f"code: only line endings or the final newline differ in {location}"]
    return code_diff


def diff_item(item: ChangeItem, package_path: str) -> list[str]:
    """The lines of one change: its function and what happened, attributes, then code."""
    change = item.change
    return [
        f"function {printable(item.function)}: {item.label}",
        *_attribute_lines(change.before, change.after),
        *_code_lines(change, package_path, item.renamed_from),
    ]


def diff_function(change: FunctionChange, package_path: str) -> list[str]:
    """The lines that show how one function changes, without trailing newlines.

    An added function compares against nothing, so every attribute shows ``(none) -> value``
    and every code line is an addition; a removed one the other way round.
    """
    return diff_item(ChangeItem(change), package_path)


def package_diff(changes: Sequence[FunctionChange], package_path: str) -> list[str]:
    """Every change's diff, a blank line between them so each reads on its own."""
    lines: list[str] = []
    for item in change_items(changes):
        lines += [""] if lines else []
        lines += diff_item(item, package_path)
    return lines


def changes_phrase(changes: Sequence[FunctionChange]) -> str:
    count = len(change_items(changes))
    return f"{count} function{'' if count == 1 else 's'} changed"

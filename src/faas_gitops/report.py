"""What a person (text), a program (json) or a pull request (markdown) sees after a sync.

Pure functions of a ``SyncResult`` or of ledger entries: no I/O, no clock, no colours (stdout
may be a pipe), so the same result always renders to the same bytes and tests compare strings.
Everything is sorted: packages by path, function changes by name.

This module sees results, never the API key.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from faas_gitops.models import FunctionChange, FunctionSpec, Outcome, Status, SyncResult
from faas_gitops.state import LedgerEntry

SHORT_COMMIT = 12
_NONE = "(none)"
_EMPTY_CELL = "-"

#: The attribute lines of a function diff: (label as the API spells it, getter).
_ATTRIBUTES: tuple[tuple[str, Callable[[FunctionSpec], str]], ...] = (
    ("type", lambda spec: spec.type),
    ("language", lambda spec: spec.language),
    ("sortOrder", lambda spec: str(spec.sort_order)),
    ("config", lambda spec: canonical_json(spec.config)),
)


# --- shared pieces ------------------------------------------------------------------------------


def canonical_json(value: Mapping[str, Any]) -> str:
    """One-line JSON with sorted keys, so equal configs always print the same."""
    return json.dumps(dict(value), sort_keys=True, default=str)


def _utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already (not local time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _duration(result: SyncResult) -> float:
    return round((result.finished_at - result.started_at).total_seconds(), 3)


def _sorted_outcomes(result: SyncResult) -> list[Outcome]:
    return sorted(result.outcomes, key=lambda outcome: outcome.path)


def _sorted_changes(changes: Iterable[FunctionChange]) -> list[FunctionChange]:
    return sorted(changes, key=lambda change: (change.function, change.change.value))


def _one_line(text: str) -> str:
    """Collapse a multi-line error into one line, for table cells."""
    return " ".join(text.split())


def _align(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; columns empty in every row are left out."""
    if not rows:
        return []
    keep = [i for i in range(len(rows[0])) if any(row[i] for row in rows)]
    rows = [[row[i] for i in keep] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def summary_line(result: SyncResult) -> str:
    """``3 packages: 1 created, 2 unchanged, 0 failed (commit abc123def456, 0.42 s)``.

    would-create is named on dry runs (where it replaces created) or whenever it is not zero.
    """
    counts = result.summary
    total = counts["total"]
    shown = [Status.WOULD_CREATE] if result.dry_run else [Status.CREATED]
    if not result.dry_run and counts[Status.WOULD_CREATE.value]:
        shown.append(Status.WOULD_CREATE)
    shown += [Status.UNCHANGED, Status.FAILED]
    parts = ", ".join(f"{counts[status.value]} {status.value}" for status in shown)
    extra = "dry run, " if result.dry_run else ""
    noun = "package" if total == 1 else "packages"
    return (
        f"{total} {noun}: {parts}"
        f" ({extra}commit {result.commit[:SHORT_COMMIT]}, {_duration(result):.2f} s)"
    )


# --- diffs --------------------------------------------------------------------------------------


def diff_function(change: FunctionChange, package_path: str) -> list[str]:
    """The lines that show how one function changes, without trailing newlines.

    First the attributes that differ (``type: BEFORE_PUBLISH -> AFTER_PUBLISH``), like git's mode
    lines, then a unified diff of the code under ``a/<path>/<name>`` and ``b/<path>/<name>``.
    An added function compares against nothing, so every attribute shows ``(none) -> value``
    and every code line is an addition; a removed one the other way round.
    """
    before, after = change.before, change.after
    lines: list[str] = []
    for label, get in _ATTRIBUTES:
        old = get(before) if before is not None else _NONE
        new = get(after) if after is not None else _NONE
        if old != new:
            lines.append(f"{label}: {old} -> {new}")
    old_code = before.code if before is not None else ""
    new_code = after.code if after is not None else ""
    location = posixpath.normpath(posixpath.join(package_path, change.function))
    code_diff = list(
        difflib.unified_diff(
            old_code.splitlines(),
            new_code.splitlines(),
            fromfile=f"a/{location}",
            tofile=f"b/{location}",
            lineterm="",
        )
    )
    if not code_diff and old_code != new_code:
        # Only line endings or the final newline differ: splitlines() hides that, so say it.
        code_diff = [f"code: only line endings or the final newline differ in {location}"]
    return lines + code_diff


def _package_diff(outcome: Outcome) -> list[str]:
    """Every function's diff, a blank line between functions so each reads on its own."""
    lines: list[str] = []
    for change in _sorted_changes(outcome.changes):
        lines += [""] if lines else []
        lines += diff_function(change, outcome.path)
    return lines


def _changed(result: SyncResult) -> list[Outcome]:
    return [outcome for outcome in _sorted_outcomes(result) if outcome.changes]


def _changes_phrase(outcome: Outcome) -> str:
    count = len(outcome.changes)
    return f"{count} function{'' if count == 1 else 's'} changed"


# --- json ---------------------------------------------------------------------------------------


def _package_document(outcome: Outcome) -> dict[str, Any]:
    return {
        "path": outcome.path,
        "packageId": outcome.package_id,
        "status": outcome.status.value,
        "revisionName": outcome.revision_name,
        "revisionId": outcome.revision_id,
        "correlationId": outcome.correlation_id,
        "changes": [
            {"function": change.function, "change": change.change.value}
            for change in _sorted_changes(outcome.changes)
        ],
        "error": outcome.error,
    }


def to_json_document(result: SyncResult) -> dict[str, Any]:
    """The ``--output json`` document: a stable key order, camelCase, enum values as strings.

    ``summary`` has one count per status value plus ``total``, so a consumer can index it with
    a package's ``status``.
    """
    return {
        "commit": result.commit,
        "ref": result.ref,
        "dryRun": result.dry_run,
        "packages": [_package_document(outcome) for outcome in _sorted_outcomes(result)],
        "summary": dict(result.summary),
        "startedAt": _iso(result.started_at),
        "finishedAt": _iso(result.finished_at),
        "durationSeconds": _duration(result),
        "fatalError": result.fatal_error,
    }


# --- text ---------------------------------------------------------------------------------------


def _render_text(result: SyncResult, *, show_diff: bool) -> str:
    rows = [
        [
            outcome.status.value,
            outcome.path,
            outcome.revision_name or _EMPTY_CELL,
            f"rev={outcome.revision_id}" if outcome.revision_id else "",
            f"corr={outcome.correlation_id}" if outcome.correlation_id else "",
            f"error: {_one_line(outcome.error)}" if outcome.error else "",
        ]
        for outcome in _sorted_outcomes(result)
    ]
    lines = _align(rows)
    if show_diff:
        for outcome in _changed(result):
            lines += [
                "",
                f"=== {outcome.path}: {_changes_phrase(outcome)}",
                *_package_diff(outcome),
            ]
    if lines:
        lines.append("")
    if result.fatal_error:
        lines.append(f"stopped: {_one_line(result.fatal_error)}")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


# --- markdown -----------------------------------------------------------------------------------


def _md_code(text: str) -> str:
    """A code span that survives backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    padding = " " if longest else ""
    return f"{ticks}{padding}{text}{padding}{ticks}"


def _md_cell(value: str | None) -> str:
    """A table cell: a code span, with pipes escaped (GFM unescapes them even in code)."""
    return _md_code(value.replace("|", "\\|")) if value else _EMPTY_CELL


def _fence(lines: Sequence[str], info: str) -> list[str]:
    """A fenced block longer than any backtick run inside, so JS template literals cannot end it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def _render_markdown(result: SyncResult, *, show_diff: bool) -> str:
    title = "faas-gitops dry run" if result.dry_run else "faas-gitops sync"
    lines = [
        f"### {title} of `{result.commit[:SHORT_COMMIT]}` (`{result.ref}`)",
        "",
        summary_line(result),
        "",
    ]
    if result.fatal_error:
        lines += [f"> **Stopped:** {_one_line(result.fatal_error)}", ""]
    if result.outcomes:
        lines += [
            "| path | package | status | revision | correlation id |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_md_cell(o.path)} | {_md_cell(o.package_id)} | {o.status.value}"
            f" | {_md_cell(o.revision_name)} | {_md_cell(o.correlation_id)} |"
            for o in _sorted_outcomes(result)
        ]
        lines.append("")
    failures = [o for o in _sorted_outcomes(result) if o.error]
    if failures:
        lines += ["**Errors**", ""]
        lines += [f"- {_md_code(o.path)}: {_md_code(_one_line(o.error or ''))}" for o in failures]
        lines.append("")
    for outcome in _changed(result):
        summary = f"<code>{_html(outcome.path)}</code>: {_changes_phrase(outcome)}"
        lines += ["<details>", f"<summary>{summary}</summary>", ""]
        if show_diff:
            lines += _fence(_package_diff(outcome), "diff")
        else:
            lines += [
                f"- {_md_code(change.function)}: {change.change.value}"
                for change in _sorted_changes(outcome.changes)
            ]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- entry points -------------------------------------------------------------------------------


def render(result: SyncResult, fmt: Literal["text", "json", "markdown"], *, show_diff: bool) -> str:
    """The whole output of one sync in ``fmt``, ending with a newline.

    ``show_diff`` adds function diffs to text and markdown; json never carries code, so it
    stays small enough to post-process (``show_diff`` is ignored there).
    """
    if fmt == "json":
        return json.dumps(to_json_document(result), indent=2, sort_keys=False) + "\n"
    if fmt == "markdown":
        return _render_markdown(result, show_diff=show_diff)
    if fmt == "text":
        return _render_text(result, show_diff=show_diff)
    raise ValueError(f"unknown output format {fmt!r}")


def _entry_document(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "recordedAt": _iso(entry.recorded_at),
        "commit": entry.commit,
        "ref": entry.ref,
        "path": entry.path,
        "packageId": entry.package_id,
        "status": entry.status,
        "revisionName": entry.revision_name,
        "revisionId": entry.revision_id,
        "correlationId": entry.correlation_id,
        "error": entry.error,
        "trigger": entry.trigger,
    }


def render_history(entries: Sequence[LedgerEntry], fmt: Literal["text", "json"]) -> str:
    """``faas-gitops history``: a table for a terminal or ``{"entries": [...]}``, in given order."""
    if fmt == "json":
        document = {"entries": [_entry_document(entry) for entry in entries]}
        return json.dumps(document, indent=2, sort_keys=False) + "\n"
    if fmt != "text":
        raise ValueError(f"unknown output format {fmt!r}")
    if not entries:
        return "no syncs recorded\n"
    header = ["TIME", "COMMIT", "PATH", "STATUS", "REVISION", "CORRELATION ID", "ERROR"]
    rows = [header] + [
        [
            _utc(entry.recorded_at).strftime("%Y-%m-%d %H:%M:%SZ"),
            entry.commit[:SHORT_COMMIT],
            entry.path,
            entry.status,
            entry.revision_name or _EMPTY_CELL,
            entry.correlation_id or _EMPTY_CELL,
            _one_line(entry.error) if entry.error else "",
        ]
        for entry in entries
    ]
    return "\n".join(_align(rows)) + "\n"


__all__ = [
    "canonical_json",
    "diff_function",
    "render",
    "render_history",
    "summary_line",
    "to_json_document",
]

"""The pull-request rendering of a sync: summary, package and deployment tables, errors, diffs.

Every value goes into a code span (``md_cell``) with control characters escaped and pipes
escaped (GFM unescapes them even in code), so a path cannot break the table or inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from faas_gitops.links import commit_link
from faas_gitops.logs import printable
from faas_gitops.models import DeployStatus, Status, SyncResult
from faas_gitops.report.common import (
    EMPTY_CELL,
    SHORT_COMMIT,
    one_line,
    package_label,
    text_lines,
)
from faas_gitops.report.deployments import deployment_remark, revisions, sorted_deployments
from faas_gitops.report.diffs import change_items, changes_phrase, package_diff
from faas_gitops.report.text import sorted_outcomes, stopped_before_start, summary_line


def md_code(text: str) -> str:
    """A code span that survives backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    padding = " " if longest else ""
    return f"{ticks}{padding}{text}{padding}{ticks}"


def md_cell(value: str | None) -> str:
    """A table cell: a printable code span with pipes escaped, ``-`` when empty."""
    return md_code(printable(value).replace("|", "\\|")) if value else EMPTY_CELL


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def html(text: str) -> str:
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(lines: Sequence[str], info: str) -> list[str]:
    """A fenced block longer than any backtick run inside, so JS template literals cannot end it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def error_items(subject: str, error: str) -> list[str]:
    """``- subject: `first line` `` then every further line as a nested item."""
    lines = text_lines(error) or [printable(error)]
    spans = [md_code(line.replace("|", "\\|")) for line in lines]
    return [f"- {subject}: {spans[0]}", *(f"  - {span}" for span in spans[1:])]


def _errors(result: SyncResult) -> list[str]:
    items: list[str] = []
    for outcome in sorted_outcomes(result):
        if outcome.error:
            items += error_items(md_cell(outcome.path), outcome.error)
        for deployment in sorted_deployments(outcome.deployments):
            if deployment.error:
                subject = f"{md_cell(outcome.path)} on {md_cell(deployment.environment)}"
                items += error_items(subject, deployment.error)
    return ["**Errors**", "", *items, ""] if items else []


def _notes(result: SyncResult) -> list[str]:
    """What needs no action but may surprise (a tag pushed after its commit was synced)."""
    items = [f"- {md_cell(note)}" for note in result.notes]
    return ["**Notes**", "", *items, ""] if items else []


def _collapsed(summary: str, items: Sequence[str]) -> list[str]:
    """One line a reviewer can open: ``<details>`` with the items, comma-separated, inside."""
    return [
        "<details>",
        f"<summary>{summary}</summary>",
        "",
        ", ".join(items),
        "",
        "</details>",
        "",
    ]


def _with_correlation(
    header: list[str], rows: list[list[str]], correlations: Sequence[str | None]
) -> tuple[list[str], list[list[str]]]:
    """The correlation-id column, only when some row has one (a dry run writes nothing)."""
    if not any(correlations):
        return header, rows
    cells = [md_cell(correlation) for correlation in correlations]
    return [*header, "correlation id"], [
        [*row, cell] for row, cell in zip(rows, cells, strict=True)
    ]


def _packages(result: SyncResult) -> list[str]:
    """The packages that changed (or failed) as a table; the unchanged ones as one line."""
    outcomes = sorted_outcomes(result)
    changed = [o for o in outcomes if o.status is not Status.UNCHANGED]
    quiet = [o for o in outcomes if o.status is Status.UNCHANGED]
    lines: list[str] = []
    if changed:
        rows = [
            [
                md_cell(o.path),
                md_cell(package_label(o.name, o.package_id)),
                o.status.value,
                md_cell(o.revision_name),
            ]
            for o in changed
        ]
        header, rows = _with_correlation(
            ["path", "package", "status", "revision"], rows, [o.correlation_id for o in changed]
        )
        lines += [*md_table(header, rows), ""]
    if quiet:
        noun = "package" if len(quiet) == 1 else "packages"
        lines += _collapsed(
            f"{len(quiet)} {noun} unchanged", [md_code(printable(o.path)) for o in quiet]
        )
    return lines


def _deployments(result: SyncResult) -> list[str]:
    """One row per package x environment that did something, as the text's indented lines say
    it: from → to, the status (any ``DeployStatus``), then ``pinned`` and the note (why
    frozen, held, skipped or orphaned), so a reviewer sees why a release did not ship without
    opening the log. The environments already in sync are one line."""
    pairs = [
        (outcome, deployment)
        for outcome in sorted_outcomes(result)
        for deployment in sorted_deployments(outcome.deployments)
    ]
    moving = [(o, d) for o, d in pairs if d.status is not DeployStatus.IN_SYNC]
    quiet = [(o, d) for o, d in pairs if d.status is DeployStatus.IN_SYNC]
    lines: list[str] = []
    if moving:
        rows = [
            [
                md_cell(outcome.path),
                md_cell(deployment.environment),
                md_cell(revisions(deployment)),
                deployment.status.value,
                md_cell(deployment_remark(deployment)),
            ]
            for outcome, deployment in moving
        ]
        header, rows = _with_correlation(
            ["path", "environment", "revision", "status", "note"],
            rows,
            [deployment.correlation_id for _, deployment in moving],
        )
        lines += [*md_table(header, rows), ""]
    if quiet:
        noun = "deployment" if len(quiet) == 1 else "deployments"
        lines += _collapsed(
            f"{len(quiet)} {noun} in sync",
            [
                f"{md_code(printable(o.path))} on {md_code(printable(d.environment))}"
                for o, d in quiet
            ],
        )
    return ["**Deployments**", "", *lines] if lines else []


def _diffs(result: SyncResult, *, show_diff: bool) -> list[str]:
    lines: list[str] = []
    for outcome in sorted_outcomes(result):
        if not outcome.changes:
            continue
        summary = f"<code>{html(outcome.path)}</code>: {changes_phrase(outcome.changes)}"
        lines += ["<details>", f"<summary>{summary}</summary>", ""]
        if show_diff:
            lines += _fence(package_diff(outcome.changes, outcome.path), "diff")
        else:
            lines += [
                f"- {md_cell(item.function)}: {item.label}"
                for item in change_items(outcome.changes)
            ]
        lines += ["", "</details>", ""]
    return lines


def _commit(result: SyncResult, commit_url: str | None) -> str:
    """The short commit in a code span, a link to it when ``--commit-url`` is set."""
    span = md_code(printable(result.commit[:SHORT_COMMIT]))
    link = commit_link(commit_url, result.commit)
    return f"[{span}]({link})" if link else span


def render_markdown(result: SyncResult, *, show_diff: bool, commit_url: str | None = None) -> str:
    """The pull-request comment: what changed, in tables; what did not, as one line each.

    ``commit_url`` (``--commit-url``) turns the commit into a link.
    """
    title = "faas-gitops dry run" if result.dry_run else "faas-gitops sync"
    lines = [f"### {title} of {_commit(result, commit_url)} ({md_cell(result.ref)})", ""]
    if stopped_before_start(result):
        stopped = one_line(result.fatal_error or "")
        return "\n".join([*lines, f"> **Stopped before any package was synced:** {stopped}", ""])
    lines += [summary_line(result), ""]
    if result.fatal_error:
        lines += [f"> **Stopped:** {one_line(result.fatal_error)}", ""]
    lines += _packages(result)
    lines += _deployments(result) + _errors(result) + _notes(result)
    lines += _diffs(result, show_diff=show_diff)
    return "\n".join(lines).rstrip("\n") + "\n"

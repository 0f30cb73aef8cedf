"""``history`` and ``status``: the same rows as an aligned terminal table or a markdown table.

Rows are given (history: in the order asked for) or sorted (status: by path); every cell is
printable text, so a stored path or error cannot forge a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from faas_gitops.links import commit_link
from faas_gitops.logs import printable
from faas_gitops.records import PackageStatus
from faas_gitops.report.common import (
    EMPTY_CELL,
    SHORT_COMMIT,
    align,
    iso,
    one_line,
    table_time,
)
from faas_gitops.report.deployments import running_cell, sorted_deployments
from faas_gitops.report.documents import entry_document, entry_revisions, status_document
from faas_gitops.report.markdown import md_cell, md_table
from faas_gitops.state import LedgerEntry

TableFormat = Literal["text", "json", "markdown"]


def _cell(value: str | None) -> str:
    return printable(value) if value else EMPTY_CELL


def _table(
    header: list[str],
    rows: list[list[str | None]],
    fmt: TableFormat,
    *,
    commit_links: Sequence[str | None] = (),
) -> str:
    """Text: aligned, ``-`` for empty cells, error column kept only when used. Markdown: GFM,
    the commit (column 1) of row ``i`` a link to ``commit_links[i]`` when there is one."""
    if fmt == "markdown":
        md_rows = [
            [md_cell(cell) for cell in row[:-1]] + [md_cell(one_line(row[-1] or ""))]
            for row in rows
        ]
        for md_row, link in zip(md_rows, commit_links, strict=False):
            if link is not None:
                md_row[1] = f"[{md_row[1]}]({link})"
        return "\n".join(md_table([h.lower() for h in header], md_rows)) + "\n"
    text_rows = [[_cell(cell) for cell in row[:-1]] + [one_line(row[-1] or "")] for row in rows]
    return "\n".join(align([header, *text_rows], keep_first=True)) + "\n"


def render_history(
    entries: Sequence[LedgerEntry],
    fmt: TableFormat,
    *,
    steps: bool = False,
    commit_url: str | None = None,
) -> str:
    """``faas-gitops history``: a table or ``{"entries": [...]}``, in the given order.

    Columns: time, commit, path, environment (once any row has one), step (``steps``),
    status, revision (``from → to`` for a deployment that moved, ``(none) → to`` for a first
    one, the one revision name otherwise), trigger, correlation ID, who signed (once any shown
    sync was verified), error. JSON: ``entry_document`` per row. ``commit_url`` (the
    ``--commit-url`` template) links each commit in markdown and JSON (``commitUrl``).
    """
    if fmt == "json":
        document = {"entries": [entry_document(entry, commit_url) for entry in entries]}
        return json.dumps(document, indent=2, sort_keys=False) + "\n"
    if fmt not in ("text", "markdown"):
        raise ValueError(f"unknown output format {fmt!r}")
    if not entries:
        return "no syncs recorded\n"
    # Who signed the synced commit, once any shown sync was verified (--verify-signatures).
    signed = any(entry.verified_by for entry in entries)
    placed = any(entry.environment for entry in entries)
    header = ["TIME", "COMMIT", "PATH"]
    header += ["ENVIRONMENT"] if placed else []
    header += ["STEP"] if steps else []
    header += ["STATUS", "REVISION", "TRIGGER", "CORRELATION ID"]
    header += ["VERIFIED BY", "ERROR"] if signed else ["ERROR"]
    rows: list[list[str | None]] = [
        [
            table_time(entry.recorded_at),
            entry.commit[:SHORT_COMMIT],
            entry.path,
            *([entry.environment] if placed else []),
            *([entry.step] if steps else []),
            entry.status,
            entry_revisions(entry),
            entry.trigger,
            entry.correlation_id or entry.lookup_correlation_id,
            *([entry.verified_by] if signed else []),
            entry.error,
        ]
        for entry in entries
    ]
    links = [commit_link(commit_url, entry.commit) for entry in entries]
    return _table(header, rows, fmt, commit_links=links)


def render_status(packages: Sequence[PackageStatus], fmt: TableFormat) -> str:
    """``faas-gitops status``: one row per package, by path, from what the state dir knows.

    Columns: path, manifest name, package id, latest revision, status of its last sync, when
    (UTC ISO), correlation ID, then one column per environment once any package has
    deployments, then the error. An environment's cell names the revision that runs there
    (``-``: nothing does), then the last attempt when it was not a plain success
    (``v1.3.0 (frozen: v1.4.0)``, ``v1.3.0 (held: v1.4.0)``, ``- (failed: v1.4.0)``). The
    notes of those attempts (why frozen, held, skipped, orphaned) follow the table, one line
    each (``note: path on production: frozen in faas-gitops.yaml``), so the table stays one
    line per package. JSON: ``status_document``.
    """
    if fmt == "json":
        return json.dumps(status_document(packages), indent=2, sort_keys=False) + "\n"
    if fmt not in ("text", "markdown"):
        raise ValueError(f"unknown output format {fmt!r}")
    if not packages:
        return "no packages recorded\n"
    ordered = sorted(packages, key=lambda p: p.path)
    environments = sorted({d.environment for p in ordered for d in p.deployments})
    header = ["PATH", "NAME", "PACKAGE ID", "REVISION", "STATUS", "LAST SYNC", "CORRELATION ID"]
    header += [printable(env).upper() for env in environments] + ["ERROR"]
    rows: list[list[str | None]] = []
    for package in ordered:
        running = {d.environment: running_cell(d) for d in package.deployments}
        rows.append(
            [
                package.path,
                package.name,
                package.package_id,
                package.revision_name,
                package.status,
                iso(package.synced_at) if package.synced_at else None,
                package.correlation_id,
                *(running.get(env) for env in environments),
                package.error,
            ]
        )
    return _table(header, rows, fmt) + _status_notes(ordered, fmt)


def _status_notes(packages: Sequence[PackageStatus], fmt: TableFormat) -> str:
    """The notes of every environment's last attempt, by path then environment."""
    notes = [
        (package.path, deployment.environment, deployment.note)
        for package in packages
        for deployment in sorted_deployments(package.deployments)
        if deployment.note
    ]
    if not notes:
        return ""
    if fmt == "markdown":
        items = [
            f"- {md_cell(path)} on {md_cell(env)}: {md_cell(note)}" for path, env, note in notes
        ]
        return "\n" + "\n".join(["**Notes**", "", *items]) + "\n"
    lines = [
        f"note: {printable(path)} on {printable(env)}: {one_line(note)}"
        for path, env, note in notes
    ]
    return "\n".join(lines) + "\n"

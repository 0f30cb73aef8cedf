"""The page of one package (``GET /packages/<path>``): what it is, what runs where since when,
its revisions, its deployments per environment with every step's correlation ID, and the
pending diff when git differs from its latest revision.

``<path>`` is hostile input: it is only ever compared with the paths the ledger knows (an
unknown one is a 404; nothing reads a file by it), and it is escaped wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from faas_gitops.daemon.page.html import MUTED_DASH, ago, code, commit, e, pill
from faas_gitops.daemon.page.model import BAD_STATES, Cell
from faas_gitops.daemon.page.plans import PendingPlan
from faas_gitops.daemon.page.render import environment_cell
from faas_gitops.daemon.page.shell import document
from faas_gitops.records import PackageStatus
from faas_gitops.state.release_reads import DeploymentRecord, RevisionRecord


@dataclass(frozen=True, slots=True)
class PackagePage:
    """Everything the package page shows, read at one moment."""

    package: PackageStatus
    cells: dict[str, Cell]
    revisions: Sequence[RevisionRecord]  # newest first
    deployments: Sequence[DeploymentRecord]  # newest first
    plan: PendingPlan | None
    commit_url: str | None = None


#: Looks a package up by its exact path; ``None``: no such package (a 404).
PackageProvider = Callable[[str], "PackagePage | None"]


def _about(page: PackagePage, now: datetime) -> str:
    p = page.package
    rows = [
        ("Path", f"<code>{e(p.path)}</code>"),
        ("Manifest name", e(p.name) if p.name else MUTED_DASH),
        ("Package ID", code(p.package_id)),
        ("Latest revision", f"{code(p.revision_name)} {code(p.revision_id)}"),
        ("Last sync", f"{pill(p.status, bad=p.status == 'failed')} {ago(p.synced_at, now)}"),
        ("Commit", commit(p.commit, page.commit_url)),
        ("Last write", code(p.correlation_id)),
    ]
    if p.error:
        rows.append(("Error", f'<span class="error">{e(p.error)}</span>'))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="kv" id="about">{body}</dl>'


def _failing(cell: Cell) -> str:
    return " class=failing" if cell.state in BAD_STATES else ""


def _running(page: PackagePage, now: datetime) -> str:
    rows = "".join(
        f'<tr role="row" data-environment="{e(env)}"{_failing(c)}>'
        f'<th scope="row" role="rowheader">{e(env)} <span class="sub">keyset '
        f"<code>{e(c.last.keyset_id)}</code></span></th>"
        f'<td role="cell" data-label="What runs">{environment_cell(c, now)}</td></tr>'
        for env, c in sorted(page.cells.items())
    )
    if not rows:
        rows = '<tr><td colspan="2" class="muted">Not deployed on any environment.</td></tr>'
    return (
        '<section aria-labelledby="h-running"><h2 id="h-running">What runs where</h2>'
        '<table id="running" class="stack" role="table"><thead role="rowgroup"><tr role="row">'
        '<th scope="col" role="columnheader" class="envcol">Environment</th>'
        '<th scope="col" role="columnheader">What runs, and whether git wants it</th></tr>'
        f'</thead><tbody role="rowgroup">{rows}</tbody></table></section>'
    )


def _plan(page: PackagePage) -> str:
    plan = page.plan
    if plan is None:
        return ""
    changed = ", ".join(f"{e(name)} ({e(kind)})" for name, kind in plan.functions)
    more = '<p class="muted">… cut here (the diff is longer)</p>' if plan.truncated else ""
    return (
        '<section aria-labelledby="h-plan"><h2 id="h-plan">Pending change '
        f'<span class="count">git at {commit(plan.commit, page.commit_url)} differs from the '
        f"latest revision ({e(plan.status)})</span></h2><p>{changed}</p>"
        f'<pre id="diff">{e(chr(10).join(plan.lines))}</pre>{more}</section>'
    )


def _revisions(page: PackagePage, now: datetime) -> str:
    rows = (
        "".join(
            f'<tr role="row"><td role="cell" data-label="Revision">{code(r.name)}</td>'
            f'<td role="cell" data-label="Commit">{commit(r.commit, page.commit_url)}</td>'
            f'<td role="cell" data-label="Made by">{e(r.made_by)}</td>'
            f'<td role="cell" data-label="When">{ago(r.at, now)}</td></tr>'
            for r in page.revisions
        )
        or '<tr><td colspan="4" class="muted">No revision recorded.</td></tr>'
    )
    head = "".join(
        f'<th scope="col" role="columnheader">{h}</th>'
        for h in ("Revision", "Commit", "Made by", "When")
    )
    return (
        '<section aria-labelledby="h-revisions"><h2 id="h-revisions">Revisions '
        '<span class="count">newest first</span></h2>'
        f'<table id="revisions" class="stack" role="table"><thead role="rowgroup"><tr>{head}'
        f'</tr></thead><tbody role="rowgroup">{rows}</tbody></table></section>'
    )


def _steps(record: DeploymentRecord) -> str:
    items = [f"<li>{e(s.step)} {e(s.status)} {code(s.correlation_id)}</li>" for s in record.steps]
    return f'<ul class="steps">{"".join(items)}</ul>' if items else MUTED_DASH


def _deployments(page: PackagePage, now: datetime) -> str:
    by_env = sorted(page.deployments, key=lambda d: d.environment)
    sections = []
    head = "".join(
        f'<th scope="col" role="columnheader">{h}</th>'
        for h in ("When", "From → to", "Status", "Trigger", "Commit", "Steps (correlation IDs)")
    )
    for env, records in groupby(by_env, key=lambda d: d.environment):
        rows = []
        for d in records:  # newest first, as read
            moved = f"{code(d.from_revision)} → {code(d.to_revision)}"
            status = pill(d.status, bad=d.status == "failed")
            if d.note:
                status += f' <span class="note">{e(d.note)}</span>'
            if d.error:
                status += f'<div class="error">{e(d.error)}</div>'
            cells = [
                ("When", ago(d.at, now)), ("From → to", moved), ("Status", status),
                ("Trigger", e(d.trigger)), ("Commit", commit(d.commit, page.commit_url)),
                ("Steps", _steps(d)),
            ]  # fmt: skip
            tds = "".join(f'<td role="cell" data-label="{k}">{v}</td>' for k, v in cells)
            rows.append(f'<tr role="row">{tds}</tr>')
        sections.append(
            f'<h3>{e(env)}</h3><table class="stack deployments" data-environment="{e(env)}" '
            f'role="table"><thead role="rowgroup"><tr>{head}</tr></thead>'
            f'<tbody role="rowgroup">{"".join(rows)}</tbody></table>'
        )
    body = "".join(sections) or '<p class="muted">No deployment recorded.</p>'
    return (
        '<section aria-labelledby="h-deployments"><h2 id="h-deployments">Deployments '
        f'<span class="count">per environment, newest first</span></h2>{body}</section>'
    )


def render_package_page(page: PackagePage, nonce: str, now: datetime | None = None) -> str:
    """The whole package page; ``nonce`` must be the one in this response's CSP header."""
    now = now or datetime.now(UTC)
    p = page.package
    top = f'<h1>{e(p.path)}</h1><a href="/">← all packages</a>'
    main = (
        f'<main id="package" data-path="{e(p.path)}">{_about(page, now)}{_running(page, now)}'
        f"{_plan(page)}{_revisions(page, now)}{_deployments(page, now)}</main>"
    )
    return document(f"{p.path} · faas-gitops", nonce, top, main)


__all__ = ["PackagePage", "PackageProvider", "render_package_page"]

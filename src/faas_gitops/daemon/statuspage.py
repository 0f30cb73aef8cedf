"""The status page (``GET /``) and its JSON twin (``GET /api/status``), rendered on the server.

One HTML document with its CSS and a few lines of JS inline: no build step, no CDN, no web
fonts, so it works offline and under a strict Content-Security-Policy (``default-src 'none'``;
the one ``<style>`` and ``<script>`` carry a per-response nonce). The script re-fetches the page
every few seconds (``GET /?part=main``: the ``<main>`` element alone, parsed inert in a
``<template>``) and swaps it in place; it never posts anything: the page
only reads. Every value that came from git or the API (paths, names, errors) is HTML-escaped,
and no value holds a secret: the snapshot carries no API key, webhook secret or URL.

``GET /api/status`` returns ``snapshot_document()``, camelCase::

    {
      "commit": "<sha of the last sync>" | null,   "ref": "main" | null,
      "lastSync": {"at": "<ISO 8601 UTC>" | null, "ok": true | false | null,
                   "error": "<one line>" | null},
      "ready": true | false,   "readyReason": "ok" | "<why not>",   "syncing": true | false,
      "environments": ["production", ...],        # one per environment any package runs on
      "packages": [{"path", "name", "packageId", "revisionName", "revisionId",
                    "status": "created|adopted|unchanged|would-create|promoted|
                              rolled-back|removed|failed",
                    "syncedAt", "commit", "correlationId", "error",
                    "deployments": [{"environment", "keysetId", "status", "revisionName",
                                     "revisionId", "deploymentId", "previousDeploymentId",
                                     "correlationId", "error",
                                     "running": "<revision that runs there>" | null,
                                     "note", "pinned"}]}],
      "syncs": [{"id", "commit", "ref", "trigger", "dryRun", "startedAt", "finishedAt",
                 "counts": {"created": 0, "unchanged": 4, "failed": 0, "total": 4, ...},
                 "fatalError"}]                 # newest first, at most 50
    }
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from faas_gitops.daemon.statuspage_assets import SCRIPT, STYLE
from faas_gitops.models import DeploymentOutcome, DeployStatus, PackageStatus, SyncSummary
from faas_gitops.report.deployments import deployment_document

#: Syncs listed under the packages.
SYNCS_SHOWN = 50
#: Seconds between the page's own refreshes.
REFRESH_S = 5
#: Statuses shown as a failure (red, and the word itself, never colour alone).
FAILED = frozenset({"failed", "deploy-failed"})


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the status page shows, read at one moment; no secrets, no URLs."""

    commit: str | None  # of the last sync, whatever its result
    ref: str | None
    last_sync_at: datetime | None
    last_sync_ok: bool | None  # None: no sync has finished yet
    last_error: str | None
    ready: bool
    ready_reason: str
    syncing: bool
    packages: Sequence[PackageStatus]
    syncs: Sequence[SyncSummary]

    @property
    def environments(self) -> list[str]:
        return sorted({d.environment for p in self.packages for d in p.deployments})


#: What the daemon hands ``create_app``: called once per page or API request, in a thread.
StatusProvider = Callable[[], StatusSnapshot]


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    """Nothing but our own inline style and script (by nonce) and fetches of this origin."""
    return (
        "default-src 'none'; "
        f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


# ----------------------------------------------------------------------------------- JSON
def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def snapshot_document(snapshot: StatusSnapshot) -> dict[str, Any]:
    """The ``/api/status`` body (shape in the module docstring)."""
    return {
        "commit": snapshot.commit,
        "ref": snapshot.ref,
        "lastSync": {
            "at": _iso(snapshot.last_sync_at),
            "ok": snapshot.last_sync_ok,
            "error": snapshot.last_error,
        },
        "ready": snapshot.ready,
        "readyReason": snapshot.ready_reason,
        "syncing": snapshot.syncing,
        "environments": snapshot.environments,
        "packages": [
            {
                "path": p.path,
                "name": p.name,
                "packageId": p.package_id,
                "revisionName": p.revision_name,
                "revisionId": p.revision_id,
                "status": p.status,
                "syncedAt": _iso(p.synced_at),
                "commit": p.commit,
                "correlationId": p.correlation_id,
                "error": p.error,
                "deployments": [deployment_document(d) for d in p.deployments],
            }
            for p in snapshot.packages
        ],
        "syncs": [
            {
                "id": s.id,
                "commit": s.commit,
                "ref": s.ref,
                "trigger": s.trigger,
                "dryRun": s.dry_run,
                "startedAt": _iso(s.started_at),
                "finishedAt": _iso(s.finished_at),
                "counts": dict(s.counts),
                "fatalError": s.fatal_error,
            }
            for s in list(snapshot.syncs)[:SYNCS_SHOWN]
        ],
    }


# ----------------------------------------------------------------------------------- HTML
def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return '<span class="muted">never</span>'
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        text = f"{seconds} s ago"
    elif seconds < 3600:
        text = f"{seconds // 60} min ago"
    elif seconds < 86400:
        text = f"{seconds // 3600} h ago"
    else:
        text = f"{seconds // 86400} d ago"
    stamp = _iso(moment) or ""
    return f'<time datetime="{_e(stamp)}" title="{_e(stamp)}">{_e(text)}</time>'


def _pill(status: str | None) -> str:
    if not status:
        return '<span class="muted">-</span>'
    kind = "bad" if status in FAILED else status.replace(" ", "-")
    mark = "✕ " if status in FAILED else ""
    return f'<span class="pill pill-{_e(kind)}">{mark}{_e(status)}</span>'


def _failed_count(failed: int) -> str:
    return f'<span class="pill pill-bad">✕ {failed} failed</span>' if failed else "0"


def _code(value: str | None, *, short: int | None = None) -> str:
    if not value:
        return '<span class="muted">-</span>'
    shown = value[:short] if short else value
    return f'<code title="{_e(value)}">{_e(shown)}</code>'


def _header(snapshot: StatusSnapshot, now: datetime) -> str:
    if snapshot.last_sync_ok is None:
        result = '<span class="pill pill-unchanged">no sync yet</span>'
    elif snapshot.last_sync_ok:
        result = '<span class="pill pill-created">✓ succeeded</span>'
    else:
        result = '<span class="pill pill-bad">✕ failed</span>'
    ready = (
        '<span class="pill pill-created">✓ ready</span>'
        if snapshot.ready
        else f'<span class="pill pill-bad">✕ not ready: {_e(snapshot.ready_reason)}</span>'
    )
    syncing = '<span class="pill pill-adopted">syncing…</span>' if snapshot.syncing else ""
    facts = [
        ("Commit", _code(snapshot.commit, short=12)),
        ("Ref", _code(snapshot.ref)),
        ("Last sync", f"{_ago(snapshot.last_sync_at, now)} {result}"),
        ("Readiness", f"{ready} {syncing}"),
    ]
    cells = "".join(f'<div class="fact"><dt>{k}</dt><dd>{v}</dd></div>' for k, v in facts)
    error = ""
    if snapshot.last_error:
        error = f'<p class="banner" role="alert">Last error: {_e(snapshot.last_error)}</p>'
    return f'<dl class="facts">{cells}</dl>{error}'


def _packages(snapshot: StatusSnapshot, now: datetime) -> str:
    environments = snapshot.environments
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Path", "Name", "Package ID", "Revision", "Status", "Synced", "Correlation ID",
            "Error",
        )
    )  # fmt: skip
    head += "".join(f'<th class="env">{_e(env)}</th>' for env in environments)
    rows = []
    for p in snapshot.packages:
        by_env = {d.environment: d for d in p.deployments}
        failing = p.status in FAILED or any(str(d.status) in FAILED for d in p.deployments)
        cells = [
            f'<td class="path">{_e(p.path)}</td>',
            f"<td>{_e(p.name) if p.name else '<span class=muted>-</span>'}</td>",
            f"<td>{_code(p.package_id, short=8)}</td>",
            f"<td>{_code(p.revision_name)}</td>",
            f"<td>{_pill(p.status)}</td>",
            f"<td>{_ago(p.synced_at, now)}</td>",
            f"<td>{_code(p.correlation_id)}</td>",
            f'<td class="error">{_e(p.error)}</td>',
        ]
        for env in environments:
            d = by_env.get(env)
            cell = "" if d is None else _environment_cell(d)
            cells.append(f'<td class="env">{cell or "<span class=muted>-</span>"}</td>')
        row_class = ' class="failing"' if failing else ""
        rows.append(f'<tr{row_class} data-path="{_e(p.path)}">{"".join(cells)}</tr>')
    if not rows:
        span = 8 + len(environments)
        rows.append(f'<tr><td colspan="{span}" class="muted">No package synced yet.</td></tr>')
    failing_count = sum(1 for p in snapshot.packages if p.status in FAILED)
    summary = f"{len(snapshot.packages)} packages"
    if failing_count:
        summary += f', <strong class="bad-text">{failing_count} failing</strong>'
    return (
        f'<section><h2>Packages <span class="count">{summary}</span></h2>'
        f'<div class="scroll"><table id="packages"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _syncs(snapshot: StatusSnapshot, now: datetime) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "#", "Finished", "Commit", "Ref", "Trigger", "Created", "Unchanged", "Failed",
            "Total", "Error",
        )
    )  # fmt: skip
    rows = []
    for s in list(snapshot.syncs)[:SYNCS_SHOWN]:
        failed = s.counts.get("failed", 0)
        failing = bool(failed or s.fatal_error)
        dry = ' <span class="pill pill-would-create">dry run</span>' if s.dry_run else ""
        cells = [
            f"<td>{s.id}</td>",
            f"<td>{_ago(s.finished_at or s.started_at, now)}</td>",
            f"<td>{_code(s.commit, short=12)}</td>",
            f"<td>{_e(s.ref)}</td>",
            f"<td>{_e(s.trigger)}{dry}</td>",
            f'<td class="num">{s.counts.get("created", 0)}</td>',
            f'<td class="num">{s.counts.get("unchanged", 0)}</td>',
            f'<td class="num">{_failed_count(failed)}</td>',
            f'<td class="num">{s.counts.get("total", 0)}</td>',
            f'<td class="error">{_e(s.fatal_error)}</td>',
        ]
        rows.append(f"<tr{' class=failing' if failing else ''}>{''.join(cells)}</tr>")
    if not rows:
        rows.append('<tr><td colspan="10" class="muted">No sync recorded yet.</td></tr>')
    return (
        f'<section><h2>Recent syncs <span class="count">last {SYNCS_SHOWN}</span></h2>'
        f'<div class="scroll"><table id="syncs"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def render_main(snapshot: StatusSnapshot, now: datetime | None = None) -> str:
    """The ``<main>`` element alone: what the page's script fetches to refresh itself."""
    now = now or datetime.now(UTC)
    bad = snapshot.last_sync_ok is False or not snapshot.ready
    title = f"{'✕ ' if bad else ''}faas-gitops status"
    return (
        f'<main id="app" data-state="{"bad" if bad else "good"}" data-title="{_e(title)}" '
        f'data-rendered="{_e(_iso(now))}">'
        f"{_header(snapshot, now)}{_packages(snapshot, now)}{_syncs(snapshot, now)}</main>"
    )


def render_page(snapshot: StatusSnapshot, nonce: str, now: datetime | None = None) -> str:
    """The whole page; ``nonce`` must be the one in this response's CSP header."""
    main = render_main(snapshot, now)
    bad = snapshot.last_sync_ok is False or not snapshot.ready
    title = f"{'✕ ' if bad else ''}faas-gitops status"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no /favicon.ico request
        f"<title>{_e(title)}</title>"
        f'<style nonce="{nonce}">{STYLE}</style></head>'
        f'<body><header class="top"><h1>faas-gitops</h1>'
        f'<span id="live" class="live">refreshes every {REFRESH_S} s</span></header>'
        f"{main}"
        f'<script nonce="{nonce}">const REFRESH_MS = {REFRESH_S * 1000};{SCRIPT}</script>'
        "</body></html>"
    )


__all__ = [
    "REFRESH_S",
    "SYNCS_SHOWN",
    "StatusProvider",
    "StatusSnapshot",
    "content_security_policy",
    "new_nonce",
    "render_main",
    "render_page",
    "snapshot_document",
]


def _environment_cell(d: DeploymentOutcome) -> str:
    """What runs there (as last read from the API), then the last attempt when it was not a
    plain success: ``v1.3.0 frozen → v1.4.0``."""
    running = d.running_revision_name
    cell = _code(running) if running else "<span class=muted>-</span>"
    cell += f" {_pill(str(d.status))}"
    changing = d.status not in (DeployStatus.DEPLOYED, DeployStatus.IN_SYNC)
    if changing and d.revision_name and d.revision_name != running:
        cell += f" → {_code(d.revision_name)}"
    if d.pinned:
        cell += f" {_pill('pinned')}"
    if d.note:
        cell += f' <span class="muted">{_e(d.note)}</span>'
    return cell

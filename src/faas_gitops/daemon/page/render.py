"""The status page's HTML (``GET /``): header, the environment grid, the syncs.

Environment first: one row per package, one column per environment (``<th scope="col">`` with
its keyset and freeze), each cell what runs there and whether git wants it (``model.cell_of``).
What a package row showed before (path, manifest name, latest revision, last correlation ID,
error) sits in the row's header cell on secondary lines, never in columns that are empty for
most rows. The CSS (``assets``) turns the tables into stacked cards on a narrow screen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

from faas_gitops.daemon.page.document import SYNCS_SHOWN
from faas_gitops.daemon.page.html import (
    MUTED_DASH,
    ago,
    clock,
    code,
    commit,
    e,
    iso,
    package_href,
    pill,
)
from faas_gitops.daemon.page.model import (
    BAD_STATES,
    Cell,
    StatusSnapshot,
    SyncRow,
    is_bad,
    sync_rows,
)
from faas_gitops.records import PackageStatus

#: Package statuses drawn as a failure.
FAILED = frozenset({"failed"})


def _fact(label: str, value: str, key: str) -> str:
    return f'<div class="fact" data-fact="{key}"><dt>{e(label)}</dt><dd>{value}</dd></div>'


def header(snapshot: StatusSnapshot, now: datetime) -> str:
    """Ref by name, synced commit vs newest seen, readiness with its reason; one error line."""
    if snapshot.last_sync_ok is None:
        result = pill("no sync yet")
    elif snapshot.last_sync_ok:
        result = '<span class="pill pill-in-sync">✓ succeeded</span>'
    else:
        result = pill("failed", bad=True)
    ready = (
        f'<span class="pill pill-in-sync">✓ ready</span> <span>{e(snapshot.ready_reason)}</span>'
        if snapshot.ready
        else f"{pill('not ready', bad=True)} <span>{e(snapshot.ready_reason)}</span>"
    )
    if snapshot.syncing:
        ready += ' <span class="pill pill-deploying">syncing…</span>'
    link = snapshot.commit_url
    facts = [
        _fact("Ref", code(snapshot.ref) if snapshot.ref else MUTED_DASH, "ref"),
        _fact(
            "Last synced commit",
            f"{commit(snapshot.commit, link)} {ago(snapshot.last_sync_at, now)} {result}",
            "commit",
        ),
    ]
    if waiting := snapshot.waiting:
        if snapshot.last_error:
            why = f"waiting: {e(snapshot.last_error)}"
            if snapshot.failing_since:
                why += f" since {clock(snapshot.failing_since)}"
        else:
            why = "syncing now" if snapshot.syncing else "waiting for the next sync"
        facts.append(_fact("Newest commit", f"{commit(waiting, link)} <span>{why}</span>", "seen"))
    facts.append(_fact("Readiness", ready, "ready"))
    banner = ""
    if snapshot.last_error and snapshot.last_sync_ok is False:
        streak = snapshot.consecutive_failures
        tail = f" ({streak} in a row" if streak > 1 else ""
        if tail and snapshot.failing_since:
            tail += f", since {clock(snapshot.failing_since)}"
        tail += ")" if tail else ""
        banner = (
            f'<p class="banner" role="alert">Last sync failed: {e(snapshot.last_error)}{tail}</p>'
        )
    return f'<dl class="facts">{"".join(facts)}</dl>{banner}'


def _environment_head(snapshot: StatusSnapshot, name: str, now: datetime) -> str:
    facts = snapshot.facts.environments.get(name)
    keysets = sorted(
        {d.keyset_id for p in snapshot.packages for d in p.deployments if d.environment == name}
    )
    keyset = facts.keyset_id if facts else (keysets[0] if keysets else None)
    state = '<span class="pill pill-in-sync">open</span>'
    if facts is not None and facts.frozen_note:
        state = f"{pill('frozen')} since {clock(facts.frozen_since)} · {e(facts.frozen_note)}"
    return (
        f'<th scope="col" class="env" role="columnheader"><span class="env-name">{e(name)}</span>'
        f'<div class="sub">keyset <code>{e(keyset)}</code></div><div class="sub">{state}</div></th>'
    )


def _package_head(snapshot: StatusSnapshot, p: PackageStatus, now: datetime) -> str:
    bad = p.status in FAILED
    name = f' <span class="name">{e(p.name)}</span>' if p.name and p.name != p.path else ""
    parts = [
        f"latest {code(p.revision_name)}",
        pill(p.status, bad=bad),
        f"synced {ago(p.synced_at, now)}",
        f"commit {commit(p.commit, snapshot.commit_url)}",
    ]
    if p.correlation_id:
        parts.append(f"last write {code(p.correlation_id)}")
    error = f'<div class="error">{e(p.error)}</div>' if p.error else ""
    return (
        f'<th scope="row" class="pkg" role="rowheader"><a class="path" '
        f'href="{e(package_href(p.path))}">{e(p.path)}</a>{name}'
        f'<div class="sub">{" · ".join(parts)}</div>{error}</th>'
    )


def environment_cell(cell: Cell | None, now: datetime) -> str:
    """``v1.3.0 frozen → v1.4.0 <note>``, then "since" on a secondary line."""
    if cell is None:
        return MUTED_DASH
    line = f"{code(cell.running) if cell.running else MUTED_DASH} "
    line += pill(cell.state, bad=cell.state in BAD_STATES)
    if cell.target:
        line += f" → {code(cell.target)}"
    if cell.last.pinned and cell.state != "pinned":
        line += f" {pill('pinned')}"
    if cell.last.note:
        line += f' <span class="note">{e(cell.last.note)}</span>'
    sub = [f"since {ago(cell.since, now, never='before the oldest record')}"]
    if cell.last.correlation_id:
        sub.append(f"last write {code(cell.last.correlation_id)}")
    error = f'<div class="error">{e(cell.last.error)}</div>' if cell.last.error else ""
    return f'<div class="line">{line}</div>{error}<div class="sub">{" · ".join(sub)}</div>'


def packages(snapshot: StatusSnapshot, now: datetime) -> str:
    environments = snapshot.environments
    head = '<th scope="col" class="pkg" role="columnheader">Package</th>' + "".join(
        _environment_head(snapshot, env, now) for env in environments
    )
    rows = []
    tally: Counter[str] = Counter()
    for p in snapshot.packages:
        cells = snapshot.cells(p)
        tally.update(cell.state for cell in cells.values())
        failing = p.status in FAILED or any(c.state in BAD_STATES for c in cells.values())
        tds = "".join(
            f'<td class="env" role="cell" data-label="{e(env)}" data-state="'
            f'{e(cells[env].state if env in cells else "")}">'
            f"{environment_cell(cells.get(env), now)}</td>"
            for env in environments
        )
        row_class = ' class="failing"' if failing else ""
        rows.append(
            f'<tr{row_class} role="row" data-path="{e(p.path)}">'
            f"{_package_head(snapshot, p, now)}{tds}</tr>"
        )
    if not rows:
        span = 1 + len(environments)
        rows.append(f'<tr><td colspan="{span}" class="muted">No package synced yet.</td></tr>')
    failing_count = sum(1 for p in snapshot.packages if p.status in FAILED)
    summary = [f"{len(snapshot.packages)} packages", f"{len(environments)} environments"]
    if failing_count:
        summary.append(f'<strong class="bad-text">{failing_count} package(s) failing</strong>')
    summary += [f"{n} {e(state)}" for state, n in sorted(tally.items()) if state != "in sync"]
    return (
        f'<section aria-labelledby="h-packages"><h2 id="h-packages">What runs where '
        f'<span class="count">{" · ".join(summary)}</span></h2>'
        f'<table id="packages" class="grid stack" role="table">'
        f'<caption class="sr-only">Per package, what runs on each environment</caption>'
        f'<thead role="rowgroup"><tr role="row">{head}</tr></thead>'
        f'<tbody role="rowgroup">{"".join(rows)}</tbody></table></section>'
    )


def _counts(items: Mapping[str, int], *, order: tuple[str, ...]) -> str:
    shown = [f"{items[k]} {e(k)}" for k in order if items.get(k)]
    shown += [f"{v} {e(k)}" for k, v in sorted(items.items()) if v and k not in order]
    return " · ".join(shown) if shown else MUTED_DASH


_REVISION_ORDER = ("created", "adopted", "would-create", "failed", "unchanged")


def _sync_row(row: SyncRow, snapshot: StatusSnapshot, now: datetime) -> str:
    failed = row.counts.get("failed", 0) + row.deployments.get("failed", 0)
    failing = bool(failed or row.error)
    if row.kind == "failed-tick":
        result = f"{pill('stopped before running', bad=True)} {e(row.error)}"
    elif row.error:
        result = f"{pill('failed', bad=True)} {e(row.error)}"
    elif not row.finished:
        result = pill("running or killed")
    elif failed:
        result = pill(f"{failed} failed", bad=True)
    else:
        result = '<span class="pill pill-in-sync">✓ ok</span>'
    dry = f" {pill('dry run')}" if row.dry_run else ""
    revisions = {k: v for k, v in row.counts.items() if k != "total"}
    cells = [
        ("When", ago(row.at, now)),
        ("Commit", commit(row.commit, snapshot.commit_url)),
        ("Ref", code(row.ref)),
        ("Trigger", f"{e(row.trigger)}{dry}"),
        ("Revisions", _counts(revisions, order=_REVISION_ORDER)),
        ("Deployments", _counts(row.deployments, order=("deployed", "failed"))),
        ("Result", result),
    ]
    tds = "".join(f'<td role="cell" data-label="{label}">{value}</td>' for label, value in cells)
    kind = f' data-kind="{row.kind}"'
    return f'<tr role="row"{" class=failing" if failing else ""}{kind}>{tds}</tr>'


def syncs(snapshot: StatusSnapshot, now: datetime) -> str:
    head = "".join(
        f'<th scope="col" role="columnheader">{h}</th>'
        for h in ("When", "Commit", "Ref", "Trigger", "Revisions", "Deployments", "Result")
    )
    rows = [_sync_row(row, snapshot, now) for row in sync_rows(snapshot, SYNCS_SHOWN)]
    if not rows:
        rows.append('<tr><td colspan="7" class="muted">No sync recorded yet.</td></tr>')
    return (
        f'<section aria-labelledby="h-syncs"><h2 id="h-syncs">Syncs '
        f'<span class="count">newest {SYNCS_SHOWN}</span></h2>'
        f'<table id="syncs" class="list stack" role="table">'
        f'<thead role="rowgroup"><tr role="row">{head}</tr></thead>'
        f'<tbody role="rowgroup">{"".join(rows)}</tbody></table></section>'
    )


def render_main(snapshot: StatusSnapshot, now: datetime | None = None) -> str:
    """The ``<main>`` element alone: what the page's script swaps in when the data changed."""
    now = now or datetime.now(UTC)
    bad = is_bad(snapshot)
    title = f"{'✕ ' if bad else ''}faas-gitops status"
    return (
        f'<main id="app" data-state="{"bad" if bad else "good"}" data-title="{e(title)}" '
        f'data-rendered="{e(iso(now))}">'
        f"{header(snapshot, now)}{packages(snapshot, now)}{syncs(snapshot, now)}</main>"
    )


__all__ = ["environment_cell", "header", "packages", "render_main", "syncs"]

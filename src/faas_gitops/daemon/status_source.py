"""Where the daemon's status pages get their rows: the ledger's own queries, on each request.

Packages are those of the newest finished sync (and any running one), each with its newest
outcome; the revision is the newest one it was in sync with, so a failed sync does not hide
what the API holds (``HistoryQueries.package_statuses``). Since when, deploying, environments,
deployment counts and package histories come from ``state.release_reads``; syncs that stopped
before running from ``state.ticks``. Everything is read-only (``Ledger.open_readonly``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from faas_gitops.daemon.page.model import cells_of
from faas_gitops.daemon.page.package import PackagePage
from faas_gitops.daemon.page.plans import PendingPlans
from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.statuspage import SYNCS_SHOWN, StatusSnapshot
from faas_gitops.logs import redact
from faas_gitops.records import PackageStatus, SyncSummary
from faas_gitops.state import LEDGER_FILENAME, Ledger
from faas_gitops.state.release_reads import (
    ReleaseFacts,
    deployment_counts,
    package_deployments,
    package_revisions,
    release_facts,
)
from faas_gitops.state.ticks import FailedTick, failed_ticks

#: What a ledger's ``ref`` says when the sync knew no name (a detached checkout).
UNNAMED_REF = "HEAD"


@dataclass(frozen=True, slots=True)
class PageSources:
    """What every status page reads and names things by: the state dir whose ledger it reads,
    the manifest names by package path (the ledger may not have them) and the commit link
    template (``--commit-url``)."""

    state_dir: Path
    names: Mapping[str, str] | None = None
    commit_url: str | None = None


def ledger_status(
    sources: PageSources,
    state: LoopState,
    *,
    ref: str | None = None,
    seen_commit: str | None = None,
    failing_since: datetime | None = None,
) -> StatusSnapshot:
    """The snapshot from ``<state_dir>/ledger.sqlite3`` plus the loop's own state.

    ``ref`` is the name shown when the ledger recorded none (``HEAD``): the daemon's ``--ref``
    or the branch it found HEAD on.
    """
    state_dir, names = sources.state_dir, sources.names
    packages: list[PackageStatus] = []
    syncs: list[SyncSummary] = []
    facts = ReleaseFacts()
    counts: dict[int, dict[str, int]] = {}
    ticks: list[FailedTick] = []
    if (state_dir / LEDGER_FILENAME).exists():
        with Ledger.open_readonly(state_dir) as ledger:
            packages = ledger.package_statuses()
            syncs = ledger.recent_syncs(SYNCS_SHOWN)
            facts = release_facts(ledger)
            counts = deployment_counts(ledger, [s.id for s in syncs])
            ticks = failed_ticks(ledger, SYNCS_SHOWN)
    if names:
        packages = [replace(p, name=p.name or names.get(p.path)) for p in packages]
    ready, reason = state.readiness()
    newest = syncs[0] if syncs else None
    if state.consecutive_failures:
        last_ok: bool | None = False
    elif newest is not None:
        last_ok = not (newest.counts.get("failed") or newest.fatal_error)
    else:
        last_ok = None
    recorded = newest.ref if newest else None
    return StatusSnapshot(
        commit=newest.commit if newest else state.commit,
        ref=recorded if recorded and recorded != UNNAMED_REF else (ref or recorded),
        last_sync_at=(newest.finished_at or newest.started_at) if newest else None,
        last_sync_ok=last_ok,
        last_error=_clean(state.last_error),
        ready=ready,
        ready_reason=reason,
        syncing=state.sync_started is not None,
        packages=packages,
        syncs=syncs,
        seen_commit=seen_commit,
        failing_since=failing_since if state.consecutive_failures else None,
        consecutive_failures=state.consecutive_failures,
        facts=facts,
        sync_deployments=counts,
        failed_ticks=ticks,
        commit_url=sources.commit_url,
    )


def ledger_package(
    sources: PageSources, path: str, *, plans: PendingPlans | None = None
) -> PackagePage | None:
    """The package page of exactly ``path`` (a path the ledger knows), or ``None`` (a 404)."""
    state_dir, names = sources.state_dir, sources.names
    if not (state_dir / LEDGER_FILENAME).exists():
        return None
    with Ledger.open_readonly(state_dir) as ledger:
        found = next((p for p in ledger.package_statuses() if p.path == path), None)
        if found is None:
            return None
        facts = release_facts(ledger)
        revisions = package_revisions(ledger, path)
        deployments = package_deployments(ledger, path)
    if names and not found.name:
        found = replace(found, name=names.get(path))
    return PackagePage(
        package=found,
        cells=cells_of(found, facts),
        revisions=revisions,
        deployments=deployments,
        plan=plans.get(path) if plans is not None else None,
        commit_url=sources.commit_url,
    )


def _clean(text: str | None) -> str | None:
    """Errors as the logs show them: with any registered secret (the API key) redacted."""
    return None if text is None else redact(text)

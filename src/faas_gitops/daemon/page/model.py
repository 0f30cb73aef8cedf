"""What the status page shows, as data: one snapshot read at one moment, and the per-cell truth.

The page is environment first: per environment (a column) per package a ``Cell`` saying what
runs there (the revision as last read from the API, never the wish), whether that is what git
wants, in one of ``STATES``, since when, and a pending change as from -> to. ``cell_of`` is the
one place that decides the word, so the HTML, ``/api/status`` and the tests agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.records import PackageStatus, SyncSummary
from faas_gitops.state.release_reads import ReleaseFacts
from faas_gitops.state.ticks import FailedTick

#: Every word a cell can say, in the order a person scans for trouble.
STATES = (
    "failed", "deploying", "frozen", "held", "orphaned", "out of sync", "pinned", "in sync",
)  # fmt: skip
#: States drawn as a failure (red, a ✕ and the word: never colour alone).
BAD_STATES = frozenset({"failed"})
_BY_STATUS = {
    DeployStatus.FAILED: "failed",
    DeployStatus.FROZEN: "frozen",
    DeployStatus.HELD: "held",
    DeployStatus.ORPHANED: "orphaned",
    DeployStatus.WOULD_PRUNE: "orphaned",
    DeployStatus.PRUNED: "orphaned",
    DeployStatus.WOULD_DEPLOY: "out of sync",
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One package on one environment, as a person should read it: the word and what is
    pending, beside the ledger's last attempt there (``last``: its note, pin, keyset, last
    write's correlation ID and error are shown as recorded)."""

    last: DeploymentOutcome
    state: str  # one of STATES
    running: str | None  # the revision that runs there, as last read from the API
    target: str | None  # a pending change's "to" (None: nothing pending)
    since: datetime | None  # when this state began (as far as the ledger reaches back)


def cell_of(d: DeploymentOutcome, *, deploying: bool, since: datetime | None) -> Cell:
    """The word for ``d`` (see ``STATES``); ``deploying`` wins while a sync is writing there."""
    running = d.running_revision_name
    if deploying:
        state = "deploying"
    elif d.status in _BY_STATUS:
        state = _BY_STATUS[d.status]
    elif d.status is DeployStatus.SKIPPED:
        state = "pinned" if d.pinned else "out of sync"
    else:  # deployed, in-sync
        state = "pinned" if d.pinned else "in sync"
    pending = state in ("deploying", "failed", "frozen", "held", "out of sync")
    target = d.revision_name if pending and d.revision_name != running else None
    return Cell(last=d, state=state, running=running, target=target, since=since)


def cells_of(package: PackageStatus, facts: ReleaseFacts) -> dict[str, Cell]:
    """Per environment, the package's cell."""
    return {
        d.environment: cell_of(
            d,
            deploying=(package.path, d.environment) in facts.deploying,
            since=facts.since.get((package.path, d.environment)),
        )
        for d in package.deployments
    }


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the status page shows, read at one moment; no secrets, no API URLs.

    ``commit``/``ref``: the last sync's; ``seen_commit``: the newest commit the daemon resolved
    (it differs from ``commit`` while a commit waits); ``failing_since``: when the current run
    of failures began. ``facts`` come from the ledger's deployment rows (since when, deploying,
    each environment's keyset and freeze).
    """

    commit: str | None
    ref: str | None
    last_sync_at: datetime | None
    last_sync_ok: bool | None  # None: no sync has finished yet
    last_error: str | None
    ready: bool
    ready_reason: str
    syncing: bool
    packages: Sequence[PackageStatus]
    syncs: Sequence[SyncSummary]
    seen_commit: str | None = None
    failing_since: datetime | None = None
    consecutive_failures: int = 0
    facts: ReleaseFacts = field(default_factory=ReleaseFacts)
    sync_deployments: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    failed_ticks: Sequence[FailedTick] = ()
    commit_url: str | None = None

    @property
    def environments(self) -> list[str]:
        return sorted({d.environment for p in self.packages for d in p.deployments})

    def cells(self, package: PackageStatus) -> dict[str, Cell]:
        """Per environment, the package's cell."""
        return cells_of(package, self.facts)

    @property
    def waiting(self) -> str | None:
        """The newest commit seen when it is not the one last synced (it waits for a sync)."""
        if self.seen_commit and self.seen_commit != self.commit:
            return self.seen_commit
        return None


#: What the daemon hands ``create_app``: called once per page or API request, in a thread.
StatusProvider = Callable[[], StatusSnapshot]


@dataclass(frozen=True, slots=True)
class SyncRow:
    """One line of the page's "Syncs": a recorded sync, or a tick that stopped before running."""

    kind: str  # "sync" | "failed-tick"
    at: datetime
    commit: str | None
    ref: str
    trigger: str
    dry_run: bool
    counts: Mapping[str, int]
    deployments: Mapping[str, int]
    error: str | None
    sync_id: int | None
    finished: bool


def sync_rows(snapshot: StatusSnapshot, limit: int) -> list[SyncRow]:
    """Syncs and failed ticks merged, newest first, at most ``limit``."""
    rows = [
        SyncRow(
            "sync", s.finished_at or s.started_at, s.commit, s.ref, s.trigger, s.dry_run,
            s.counts, snapshot.sync_deployments.get(s.id, {}), s.fatal_error, s.id,
            s.finished_at is not None,
        )
        for s in snapshot.syncs
    ] + [
        SyncRow(
            "failed-tick", t.at, t.commit, t.ref, t.trigger, False, {}, {}, t.error, None, True
        )
        for t in snapshot.failed_ticks
    ]  # fmt: skip
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows[:limit]


def is_bad(snapshot: StatusSnapshot) -> bool:
    return snapshot.last_sync_ok is False or not snapshot.ready


__all__ = [
    "BAD_STATES",
    "STATES",
    "Cell",
    "StatusProvider",
    "StatusSnapshot",
    "SyncRow",
    "cell_of",
    "cells_of",
    "is_bad",
    "sync_rows",
]

"""``history``'s one question of the ledger: what happened, newest sync first, a page at a time.

A row is either a package's revision outcome in a sync (``outcomes``) or a deployment row
(``deployments``): its ``result`` on one environment, and with ``steps`` every write and poll
that led there (``create``, ``start``, ``rolling-update``, ``stop``, ``running``, ``hold``,
``release``), each with the correlation ID of its answer.

The ledger of a daemon grows by a sync every few minutes, so nothing here reads it whole: syncs
are walked newest first by primary key in growing batches, and only the rows of those syncs are
read (``outcomes_by_sync``, ``deployments_by_sync``), until the page is full. By default, syncs
in which nothing happened are skipped by their counters and one indexed probe each, without
reading their rows. Only ``--correlation-id`` reads every row: no index holds correlation IDs,
and a lookup that answers once is worth a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from faas_gitops.models import NO_NEW_REVISION, DeployStatus
from faas_gitops.state.db import from_utc_text, text_or_none, to_utc_text
from faas_gitops.state.reads import Reads

#: Revision outcomes that made nothing: hidden by default (``--all`` shows them).
QUIET_REVISIONS: tuple[str, ...] = tuple(sorted(status.value for status in NO_NEW_REVISION))
#: Deployment results that changed nothing there: hidden by default (``--all`` shows them).
QUIET_DEPLOYMENTS: tuple[str, ...] = tuple(
    status.value
    for status in (
        DeployStatus.IN_SYNC,
        DeployStatus.FROZEN,
        DeployStatus.HELD,
        DeployStatus.SKIPPED,
        DeployStatus.ORPHANED,
    )
)
#: The deployment results that changed something (or would have, in a dry run), or failed.
_LOUD_DEPLOYMENTS = tuple(s.value for s in DeployStatus if s.value not in QUIET_DEPLOYMENTS)

#: A revision outcome's ``step``; a deployment's final row is ``result``.
REVISION_STEP = "revision"
RESULT_STEP = "result"

# A sync with a row to show by default: something was created, adopted, planned or failed, it
# never finished (its rows may be pending), or a deployment changed something.
_LOUD_STATUSES = ", ".join(f"'{status}'" for status in _LOUD_DEPLOYMENTS)
_LOUD_SYNC = (
    "(s.completed = 0 OR s.created > 0 OR s.adopted > 0 OR s.failed > 0 OR s.would_create > 0"  # noqa: S608 - constant statuses
    " OR s.fatal_error IS NOT NULL OR EXISTS (SELECT 1 FROM deployments AS d"
    " WHERE d.sync_id = s.id AND d.step = 'result'"
    f" AND d.status IN ({_LOUD_STATUSES})))"
)
_SYNC_COLUMNS = (
    "s.id, s.finished_at, s.commit_sha, s.ref, s.trigger_name, s.completed, s.verified_by,"
    " s.started_at"
)
_OUTCOME_COLUMNS = (
    "o.id, o.sync_id, o.path, o.package_id, o.status, o.revision_name, o.revision_id,"
    " o.correlation_id, o.error, o.name, o.lookup_correlation_id"
)
_DEPLOYMENT_COLUMNS = (
    "d.id, d.sync_id, d.path, d.package_id, d.status, d.revision_name, d.revision_id,"
    " d.correlation_id, d.error, d.environment, d.keyset_id, d.step, d.previous_revision_name,"
    " d.note, d.recorded_at"
)
#: The first batch of syncs read; each next one doubles, up to the last.
_FIRST_BATCH = 32
_LAST_BATCH = 2048


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of ``history``: a package's revision outcome in one sync, or one deployment row.

    ``recorded_at`` is when that sync finished (UTC; its start while it runs or if it was
    killed, then ``complete`` is false); a deployment step's is the moment of the step itself.
    ``trigger`` says what started the sync. ``kind`` is ``revision`` or ``deployment``;
    ``step`` is ``revision`` for a revision outcome, ``result`` for a deployment's outcome on
    ``environment``, or the step's name. ``previous_revision_name`` names what ran on the
    environment before (a deployment's "from"); ``revision_name`` what it wanted (its "to").
    """

    id: int
    recorded_at: datetime
    commit: str
    ref: str
    path: str
    package_id: str | None
    status: str
    revision_name: str | None
    revision_id: str | None
    correlation_id: str | None
    error: str | None
    trigger: str
    name: str | None = None
    lookup_correlation_id: str | None = None
    environment: str | None = None
    complete: bool = True
    verified_by: str | None = None  # the signing key's fingerprint (--verify-signatures)
    kind: str = "revision"
    step: str = REVISION_STEP
    keyset_id: int | None = None
    previous_revision_name: str | None = None
    note: str | None = None
    sync_id: int = field(default=0, compare=False)  # history's order, not the row's identity


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What ``history`` asks: every field narrows, ``None``/empty means "any".

    ``include_quiet`` keeps the rows that changed nothing (``--all``); ``statuses`` given name
    the statuses wanted, quiet or not. ``steps`` adds every deployment step. ``environment``
    keeps only deployment rows of that environment.
    """

    package: str | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    environment: str | None = None
    include_quiet: bool = True
    steps: bool = False
    limit: int = 50


@dataclass(frozen=True, slots=True)
class _Sync:
    """The fields every row of one sync shares."""

    id: int
    recorded_at: datetime
    commit: str
    ref: str
    trigger: str
    complete: bool
    verified_by: str | None
    started_at: datetime

    @classmethod
    def of(cls, row: tuple[object, ...]) -> _Sync:
        sync_id, finished, commit, ref, trigger, completed, verified, started = row
        return cls(
            id=int(str(sync_id)),
            recorded_at=from_utc_text(str(finished)),
            commit=str(commit),
            ref=str(ref),
            trigger=str(trigger),
            complete=bool(completed),
            verified_by=text_or_none(verified),
            started_at=from_utc_text(str(started)),
        )


Syncs = dict[int, _Sync]


class Timeline(Reads):
    """The paged reads behind ``history`` over one open connection and its lock."""

    def page(self, wanted: HistoryFilter) -> list[LedgerEntry]:
        """The newest ``wanted.limit`` rows, newest sync first; within a sync by path, the
        revision row before the deployment rows, those by environment then as recorded."""
        found: list[LedgerEntry] = []
        below: int | None = None
        batch = _FIRST_BATCH
        skip_quiet_syncs = not wanted.include_quiet and not wanted.statuses
        paths = self._paths_of(wanted.package)
        while len(found) < wanted.limit:
            syncs = self._syncs(wanted, below, batch, skip_quiet_syncs)
            if syncs:
                found += self._rows_of(wanted, syncs, paths)
            if len(syncs) < batch:
                break  # that was the oldest
            below = min(syncs)
            batch = min(batch * 2, _LAST_BATCH)
        return found[: wanted.limit]

    def with_correlation_id(self, correlation_id: str, wanted: HistoryFilter) -> list[LedgerEntry]:
        """Every row (revision outcome or deployment step, any environment) whose answer, or
        the read that found an adopted revision, carried ``correlation_id``; newest first."""
        outcomes = self.select(
            f"SELECT {_OUTCOME_COLUMNS} FROM outcomes AS o"  # noqa: S608 - constant columns
            " WHERE o.correlation_id = ? OR o.lookup_correlation_id = ?",
            [correlation_id, correlation_id],
        )
        deployments = self.select(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments AS d"  # noqa: S608 - constant columns
            " WHERE d.correlation_id = ?",
            [correlation_id],
        )
        sync_ids = sorted({int(str(row[1])) for row in (*outcomes, *deployments)})
        syncs = {
            sync_id: sync
            for sync_id, sync in self._syncs_by_id(sync_ids).items()
            if wanted.since is None or sync.started_at >= wanted.since
        }
        steps = HistoryFilter(
            package=wanted.package,
            statuses=wanted.statuses,
            since=wanted.since,
            environment=wanted.environment,
            include_quiet=True,
            steps=True,
            limit=wanted.limit,
        )
        rows = _kept(steps, syncs, outcomes, deployments, self._paths_of(wanted.package))
        return rows[: wanted.limit]

    # ---- pieces ----------------------------------------------------------------------
    def _sync_where(
        self, wanted: HistoryFilter, below: int | None, skip_quiet: bool
    ) -> tuple[str, list[object]]:
        where = ["1"] if below is None else ["s.id < ?"]
        params: list[object] = [] if below is None else [below]
        if wanted.since is not None:
            where.append("s.started_at >= ?")
            params.append(to_utc_text(wanted.since))
        if skip_quiet:
            where.append(_LOUD_SYNC)
        return " AND ".join(where), params

    def _syncs(
        self, wanted: HistoryFilter, below: int | None, batch: int, skip_quiet: bool
    ) -> Syncs:
        where, params = self._sync_where(wanted, below, skip_quiet)
        rows = self.select(
            f"SELECT {_SYNC_COLUMNS} FROM syncs AS s WHERE {where}"  # noqa: S608 - constant SQL
            " ORDER BY s.id DESC LIMIT ?",
            [*params, batch],
        )
        return {sync.id: sync for sync in map(_Sync.of, rows)}

    def _syncs_by_id(self, ids: Sequence[int]) -> Syncs:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.select(
            f"SELECT {_SYNC_COLUMNS} FROM syncs AS s WHERE s.id IN ({marks})",  # noqa: S608
            ids,
        )
        return {sync.id: sync for sync in map(_Sync.of, rows)}

    def _paths_of(self, package: str | None) -> frozenset[str]:
        """The paths a ``--package`` names (path, package id or manifest name), so that the
        deployment rows, which know no manifest name, match the same package."""
        if package is None:
            return frozenset()
        rows = self.select(
            "SELECT DISTINCT path FROM outcomes WHERE path = ? OR package_id = ? OR name = ?"
            " UNION SELECT DISTINCT path FROM deployments WHERE package_id = ?",
            [package, package, package, package],
        )
        return frozenset({package, *(str(row[0]) for row in rows)})

    def _rows_of(
        self, wanted: HistoryFilter, syncs: Syncs, paths: frozenset[str]
    ) -> list[LedgerEntry]:
        marks = ", ".join("?" * len(syncs))
        ids: list[object] = list(syncs)
        outcomes: list[tuple[object, ...]] = []
        if wanted.environment is None:
            outcomes = self.select(
                f"SELECT {_OUTCOME_COLUMNS} FROM outcomes AS o"  # noqa: S608 - placeholders only
                f" WHERE o.sync_id IN ({marks})",
                ids,
            )
        where = "" if wanted.steps else " AND d.step = 'result'"
        if wanted.environment is not None:
            where += " AND d.environment = ?"
            ids.append(wanted.environment)
        deployments = self.select(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments AS d"  # noqa: S608 - placeholders only
            f" WHERE d.sync_id IN ({marks}){where}",
            ids,
        )
        return _kept(wanted, syncs, outcomes, deployments, paths)


def _kept(
    wanted: HistoryFilter,
    syncs: Syncs,
    outcomes: Iterable[tuple[object, ...]],
    deployments: Iterable[tuple[object, ...]],
    paths: frozenset[str],
) -> list[LedgerEntry]:
    """The rows ``wanted`` keeps, as entries, in history's order (rows of a sync not in
    ``syncs`` are left out: ``--since`` left it out)."""
    entries = [
        _outcome_entry(row, syncs[int(str(row[1]))])
        for row in outcomes
        if int(str(row[1])) in syncs
    ]
    entries += [
        _deployment_entry(row, syncs[int(str(row[1]))])
        for row in deployments
        if int(str(row[1])) in syncs
    ]
    kept = [entry for entry in entries if _wanted(wanted, entry, paths)]
    return sorted(kept, key=_order)


def _order(entry: LedgerEntry) -> tuple[int, str, int, str, int]:
    return (
        -entry.sync_id,
        entry.path,
        0 if entry.kind == "revision" else 1,
        entry.environment or "",
        entry.id,
    )


def _wanted(wanted: HistoryFilter, entry: LedgerEntry, paths: frozenset[str]) -> bool:
    if wanted.package is not None and not (
        wanted.package in (entry.package_id, entry.name) or entry.path in paths
    ):
        return False
    if wanted.environment is not None and entry.environment != wanted.environment:
        return False
    if wanted.statuses:
        return entry.status in wanted.statuses
    if wanted.include_quiet or entry.step not in (REVISION_STEP, RESULT_STEP):
        return True
    quiet = QUIET_REVISIONS if entry.kind == "revision" else QUIET_DEPLOYMENTS
    return entry.status not in quiet


def _shared(row: tuple[object, ...], sync: _Sync) -> LedgerEntry:
    """A row as a revision row: the first nine columns, which both queries select in this
    order, and its sync's fields; a deployment row replaces what is its own."""
    row_id, _sync_id, path, package_id, status, rev_name, rev_id, corr, error = row[:9]
    return LedgerEntry(
        id=int(str(row_id)),
        recorded_at=sync.recorded_at,
        commit=sync.commit,
        ref=sync.ref,
        path=str(path),
        package_id=text_or_none(package_id),
        status=str(status),
        revision_name=text_or_none(rev_name),
        revision_id=text_or_none(rev_id),
        correlation_id=text_or_none(corr),
        error=text_or_none(error),
        trigger=sync.trigger,
        complete=sync.complete,
        verified_by=sync.verified_by,
        sync_id=sync.id,
    )


def _outcome_entry(row: tuple[object, ...], sync: _Sync) -> LedgerEntry:
    name, lookup = row[9:]
    return replace(
        _shared(row, sync), name=text_or_none(name), lookup_correlation_id=text_or_none(lookup)
    )


def _deployment_entry(row: tuple[object, ...], sync: _Sync) -> LedgerEntry:
    environment, keyset, step, previous, note, at = row[9:]
    return replace(
        _shared(row, sync),
        recorded_at=sync.recorded_at if step == RESULT_STEP else from_utc_text(str(at)),
        environment=text_or_none(environment),
        kind="deployment",
        step=str(step),
        keyset_id=None if keyset is None else int(str(keyset)),
        previous_revision_name=text_or_none(previous),
        note=text_or_none(note),
    )

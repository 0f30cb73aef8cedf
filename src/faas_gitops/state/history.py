"""Questions people ask of the ledger: ``history``, ``status``, the status page, restarts.

Everything here only reads. Order follows row ids, never the clock, so a clock that jumps back
cannot reorder the history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from faas_gitops.errors import ConfigError
from faas_gitops.models import (
    IN_SYNC,
    DeploymentOutcome,
    DeployStatus,
    Status,
)
from faas_gitops.records import PackageStatus, SyncSummary
from faas_gitops.state.db import from_utc_text, text_or_none
from faas_gitops.state.reads import Reads
from faas_gitops.state.timeline import HistoryFilter, LedgerEntry, Timeline

_RUNNING_REVISION = (DeployStatus.DEPLOYED.value, DeployStatus.IN_SYNC.value)
#: The newest deployment rows of a kind (the caller closes the sub-select's WHERE ... GROUP BY).
_RESULT_ROWS = (
    "SELECT path, environment, keyset_id, status, revision_name, revision_id, deployment_id,"
    " previous_deployment_id, previous_revision_name, correlation_id, error, note, pinned"
    " FROM deployments WHERE id IN (SELECT max(id) FROM deployments"
)


class HistoryQueries(Reads):
    """Read-only queries over an open ledger connection (mixed into ``Ledger``)."""

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        return int(str(self.select("PRAGMA user_version")[0][0]))

    def history(
        self,
        *,
        package: str | None = None,
        statuses: Sequence[str] = (),
        since: datetime | None = None,
        environment: str | None = None,
        include_quiet: bool = True,
        steps: bool = False,
        correlation_id: str | None = None,
        limit: int = 50,
    ) -> list[LedgerEntry]:
        """What happened, newest sync first: revision outcomes and deployment results
        (``state.timeline`` says the order and how it pages).

        ``package`` matches a path, a package id or a manifest name exactly; ``statuses`` keeps
        only those (quiet or not); ``since`` keeps syncs started at or after it;
        ``include_quiet=False`` hides the rows that changed nothing (``unchanged``, ``in-sync``,
        ``frozen``...); ``environment`` keeps that environment's deployment rows only; ``steps``
        adds every deployment step; ``correlation_id`` finds the rows carrying it instead.
        """
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, not {limit}")
        wanted = HistoryFilter(
            package=package,
            statuses=tuple(statuses),
            since=since,
            environment=environment,
            include_quiet=include_quiet,
            steps=steps,
            limit=limit,
        )
        timeline = Timeline(self._conn, self._lock)
        if correlation_id is not None:
            return timeline.with_correlation_id(correlation_id, wanted)
        return timeline.page(wanted)

    def in_sync_commits(self) -> dict[str, str]:
        """Per package path, the commit of its newest finished real sync, if it was in sync
        then: the daemon's memory for telling drift from change, kept across restarts."""
        rows = self.select(
            "SELECT o.path, s.commit_sha, o.status FROM outcomes AS o"
            " JOIN syncs AS s ON s.id = o.sync_id WHERE o.id IN (SELECT max(o2.id)"
            " FROM outcomes AS o2 JOIN syncs AS s2 ON s2.id = o2.sync_id"
            " WHERE s2.completed = 1 AND s2.dry_run = 0 GROUP BY o2.path)"
        )
        in_sync = {status.value for status in IN_SYNC}
        return {str(path): str(commit) for path, commit, status in rows if status in in_sync}

    def recent_syncs(self, limit: int = 50) -> list[SyncSummary]:
        """The newest syncs with their counts (counted from their rows, so a killed one too)."""
        syncs = self.select(
            "SELECT id, commit_sha, ref, trigger_name, dry_run, started_at, finished_at,"
            " completed, fatal_error FROM syncs ORDER BY id DESC LIMIT ?",
            [limit],
        )
        if not syncs:
            return []
        ids = [row[0] for row in syncs]
        counts: defaultdict[object, dict[str, int]] = defaultdict(dict)
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT sync_id, status, count(*) FROM outcomes WHERE sync_id IN ({marks})"  # noqa: S608 - placeholders only
        for sync_id, status, number in self.select(sql + " GROUP BY sync_id, status", ids):
            counts[sync_id][str(status)] = int(str(number))
        summaries = []
        for sid, commit, ref, trigger, dry, started, finished, completed, fatal in syncs:
            tally = {status.value: 0 for status in Status} | counts[sid]
            tally["total"] = sum(counts[sid].values())
            summaries.append(
                SyncSummary(
                    id=int(str(sid)),
                    commit=str(commit),
                    ref=str(ref),
                    trigger=str(trigger),
                    dry_run=bool(dry),
                    started_at=from_utc_text(str(started)),
                    finished_at=from_utc_text(str(finished)) if completed else None,
                    counts=tally,
                    fatal_error=text_or_none(fatal),
                )
            )
        return summaries

    def package_statuses(self) -> list[PackageStatus]:
        """Each package of the newest real sync (and any newer running one), as last known.

        The status, time and error are those of its newest row; the revision is the newest one
        it was known to be in sync with, so a failed sync does not hide what the API holds.
        A ``promote`` or ``rollback`` is not a "real sync" here: it records deployments, not
        the commit's packages, so it must not hide them.
        """
        newest = self.select(
            "SELECT max(id) FROM syncs WHERE dry_run = 0 AND completed = 1"
            " AND trigger_name NOT IN ('promote', 'rollback')"
        )[0][0]
        floor = int(str(newest)) if newest is not None else 0
        rows = self.select(
            "SELECT o.path, o.name, o.package_id, o.status, s.finished_at, s.commit_sha,"
            " o.correlation_id, o.error, o.revision_name, o.revision_id"
            " FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id"
            " WHERE s.dry_run = 0 AND o.id IN (SELECT max(o2.id) FROM outcomes AS o2"
            " JOIN syncs AS s2 ON s2.id = o2.sync_id WHERE s2.dry_run = 0 AND s2.id >= ?"
            " GROUP BY o2.path) ORDER BY o.path",
            [floor],
        )
        known = {
            str(path): (name, rev_name, rev_id)
            for path, name, rev_name, rev_id in self.select(
                "SELECT path, name, revision_name, revision_id FROM outcomes WHERE id IN"
                " (SELECT max(id) FROM outcomes WHERE revision_id IS NOT NULL GROUP BY path)"
            )
        }
        running = self._running_deployments()
        statuses = []
        for path, name, package_id, status, at, commit, corr, error, rev_name, rev_id in rows:
            k_name, k_rev_name, k_rev_id = known.get(str(path), (None, None, None))
            statuses.append(
                PackageStatus(
                    path=str(path),
                    name=text_or_none(name) or text_or_none(k_name),
                    package_id=text_or_none(package_id),
                    revision_name=text_or_none(rev_name) or text_or_none(k_rev_name),
                    revision_id=text_or_none(rev_id) or text_or_none(k_rev_id),
                    status=str(status),
                    synced_at=from_utc_text(str(at)),
                    commit=text_or_none(commit),
                    correlation_id=text_or_none(corr),
                    error=text_or_none(error),
                    deployments=tuple(running.get(str(path), ())),
                )
            )
        return statuses

    def _running_deployments(self) -> dict[str, list[DeploymentOutcome]]:
        """Per path, the newest deployment result per environment, carrying what runs there.

        A result that changed nothing (frozen, held, failed...) names what ran before it as
        ``previous_*``; when it could not even read that (a failed read), what runs is taken
        from the newest result that knew, so a view never shows ``-`` for something running.
        """
        newest = self.select(
            _RESULT_ROWS + " WHERE step = 'result' GROUP BY path, environment)"
            " ORDER BY path, environment"
        )
        known = {
            (str(row[0]), str(row[1])): row
            for row in self.select(
                _RESULT_ROWS + " WHERE step = 'result' AND (status IN (?, ?)"
                " OR previous_revision_name IS NOT NULL) GROUP BY path, environment)",
                _RUNNING_REVISION,
            )
        }
        found: dict[str, list[DeploymentOutcome]] = defaultdict(list)
        for row in newest:
            outcome = _deployment(row)
            if outcome.status is DeployStatus.PRUNED:
                continue
            if outcome.running_revision_name is None:
                earlier = known.get((str(row[0]), str(row[1])))
                if earlier is not None:
                    before = _deployment(earlier)
                    outcome = replace(
                        outcome,
                        previous_revision_name=before.running_revision_name,
                        previous_deployment_id=before.running_deployment_id,
                    )
            found[str(row[0])].append(outcome)
        return found


def _deployment(row: tuple[object, ...]) -> DeploymentOutcome:
    _path, env, keyset, status, *rest = row
    return DeploymentOutcome(
        environment=str(env),
        keyset_id=int(str(keyset)),
        status=DeployStatus(str(status)),
        revision_name=text_or_none(rest[0]),
        revision_id=text_or_none(rest[1]),
        deployment_id=text_or_none(rest[2]),
        previous_deployment_id=text_or_none(rest[3]),
        previous_revision_name=text_or_none(rest[4]),
        correlation_id=text_or_none(rest[5]),
        error=text_or_none(rest[6]),
        note=text_or_none(rest[7]),
        pinned=bool(rest[8]),
    )


__all__ = ["HistoryQueries", "LedgerEntry"]

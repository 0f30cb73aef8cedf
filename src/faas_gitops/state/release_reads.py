"""Read-only questions the status page asks of the ledger's deployment rows.

``HistoryQueries`` answers "what runs where now"; the page also wants *since when* each package
has been in that state on each environment, whether a deployment is under way right now, each
environment's keyset and freeze as the last syncs found them, deployment counts per sync, and
per package its revisions and deployment history with every step's correlation ID.

Order follows row ids, never the clock. Every query is bounded (``SCAN_ROWS``, ``limit``), so a
years-old ledger costs the page the same as a new one; a state older than the scanned rows
shows without a "since".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from faas_gitops.state.db import from_utc_text, text_or_none
from faas_gitops.state.history import HistoryQueries

#: Deployment rows read (newest first) to work out "since when" and "deploying".
SCAN_ROWS = 20_000
_RUNS_WANTED = ("deployed", "in-sync")
_STOPPED = ("pruned",)


@dataclass(frozen=True, slots=True)
class EnvironmentFacts:
    """An environment as the newest syncs that acted on it found it."""

    name: str
    keyset_id: int
    frozen_note: str | None = None  # the newest sync's freeze reason, when it found it frozen
    frozen_since: datetime | None = None
    last_acted: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReleaseFacts:
    """Per (path, environment): since when its current state holds, and what is deploying."""

    since: dict[tuple[str, str], datetime] = field(default_factory=dict)
    deploying: frozenset[tuple[str, str]] = frozenset()
    environments: dict[str, EnvironmentFacts] = field(default_factory=dict)


def _running(status: str, revision: object, previous: object) -> object:
    if status in _RUNS_WANTED:
        return revision
    return None if status in _STOPPED else previous


def _word(status: str) -> str:
    """Statuses that mean the same state to a person (``deployed`` then ``in-sync``)."""
    return "in-sync" if status in _RUNS_WANTED else status


def release_facts(reader: HistoryQueries, scan: int = SCAN_ROWS) -> ReleaseFacts:
    """One bounded pass over the newest deployment rows (see the module docstring)."""
    rows = reader.select(
        "SELECT d.sync_id, d.path, d.environment, d.keyset_id, d.step, d.status,"
        " d.revision_name, d.previous_revision_name, d.recorded_at, d.note, s.completed"
        " FROM deployments AS d JOIN syncs AS s ON s.id = d.sync_id"
        " WHERE s.dry_run = 0 ORDER BY d.id DESC LIMIT ?",
        [scan],
    )
    since: dict[tuple[str, str], datetime] = {}
    state: dict[tuple[str, str], tuple[str, object]] = {}
    closed: set[tuple[str, str]] = set()
    deploying: set[tuple[str, str]] = set()
    keysets: dict[str, tuple[int, datetime]] = {}
    # Per environment, per sync that acted on it (newest first): (a freeze note, when).
    acted: defaultdict[str, dict[int, tuple[str | None, datetime]]] = defaultdict(dict)
    for sync_id, path, env, keyset, step, raw_status, rev, prev, at, note, completed in rows:
        key = (str(path), str(env))
        moment = from_utc_text(str(at))
        keysets.setdefault(str(env), (int(str(keyset)), moment))
        if step != "result":
            if key not in state and key not in closed and not completed:
                deploying.add(key)
            continue
        status = str(raw_status)
        frozen, _ = acted[str(env)].get(int(str(sync_id)), (None, moment))
        if status == "frozen":
            frozen = str(note or "frozen")
        acted[str(env)][int(str(sync_id))] = (frozen, moment)
        if key in closed:
            continue
        current = (_word(status), _running(status, rev, prev))
        if key not in state:
            state[key] = current
        elif state[key] != current:
            closed.add(key)
            continue
        since[key] = moment
    envs = {
        name: _environment(name, keyset, last, acted.get(name, {}))
        for name, (keyset, last) in keysets.items()
    }
    return ReleaseFacts(since=since, deploying=frozenset(deploying), environments=envs)


def _environment(
    name: str, keyset: int, last: datetime, syncs: dict[int, tuple[str | None, datetime]]
) -> EnvironmentFacts:
    """Frozen when the newest sync that acted on it held a change back; since the oldest of the
    unbroken run of such syncs (a sync with nothing due shows no freeze, and ends the run)."""
    note: str | None = None
    since: datetime | None = None
    for frozen, moment in syncs.values():  # newest sync first (insertion order)
        if frozen is None:
            break
        note = note or frozen
        since = moment
    return EnvironmentFacts(name, keyset, note, since, last)


def deployment_counts(reader: HistoryQueries, sync_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per sync, its deployment results counted by status (only statuses that occurred)."""
    if not sync_ids:
        return {}
    marks = ", ".join("?" * len(sync_ids))
    counts: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for sync_id, status, number in reader.select(
        f"SELECT sync_id, status, count(*) FROM deployments WHERE step = 'result'"  # noqa: S608 - placeholders only
        f" AND sync_id IN ({marks}) GROUP BY sync_id, status",
        list(sync_ids),
    ):
        counts[int(str(sync_id))][str(status)] = int(str(number))
    return dict(counts)


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    """A revision of one package as the ledger knows it."""

    name: str
    revision_id: str | None
    commit: str | None
    at: datetime | None
    made_by: str  # "faas-gitops", "faas-gitops (adopted)", "outside faas-gitops"


@dataclass(frozen=True, slots=True)
class StepRecord:
    step: str
    status: str
    correlation_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """One deployment result of one package on one environment, with the steps before it."""

    environment: str
    keyset_id: int
    status: str
    from_revision: str | None
    to_revision: str | None
    at: datetime
    trigger: str
    commit: str
    correlation_id: str | None
    error: str | None
    note: str | None
    steps: tuple[StepRecord, ...] = ()


def package_revisions(reader: HistoryQueries, path: str, limit: int = 50) -> list[RevisionRecord]:
    """Newest first: the revisions faas-gitops created or adopted for ``path``, then any other
    revision name seen running (made outside faas-gitops: by hand in the portal)."""
    found: dict[str, RevisionRecord] = {}
    for name, rev_id, status, commit, at in reader.select(
        "SELECT o.revision_name, o.revision_id, o.status, s.commit_sha, s.finished_at"
        " FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id"
        " WHERE o.path = ? AND o.status IN ('created', 'adopted')"
        " AND o.revision_name IS NOT NULL AND s.dry_run = 0 ORDER BY o.id DESC LIMIT ?",
        [path, limit],
    ):
        made = "faas-gitops" if status == "created" else "faas-gitops (adopted)"
        found.setdefault(
            str(name),
            RevisionRecord(
                str(name), text_or_none(rev_id), str(commit),
                from_utc_text(str(at)), made,
            ),
        )  # fmt: skip
    for name, at in reader.select(
        "SELECT name, max(recorded_at) FROM (SELECT previous_revision_name AS name, recorded_at"
        " FROM deployments WHERE path = ? UNION ALL SELECT revision_name, recorded_at"
        " FROM deployments WHERE path = ? AND status IN ('deployed', 'in-sync'))"
        " WHERE name IS NOT NULL GROUP BY name",
        [path, path],
    ):
        if str(name) not in found and len(found) < limit:
            found[str(name)] = RevisionRecord(
                str(name), None, None, from_utc_text(str(at)), "outside faas-gitops"
            )
    return list(found.values())


def package_deployments(
    reader: HistoryQueries, path: str, limit: int = 60
) -> list[DeploymentRecord]:
    """Newest first: ``path``'s deployment results (real syncs), each with its sync's steps."""
    results = reader.select(
        "SELECT d.sync_id, d.environment, d.keyset_id, d.status, d.previous_revision_name,"
        " d.revision_name, d.recorded_at, s.trigger_name, s.commit_sha, d.correlation_id,"
        " d.error, d.note FROM deployments AS d JOIN syncs AS s ON s.id = d.sync_id"
        " WHERE d.path = ? AND d.step = 'result' AND s.dry_run = 0 ORDER BY d.id DESC LIMIT ?",
        [path, limit],
    )
    if not results:
        return []
    ids = sorted({int(str(row[0])) for row in results})
    marks = ", ".join("?" * len(ids))
    steps: defaultdict[tuple[int, str], list[StepRecord]] = defaultdict(list)
    for sync_id, env, step, status, corr, at in reader.select(
        "SELECT sync_id, environment, step, status, correlation_id, recorded_at"  # noqa: S608 - placeholders only
        f" FROM deployments WHERE path = ? AND step != 'result' AND sync_id IN ({marks})"
        " ORDER BY id",
        [path, *ids],
    ):
        steps[(int(str(sync_id)), str(env))].append(
            StepRecord(str(step), str(status), text_or_none(corr), from_utc_text(str(at)))
        )
    return [
        DeploymentRecord(
            environment=str(env),
            keyset_id=int(str(keyset)),
            status=str(status),
            from_revision=text_or_none(prev),
            to_revision=text_or_none(rev),
            at=from_utc_text(str(at)),
            trigger=str(trigger),
            commit=str(commit),
            correlation_id=text_or_none(corr),
            error=text_or_none(error),
            note=text_or_none(note),
            steps=tuple(steps.get((int(str(sync_id)), str(env)), ())),
        )
        for sync_id, env, keyset, status, prev, rev, at, trigger, commit, corr, error, note in (
            results
        )
    ]


__all__ = [
    "DeploymentRecord",
    "EnvironmentFacts",
    "ReleaseFacts",
    "RevisionRecord",
    "StepRecord",
    "deployment_counts",
    "package_deployments",
    "package_revisions",
    "release_facts",
]

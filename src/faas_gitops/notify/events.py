"""What is worth telling someone about a sync, as plain values computed from its result.

``events_of`` is a pure function of a ``SyncResult`` (no clock, no I/O) so the rules for which
outcome becomes which event are a table in the tests, and every target (webhook, Slack, GitHub)
agrees on them. ``at`` is the time the sync finished, not the time of sending, so a retried or
re-sent event carries the same body.

Per package x environment (``DeploymentOutcome.status``):

- ``deployed`` -> ``deployed``; ``failed`` -> ``deploy-failed``; ``pruned`` (``--prune``
  stopped a package the commit no longer holds) -> ``pruned``: each changed what runs, or
  tried to.
- ``frozen`` -> ``frozen``: a change is due (a new revision, or a prune) but the environment's
  freeze forbids it. It says what runs (``previousRevisionName``), what waits
  (``revisionName``) and why (``note``). Announced once per package, environment and waiting
  revision, not once per commit: a daemon syncing a frozen production every minute, or every
  later commit that leaves the package as it is, does not repeat it. A dry run sends none.
- ``held``: none. The rollback that set the hold was the news; every later sync would only
  repeat "still held" (the status page, ``status`` and the GitHub status say it).
- ``orphaned``: none. Nothing changed: the package left the commit and still runs; the sync's
  output, ``status`` and the page say so until someone prunes it (which is ``pruned``).
- ``in-sync``, ``would-deploy``, ``would-prune``, ``skipped``: none (nothing happened).

Per run: ``sync-failed`` when it stopped (a result's ``fatal_error``, or no result at all), and
``recovered`` for the first run that ends well (exit 0) after one or more that did not. Whether
the last run failed is kept in the state dir (``state.sent``), so a one-shot CI job and a
restarted daemon tell ``recovered`` exactly once too; the notifier decides it (``recovery``),
since it needs that record: ``events_of`` stays pure.

Every event names the synced ref by its branch or tag (``CommitInfo.ref``) and, when configured,
links the commit (``--commit-url``) and the status page (``--public-url``).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state.sent import Failing


class EventKind(StrEnum):
    REVISION_CREATED = "revision-created"
    DRIFT_CORRECTED = "drift-corrected"
    PACKAGE_FAILED = "package-failed"
    SYNC_FAILED = "sync-failed"
    RECOVERED = "recovered"
    DEPLOYED = "deployed"
    DEPLOY_FAILED = "deploy-failed"
    FROZEN = "frozen"
    PRUNED = "pruned"


#: Events that mean something went wrong: they make a Slack message and a status a failure.
FAILURES = frozenset({EventKind.PACKAGE_FAILED, EventKind.SYNC_FAILED, EventKind.DEPLOY_FAILED})
#: Events about one package on one environment: their JSON names the environment and keyset.
DEPLOYMENT_EVENTS = frozenset(
    {EventKind.DEPLOYED, EventKind.DEPLOY_FAILED, EventKind.FROZEN, EventKind.PRUNED}
)


@dataclass(frozen=True, slots=True)
class Event:
    """One notification; ``path`` is ``None`` only for the run's own events (``sync-failed``,
    ``recovered``). What only some kinds know is carried whole, not flattened: ``deployment``
    (deployment events: the environment, keyset, what ran there and why) and ``failing``
    (``sync-failed``: the failing spell it belongs to; ``recovered``: the spell it ended)."""

    kind: EventKind
    commit: str
    ref: str
    at: datetime
    path: str | None = None
    package_id: str | None = None
    name: str | None = None
    revision_name: str | None = None
    revision_id: str | None = None
    correlation_id: str | None = None
    error: str | None = None
    deployment: DeploymentOutcome | None = None
    failing: Failing | None = None
    commit_url: str | None = None  # --commit-url's link to ``commit``
    page_url: str | None = None  # --public-url: the status page

    @property
    def environment(self) -> str | None:
        return None if self.deployment is None else self.deployment.environment

    @property
    def ran_before(self) -> str | None:
        """What ran on the environment (frozen: what still runs), for deployment events."""
        return None if self.deployment is None else self.deployment.previous_revision_name

    @property
    def key(self) -> str:
        """What makes this event the same event again: the de-duplication key (without target).

        ``frozen`` is keyed by the revision that waits instead of the commit (see the module);
        ``sync-failed`` and ``recovered`` by the commit and the failing spell (``failing_since``)
        when the sent log knows it: a commit failing again after a recovery is news again.
        """
        if self.kind is EventKind.FROZEN:
            waiting = self.revision_id or self.revision_name or f"stop {self.ran_before}"
            parts: tuple[str, ...] = (
                self.kind.value, waiting, self.path or "", self.environment or "",
            )  # fmt: skip
        elif self.failing is not None:  # sync-failed and recovered: once per spell
            spell = _utc_text(self.failing.since_at)
            parts = (self.kind.value, self.commit, "", "", spell)
        else:
            parts = (self.kind.value, self.commit, self.path or "", self.environment or "")
        return "|".join(parts)

    @property
    def label(self) -> str:
        """How a person recognises the package: manifest name, else id, else path."""
        return self.name or self.package_id or self.path or "(sync)"

    def linked(self, *, commit_url: str | None, page_url: str | None) -> Event:
        """This event with its links; they are no part of its identity (``key``)."""
        return replace(self, commit_url=commit_url, page_url=page_url)

    def to_json(self) -> dict[str, Any]:
        """The documented webhook body (camelCase, every field present, ``null`` when unknown;
        the fields of one kind of event only on that kind)."""
        package = (
            None
            if self.path is None
            else {"path": self.path, "packageId": self.package_id, "name": self.name}
        )
        doc: dict[str, Any] = {
            "event": self.kind.value,
            "commit": self.commit,
            "ref": self.ref,
            "package": package,
            "revisionName": self.revision_name,
            "revisionId": self.revision_id,
            "correlationId": self.correlation_id,
            "error": self.error,
            "at": _utc_text(self.at),
            "commitUrl": self.commit_url,
            "pageUrl": self.page_url,
        }
        if self.kind in DEPLOYMENT_EVENTS:
            d = self.deployment
            doc["environment"] = self.environment
            doc["keysetId"] = None if d is None else d.keyset_id
            doc["fromRevision"] = self.ran_before
            doc["toRevision"] = self.revision_name
            doc["previousRevisionName"] = self.ran_before  # as before fromRevision
            doc["note"] = None if d is None else d.note
        if self.kind is EventKind.RECOVERED:
            spell = self.failing
            doc["failingSince"] = None if spell is None else _utc_text(spell.since_at)
            doc["failedSyncs"] = None if spell is None else spell.syncs
            doc["lastError"] = None if spell is None else spell.error
        return doc


def events_of(result: SyncResult, *, drift_paths: Set[str] = frozenset()) -> list[Event]:
    """The events of one finished sync, in a stable order (sync first, then by package path).

    ``drift_paths`` are the packages whose tree did not change but whose remote had drifted (the
    caller knows: it is a full resync); a revision created for one of them is
    ``drift-corrected`` instead of ``revision-created``. ``adopted`` is not an event: nothing was
    created by this run, and the run that did create it told already.
    """
    events: list[Event] = []
    if result.fatal_error is not None:
        events.append(
            sync_failed_event(result.commit, result.ref, result.fatal_error, result.finished_at)
        )
    for outcome in sorted(result.outcomes, key=lambda o: o.path):
        events.extend(_outcome_events(result, outcome, drift_paths))
    return events


def sync_failed_event(commit: str, ref: str, error: str, at: datetime) -> Event:
    """``sync-failed`` for a sync that raised before it had a result (bad ref, API down...)."""
    return Event(EventKind.SYNC_FAILED, commit=commit, ref=ref, at=at, error=error)


def recovered_event(result: SyncResult, failing: Failing) -> Event:
    """``recovered``: ``result`` ended well after the runs ``failing`` records did not."""
    return replace(_event_of(result, EventKind.RECOVERED), failing=failing)


def _event_of(result: SyncResult, kind: EventKind) -> Event:
    """An event of ``result``'s run: its commit, its ref by name, the time it finished."""
    return Event(kind, commit=result.commit, ref=result.ref, at=result.finished_at)


def _outcome_events(result: SyncResult, outcome: Outcome, drift_paths: Set[str]) -> list[Event]:
    package = replace(
        _event_of(result, EventKind.REVISION_CREATED),
        path=outcome.path,
        package_id=outcome.package_id,
        name=outcome.name,
    )
    events: list[Event] = []
    kind = _PACKAGE_EVENTS.get(outcome.status)
    if kind is EventKind.REVISION_CREATED and outcome.path in drift_paths:
        kind = EventKind.DRIFT_CORRECTED
    if kind is not None:
        failed = kind is EventKind.PACKAGE_FAILED
        events.append(
            replace(
                package,
                kind=kind,
                revision_name=outcome.revision_name,
                revision_id=None if failed else outcome.revision_id,
                correlation_id=outcome.correlation_id,
                error=(outcome.error or "failed") if failed else None,
            )
        )
    for deployment in sorted(outcome.deployments, key=lambda d: (d.environment, d.keyset_id)):
        news = _DEPLOY_EVENTS.get(deployment.status)
        if news is None or (news is EventKind.FROZEN and result.dry_run):
            continue
        events.append(
            replace(
                package,
                kind=news,
                revision_name=deployment.revision_name,
                revision_id=deployment.revision_id,
                correlation_id=deployment.correlation_id,
                error=(deployment.error or "failed") if news is EventKind.DEPLOY_FAILED else None,
                deployment=deployment,
            )
        )
    return events


#: The package statuses that are news (a created one for a drifted package: drift corrected).
_PACKAGE_EVENTS = {
    Status.CREATED: EventKind.REVISION_CREATED,
    Status.FAILED: EventKind.PACKAGE_FAILED,
}

#: The deployment statuses that are news (the others: see the module docstring).
_DEPLOY_EVENTS = {
    DeployStatus.DEPLOYED: EventKind.DEPLOYED,
    DeployStatus.FAILED: EventKind.DEPLOY_FAILED,
    DeployStatus.FROZEN: EventKind.FROZEN,
    DeployStatus.PRUNED: EventKind.PRUNED,
}


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

"""The JSON documents: stable key order, camelCase, enum values as strings, raw text.

Nothing here is escaped for a terminal: the JSON encoder escapes control characters itself, and
a program reading the document must get the exact path or error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faas_gitops.links import commit_link
from faas_gitops.models import DeployStatus, Outcome, SyncResult
from faas_gitops.records import PackageStatus
from faas_gitops.report.common import NONE, iso, iso_or_none
from faas_gitops.report.deployments import (
    ARROW,
    deployment_counts,
    deployment_document,
    sorted_deployments,
)
from faas_gitops.report.text import duration, sorted_outcomes
from faas_gitops.state import LedgerEntry


def _package_document(outcome: Outcome) -> dict[str, Any]:
    return {
        "path": outcome.path,
        "name": outcome.name,
        "packageId": outcome.package_id,
        "status": outcome.status.value,
        "revisionName": outcome.revision_name,
        "revisionId": outcome.revision_id,
        "correlationId": outcome.correlation_id,
        "changes": [
            {"function": change.function, "change": change.change.value}
            for change in sorted(outcome.changes, key=lambda c: (c.function, c.change.value))
        ],
        "deployments": [deployment_document(d) for d in sorted_deployments(outcome.deployments)],
        "error": outcome.error,
    }


def to_json_document(result: SyncResult) -> dict[str, Any]:
    """The ``--output json`` document.

    ``summary`` has one count per status value (``created``, ``adopted``, ``unchanged``,
    ``would-create``, ``promoted``, ``rolled-back``, ``removed``, ``failed``) plus ``total``,
    so a consumer can index it with a package's ``status``, and ``deployments``: the same for
    the deployments' statuses (every ``DeployStatus`` value: ``deployed``, ``in-sync``,
    ``would-deploy``, ``would-prune``, ``frozen``, ``held``, ``skipped``, ``pruned``,
    ``orphaned``, ``failed``, plus ``total``): the counts the text's summary line names.
    ``deploymentSummary`` repeats ``summary.deployments`` for the consumers written before it
    moved there (deprecated: read ``summary.deployments``).
    """
    deployments = _deployment_summary(result)
    return {
        "commit": result.commit,
        "ref": result.ref,
        "dryRun": result.dry_run,
        "packages": [_package_document(outcome) for outcome in sorted_outcomes(result)],
        "summary": {**result.summary, "deployments": deployments},
        "deploymentSummary": dict(deployments),
        "startedAt": iso(result.started_at),
        "finishedAt": iso(result.finished_at),
        "durationSeconds": duration(result),
        "fatalError": result.fatal_error,
        "notes": list(result.notes),
    }


def _deployment_summary(result: SyncResult) -> dict[str, int]:
    deployments = [d for outcome in result.outcomes for d in outcome.deployments]
    counts = {status.value: 0 for status in DeployStatus}
    counts.update(deployment_counts(deployments))
    counts["total"] = len(deployments)
    return counts


#: Deployment statuses about something that runs and is (or would be) stopped: a "from" only.
_STOPS = frozenset(
    {DeployStatus.PRUNED.value, DeployStatus.WOULD_PRUNE.value, DeployStatus.ORPHANED.value}
)
#: Deployment results that moved (or would move, or could not move) an environment.
_MOVES = frozenset(
    {
        DeployStatus.DEPLOYED.value,
        DeployStatus.WOULD_DEPLOY.value,
        DeployStatus.FROZEN.value,
        DeployStatus.HELD.value,
        DeployStatus.FAILED.value,
    }
)


def entry_from_to(entry: LedgerEntry) -> tuple[str | None, str | None]:
    """What ran before and what the row made or wanted: ``(None, revision)`` for a revision;
    ``(what ran, None)`` for a prune or an orphan; ``(previous, wanted)`` for a deployment."""
    if entry.kind != "deployment":
        return None, entry.revision_name
    if entry.status in _STOPS and entry.step == "result":
        return entry.previous_revision_name or entry.revision_name, None
    return entry.previous_revision_name, entry.revision_name


def entry_revisions(entry: LedgerEntry) -> str | None:
    """The history's revision cell: ``v1.3.0 → v1.4.0`` for a result that moved, ``(none) →
    v1.4.0`` for a first deployment, the one name otherwise (raw: the table escapes it)."""
    before, after = entry_from_to(entry)
    if after is None:
        return before
    if entry.step == "result" and entry.status in _MOVES and before != after:
        return f"{before or NONE} {ARROW} {after}"
    return after


def entry_document(entry: LedgerEntry, commit_url: str | None = None) -> dict[str, Any]:
    """One ``history --output json`` row. The fields of every row come first (as before);
    ``kind`` (``revision``/``deployment``), ``step`` (``revision``, ``result`` or the
    deployment step), ``environment``, ``keysetId``, ``from`` and ``to`` (revision names),
    ``note``, ``name``, ``lookupCorrelationId`` and ``commitUrl`` (with ``--commit-url``)
    follow; ``null`` where they do not apply."""
    before, after = entry_from_to(entry)
    return {
        "id": entry.id,
        "recordedAt": iso(entry.recorded_at),
        "commit": entry.commit,
        "ref": entry.ref,
        "path": entry.path,
        "packageId": entry.package_id,
        "status": entry.status,
        "revisionName": entry.revision_name,
        "revisionId": entry.revision_id,
        "correlationId": entry.correlation_id,
        "error": entry.error,
        "trigger": entry.trigger,
        "verifiedBy": entry.verified_by,
        "kind": entry.kind,
        "step": entry.step,
        "environment": entry.environment,
        "keysetId": entry.keyset_id,
        "from": before,
        "to": after,
        "note": entry.note,
        "name": entry.name,
        "lookupCorrelationId": entry.lookup_correlation_id,
        "complete": entry.complete,
        "commitUrl": commit_link(commit_url, entry.commit),
    }


def _deployments(package: PackageStatus) -> list[dict[str, Any]]:
    return [deployment_document(d) for d in sorted_deployments(package.deployments)]


def status_document(packages: Sequence[PackageStatus]) -> list[dict[str, Any]]:
    """``status --output json`` (and the status page's data): one object per package, by path.

    ``[{"path", "name", "packageId", "revisionName", "revisionId", "status", "syncedAt",
    "commit", "correlationId", "error", "deployments": [{"environment", "keysetId", "status",
    "revisionName", "revisionId", "deploymentId", "previousDeploymentId", "correlationId",
    "error", "running", "note", "pinned"}]}]``; ``syncedAt`` is ISO 8601 UTC or ``null``. A
    deployment's ``status`` is that of the last attempt there and ``revisionName`` what it
    wanted; ``running`` is the revision that runs there (``null``: nothing does), which after a
    frozen, held, failed or skipped attempt is not ``revisionName``.
    """
    return [
        {
            "path": package.path,
            "name": package.name,
            "packageId": package.package_id,
            "revisionName": package.revision_name,
            "revisionId": package.revision_id,
            "status": package.status,
            "syncedAt": iso_or_none(package.synced_at),
            "commit": package.commit,
            "correlationId": package.correlation_id,
            "error": package.error,
            "deployments": [
                deployment_document(d) for d in sorted_deployments(package.deployments)
            ],
        }
        for package in sorted(packages, key=lambda p: p.path)
    ]

"""``GET /api/status``: the page's data as JSON (camelCase), field for field what it shows.

The shape is documented in ``statuspage``'s module docstring (and the docs); fields are only
ever added, so a script written against an older daemon keeps working.
"""

from __future__ import annotations

from typing import Any

from faas_gitops.daemon.page.html import iso, package_href
from faas_gitops.daemon.page.model import StatusSnapshot, sync_rows
from faas_gitops.links import commit_link
from faas_gitops.report.deployments import deployment_document

#: Syncs listed (the page's "Syncs" and the JSON ``syncs``).
SYNCS_SHOWN = 50


def _link(snapshot: StatusSnapshot, sha: str | None) -> str | None:
    return commit_link(snapshot.commit_url, sha) if sha else None


def snapshot_document(snapshot: StatusSnapshot) -> dict[str, Any]:
    """The ``/api/status`` body."""
    waiting = snapshot.waiting
    return {
        "commit": snapshot.commit,
        "commitLink": _link(snapshot, snapshot.commit),
        "ref": snapshot.ref,
        "seenCommit": snapshot.seen_commit,
        "waiting": None
        if waiting is None
        else {
            "commit": waiting,
            "commitLink": _link(snapshot, waiting),
            "reason": snapshot.last_error,
            "since": iso(snapshot.failing_since),
        },
        "lastSync": {
            "at": iso(snapshot.last_sync_at),
            "ok": snapshot.last_sync_ok,
            "error": snapshot.last_error,
        },
        "ready": snapshot.ready,
        "readyReason": snapshot.ready_reason,
        "consecutiveFailures": snapshot.consecutive_failures,
        "failingSince": iso(snapshot.failing_since),
        "syncing": snapshot.syncing,
        "environments": snapshot.environments,
        "environmentDetails": [_environment(snapshot, name) for name in snapshot.environments],
        "packages": [_package(snapshot, p) for p in snapshot.packages],
        "syncs": [
            {
                "kind": row.kind,
                "id": row.sync_id,
                "commit": row.commit,
                "commitLink": _link(snapshot, row.commit),
                "ref": row.ref,
                "trigger": row.trigger,
                "dryRun": row.dry_run,
                "at": iso(row.at),
                "startedAt": iso(_started(snapshot, row.sync_id)) if row.sync_id else iso(row.at),
                "finishedAt": iso(row.at) if row.finished else None,
                "counts": dict(row.counts),
                "deploymentCounts": dict(row.deployments),
                "fatalError": row.error,
            }
            for row in sync_rows(snapshot, SYNCS_SHOWN)
        ],
    }


def _started(snapshot: StatusSnapshot, sync_id: int | None) -> Any:
    return next((s.started_at for s in snapshot.syncs if s.id == sync_id), None)


def _environment(snapshot: StatusSnapshot, name: str) -> dict[str, Any]:
    facts = snapshot.facts.environments.get(name)
    keysets = {
        d.keyset_id for p in snapshot.packages for d in p.deployments if d.environment == name
    }
    return {
        "name": name,
        "keysetId": facts.keyset_id if facts else (min(keysets) if keysets else None),
        "frozen": bool(facts and facts.frozen_note),
        "frozenNote": facts.frozen_note if facts else None,
        "frozenSince": iso(facts.frozen_since) if facts else None,
        "lastActed": iso(facts.last_acted) if facts else None,
    }


def _package(snapshot: StatusSnapshot, p: Any) -> dict[str, Any]:
    cells = snapshot.cells(p)
    return {
        "path": p.path,
        "pageUrl": package_href(p.path),
        "name": p.name,
        "packageId": p.package_id,
        "revisionName": p.revision_name,
        "revisionId": p.revision_id,
        "status": p.status,
        "syncedAt": iso(p.synced_at),
        "commit": p.commit,
        "commitLink": _link(snapshot, p.commit),
        "correlationId": p.correlation_id,
        "error": p.error,
        "deployments": [
            {
                **deployment_document(d),
                "state": cells[d.environment].state,
                "since": iso(cells[d.environment].since),
                "pendingTo": cells[d.environment].target,
            }
            for d in p.deployments
        ],
    }


__all__ = ["SYNCS_SHOWN", "snapshot_document"]

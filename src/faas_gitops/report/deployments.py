"""One line per package x environment: what ran there, what runs now, and what happened.

``staging: v1.3.0 → v1.4.0 deployed``, ``staging: v1.4.0 in-sync``, ``production: v1.3.0 →
v1.4.0 would-deploy`` (dry run) or ``frozen``; ``(none)`` when nothing ran there before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faas_gitops.logs import printable
from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.report.common import EMPTY_CELL, NONE

ARROW = "→"
#: Statuses whose line shows where the environment came from as well as where it goes.
_MOVES = frozenset(
    {
        DeployStatus.DEPLOYED,
        DeployStatus.WOULD_DEPLOY,
        DeployStatus.FROZEN,
        DeployStatus.HELD,
        DeployStatus.FAILED,
    }
)

#: Statuses about something that runs and is (or would be) stopped: the one revision it runs.
_STOPS = frozenset({DeployStatus.PRUNED, DeployStatus.WOULD_PRUNE, DeployStatus.ORPHANED})


def revisions(deployment: DeploymentOutcome) -> str:
    """``v1.3.0 → v1.4.0`` for a move, the one revision name otherwise."""
    target = printable(deployment.revision_name) if deployment.revision_name else EMPTY_CELL
    previous = deployment.previous_revision_name
    if deployment.status in _STOPS:
        return printable(previous or deployment.revision_name or EMPTY_CELL)
    if deployment.status in _MOVES and previous != deployment.revision_name:
        return f"{printable(previous) if previous else NONE} {ARROW} {target}"
    return target


def sorted_deployments(deployments: Iterable[DeploymentOutcome]) -> list[DeploymentOutcome]:
    return sorted(deployments, key=lambda d: (d.environment, d.keyset_id))


def deployment_line(deployment: DeploymentOutcome) -> str:
    """``staging: v1.3.0 → v1.4.0 deployed``, then ``(pinned)`` and the note in brackets
    (``production: v1.3.0 → v1.4.0 frozen (frozen in faas-gitops.yaml)``); the correlation id
    and the error's first line come after, from the caller."""
    line = f"{printable(deployment.environment)}: {revisions(deployment)} {deployment.status.value}"
    if deployment.pinned:
        line += " (pinned)"
    if deployment.note:
        line += f" ({printable(deployment.note)})"
    return line


def deployment_document(deployment: DeploymentOutcome) -> dict[str, Any]:
    return {
        "environment": deployment.environment,
        "keysetId": deployment.keyset_id,
        "status": deployment.status.value,
        "revisionName": deployment.revision_name,
        "revisionId": deployment.revision_id,
        "deploymentId": deployment.deployment_id,
        "previousDeploymentId": deployment.previous_deployment_id,
        "correlationId": deployment.correlation_id,
        "error": deployment.error,
        "running": deployment.running_revision_name,
        "note": deployment.note,
        "pinned": deployment.pinned,
    }


def deployment_counts(deployments: Iterable[DeploymentOutcome]) -> dict[str, int]:
    """Count per deployment status, in the enum's order, only statuses that occurred."""
    counts = {status.value: 0 for status in DeployStatus}
    for deployment in deployments:
        counts[deployment.status.value] += 1
    return {status: count for status, count in counts.items() if count}


#: Outcomes after which what git asked for runs there: nothing more to say than its name.
PLAIN_SUCCESS = frozenset({DeployStatus.DEPLOYED, DeployStatus.IN_SYNC})


def running_cell(deployment: DeploymentOutcome) -> str:
    """What a status table shows for one environment: what runs there, then the last attempt
    when it was not a plain success (``v1.3.0 (frozen: v1.4.0)``, ``v1.3.0 (held)``,
    ``- (failed: v1.4.0)`` when nothing runs), and ``pinned`` when a pin chose the revision."""
    running = deployment.running_revision_name
    name = printable(running) if running else EMPTY_CELL
    if deployment.status in PLAIN_SUCCESS:
        return f"{name} (pinned)" if deployment.pinned else name
    attempt = deployment.status.value
    wanted = deployment.revision_name
    if wanted and wanted != running and deployment.status is not DeployStatus.PRUNED:
        attempt += f": {printable(wanted)}"
    if deployment.pinned:
        attempt += ", pinned"
    return f"{name} ({attempt})"


def deployment_remark(deployment: DeploymentOutcome) -> str | None:
    """``pinned``, the note, or both (``pinned; frozen in faas-gitops.yaml``): the words a
    table cell adds to a status, printable; ``None`` when there is nothing to add."""
    parts = ["pinned"] if deployment.pinned else []
    if deployment.note:
        parts.append(printable(deployment.note))
    return "; ".join(parts) or None

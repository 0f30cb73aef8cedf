"""The terminal rendering of a sync: one aligned line per package, its environments and error
lines indented under it, diffs, then one summary line."""

from __future__ import annotations

from faas_gitops.logs import printable
from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.report.common import EMPTY_CELL, SHORT_COMMIT, align, one_line
from faas_gitops.report.common import text_lines as _text_lines
from faas_gitops.report.deployments import deployment_counts, deployment_line, sorted_deployments
from faas_gitops.report.diffs import changes_phrase, package_diff

_INDENT = "  "
#: The summary line's order: what made revisions, ``unchanged``, what made none, ``failed``.
_CHANGES = (Status.CREATED, Status.ADOPTED, Status.WOULD_CREATE)
_NO_REVISION = (Status.PROMOTED, Status.ROLLED_BACK, Status.REMOVED)
_ERROR_INDENT = "    "


def duration(result: SyncResult) -> float:
    return round((result.finished_at - result.started_at).total_seconds(), 3)


def sorted_outcomes(result: SyncResult) -> list[Outcome]:
    return sorted(result.outcomes, key=lambda outcome: outcome.path)


def stopped_before_start(result: SyncResult) -> bool:
    """A run that failed before any package was synced: a summary of zeros would mislead."""
    return result.fatal_error is not None and not result.outcomes


def summary_line(result: SyncResult) -> str:
    """``3 packages: 1 created, 2 unchanged, 0 failed (commit abc123def456, 0.42 s)``.

    would-create is named on dry runs (where it replaces created) or whenever it is not zero;
    adopted, promoted, rolled-back and removed whenever they are not zero
    (``2 packages: 0 created, 1 unchanged, 1 removed, 0 failed``). When any package has
    deployments, their count per status follows: ``...; 4 deployments: 1 deployed, 3 in-sync
    (commit ...)``.
    """
    counts = result.summary
    total = counts["total"]
    primary = Status.WOULD_CREATE if result.dry_run else Status.CREATED
    occurred = [status for status in Status if counts[status.value]]
    shown = [primary]
    shown += [s for s in _CHANGES if s is not primary and s in occurred]
    shown.append(Status.UNCHANGED)
    shown += [s for s in _NO_REVISION if s in occurred]
    shown.append(Status.FAILED)
    parts = ", ".join(f"{counts[status.value]} {status.value}" for status in shown)
    noun = "package" if total == 1 else "packages"
    line = f"{total} {noun}: {parts}"
    deployments = [d for outcome in result.outcomes for d in outcome.deployments]
    if deployments:
        per_status = ", ".join(
            f"{count} {status}" for status, count in deployment_counts(deployments).items()
        )
        noun = "deployment" if len(deployments) == 1 else "deployments"
        line += f"; {len(deployments)} {noun}: {per_status}"
    extra = "dry run, " if result.dry_run else ""
    return f"{line} ({extra}commit {result.commit[:SHORT_COMMIT]}, {duration(result):.2f} s)"


def _error_cells(error: str | None) -> tuple[str, list[str]]:
    """``error: <first line>`` for the row, and the remaining lines to indent under it."""
    if not error:
        return "", []
    lines = _text_lines(error) or [printable(error)]
    return f"error: {lines[0]}", lines[1:]


def _details(outcome: Outcome, error_rest: list[str]) -> list[str]:
    """The lines under a package's row: the rest of its error, then one per environment."""
    lines = [f"{_ERROR_INDENT}{line}" for line in error_rest]
    for deployment in sorted_deployments(outcome.deployments):
        first, rest = _error_cells(deployment.error)
        cells = [
            deployment_line(deployment),
            f"corr={printable(deployment.correlation_id)}" if deployment.correlation_id else "",
            first,
        ]
        lines.append(_INDENT + "  ".join(cell for cell in cells if cell))
        lines += [f"{_INDENT}{_ERROR_INDENT}{line}" for line in rest]
    return lines


def render_text(result: SyncResult, *, show_diff: bool) -> str:
    if stopped_before_start(result):
        return f"no packages synced (stopped: {one_line(result.fatal_error or '')})\n"
    outcomes = sorted_outcomes(result)
    errors = [_error_cells(outcome.error) for outcome in outcomes]
    rows = [
        [
            outcome.status.value,
            printable(outcome.path),
            printable(outcome.revision_name) if outcome.revision_name else EMPTY_CELL,
            f"rev={printable(outcome.revision_id)}" if outcome.revision_id else "",
            f"corr={printable(outcome.correlation_id)}" if outcome.correlation_id else "",
            first,
        ]
        for outcome, (first, _rest) in zip(outcomes, errors, strict=True)
    ]
    lines: list[str] = []
    for row, outcome, (_first, rest) in zip(align(rows), outcomes, errors, strict=True):
        lines += [row, *_details(outcome, rest)]
    if show_diff:
        for outcome in outcomes:
            if outcome.changes:
                lines += [
                    "",
                    f"=== {printable(outcome.path)}: {changes_phrase(outcome.changes)}",
                    *package_diff(outcome.changes, outcome.path),
                ]
    if lines:
        lines.append("")
    if result.fatal_error:
        lines.append(f"stopped: {one_line(result.fatal_error)}")
    lines.append(summary_line(result))
    lines += [f"note: {printable(note)}" for note in result.notes]
    return "\n".join(lines) + "\n"

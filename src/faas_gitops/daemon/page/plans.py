"""The daemon's memory of each package's last plan while git differs from its latest revision.

The revision stage plans a diff per package (``Outcome.changes``); once a revision is created
(or found) for it, git and the latest revision agree and nothing is pending. When it could not
be created (the API refused it, a dry-run daemon), the diff is what the package page shows as
"pending". Only the newest sync's plan is kept, bounded: ``MAX_LINES`` diff lines per package,
``MAX_PACKAGES`` packages, so a huge change cannot make the page (or the daemon) heavy.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass

from faas_gitops.models import FunctionChange, Status, SyncResult

MAX_LINES = 400
MAX_PACKAGES = 500
_SETTLED = frozenset({Status.CREATED, Status.ADOPTED, Status.UNCHANGED})


@dataclass(frozen=True, slots=True)
class PendingPlan:
    """What git wants of one package that its latest revision does not hold yet."""

    commit: str
    status: str
    lines: tuple[str, ...]  # a unified diff per function, bounded
    truncated: bool
    functions: tuple[tuple[str, str], ...]  # (function, added|removed|modified)


def _diff(change: FunctionChange) -> list[str]:
    before = change.before.code.splitlines() if change.before else []
    after = change.after.code.splitlines() if change.after else []
    lines = list(
        difflib.unified_diff(
            before, after, f"a/{change.function}", f"b/{change.function}", lineterm=""
        )
    )
    if change.before and change.after:
        for attribute in ("type", "language", "sort_order"):
            old, new = getattr(change.before, attribute), getattr(change.after, attribute)
            if old != new:
                lines.append(f"# {change.function}: {attribute} {old} -> {new}")
        if dict(change.before.config) != dict(change.after.config):
            lines.append(f"# {change.function}: config changed")
    return lines or [f"# {change.function}: {change.change.value}"]


def plan_of(commit: str, status: str, changes: tuple[FunctionChange, ...]) -> PendingPlan:
    lines: list[str] = []
    for change in changes:
        lines += _diff(change)
    return PendingPlan(
        commit=commit,
        status=status,
        lines=tuple(lines[:MAX_LINES]),
        truncated=len(lines) > MAX_LINES,
        functions=tuple((c.function, c.change.value) for c in changes),
    )


class PendingPlans:
    """Per package path, its pending plan; written by the daemon's tick, read by the page."""

    def __init__(self) -> None:
        self._plans: dict[str, PendingPlan] = {}
        self._lock = threading.Lock()  # the page reads from a worker thread

    def observe(self, result: SyncResult) -> None:
        """After each sync: keep the plans of packages whose revision is still to be made."""
        with self._lock:
            for outcome in result.outcomes:
                if outcome.status in _SETTLED or not outcome.changes:
                    self._plans.pop(outcome.path, None)
                elif len(self._plans) < MAX_PACKAGES or outcome.path in self._plans:
                    self._plans[outcome.path] = plan_of(
                        result.commit, outcome.status.value, outcome.changes
                    )

    def get(self, path: str) -> PendingPlan | None:
        with self._lock:
            return self._plans.get(path)


__all__ = ["MAX_LINES", "PendingPlan", "PendingPlans", "plan_of"]

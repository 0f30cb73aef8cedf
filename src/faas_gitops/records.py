"""What the state dir says about the past: the values its readers hand to the page, the
``status`` command and the reports (the write side's values are in ``models``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from faas_gitops.models import DeploymentOutcome


@dataclass(frozen=True, slots=True)
class PackageStatus:
    """A package as the state dir last knew it: one row of ``status`` and the status page."""

    path: str
    name: str | None
    package_id: str | None
    revision_name: str | None
    revision_id: str | None
    status: str  # of its last recorded sync
    synced_at: datetime | None
    commit: str | None
    correlation_id: str | None
    error: str | None
    deployments: tuple[DeploymentOutcome, ...] = ()  # what runs where, one per environment


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """One recorded sync, for the status page's list and ``/api/status``."""

    id: int
    commit: str
    ref: str
    trigger: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None  # None: still running, or killed before it finished
    counts: Mapping[str, int]
    fatal_error: str | None

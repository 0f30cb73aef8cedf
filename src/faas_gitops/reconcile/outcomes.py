"""Outcomes the pipeline builds without writing anything, and how each one is logged."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from enum import StrEnum

import structlog

from faas_gitops.errors import ApiError, FaasGitopsError
from faas_gitops.models import CommitInfo, DesiredPackage, Outcome, PackagePlan, Status
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.plan import NewPackagePlan

log = structlog.get_logger(__name__)


def failure(
    desired: DesiredPackage, exc: FaasGitopsError, plan: PackagePlan | None = None
) -> Outcome:
    return Outcome(
        path=desired.path,
        status=Status.FAILED,
        package_id=plan.remote_package_id if plan else desired.package_id,
        correlation_id=exc.correlation_id if isinstance(exc, ApiError) else None,
        error=str(exc),
        name=desired.name,
    )


def would_create(
    desired: DesiredPackage, plan: PackagePlan | NewPackagePlan, commit: CommitInfo
) -> Outcome:
    """What a dry run reports for a package it would write (a new plan: a new package)."""
    return Outcome(
        path=desired.path,
        status=Status.WOULD_CREATE,
        package_id=plan.remote_package_id if isinstance(plan, PackagePlan) else None,
        revision_name=plan.revision_name,
        changes=plan.changes,
        name=desired.name,
    )


def tag_notes(commit: CommitInfo, outcomes: Iterable[Outcome]) -> tuple[str, ...]:
    """A tag pushed after its commit was synced: the revision already carries the SHA's name.

    The content is the same, so no second revision is made; say where the tag points instead.
    """
    if not commit.tags:
        return ()
    sha_name = planning.base_revision_name(CommitInfo(commit.sha, commit.subject))
    tag = commit.tags[0]
    notes: list[str] = []
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if outcome.status is not Status.UNCHANGED or outcome.revision_name != sha_name:
            continue
        log.info(
            "revision.tag_points_at_existing",
            path=outcome.path,
            tag=tag,
            revision_name=outcome.revision_name,
            revision_id=outcome.revision_id,
        )
        notes.append(
            f"{outcome.path}: tag {tag} points at the existing revision {outcome.revision_name} "
            "(same content, no new revision; tag before pushing, or push the tag with the commit)"
        )
    return tuple(notes)


def log_result(
    kind: str, status: StrEnum, fields: Mapping[str, object], *, quiet: Collection[StrEnum] = ()
) -> None:
    """One log line per result, named ``<kind>.<status>`` (``package.created``): a failure
    warns, a ``quiet`` status (one another line says more about) is debug, the rest info.

    One rule for a package's outcome and for a deployment's, so both read alike in the log.
    """
    event = f"{kind}.{status.value}"
    if status.value == "failed":
        log.warning(event, **fields)
    elif status in quiet:
        log.debug(event, **fields)
    else:
        log.info(event, **fields)


def debug_logged() -> bool:
    """Whether a debug line reaches the log now. Asked once per batch of result lines (a
    thousand packages in sync at the end of a run), so lines the level filter would drop are
    not built first (~20 ms per 1,000 packages on two environments)."""
    enabled = getattr(log, "is_enabled_for", None)
    return True if enabled is None else bool(enabled(logging.DEBUG))


_QUIET = (Status.UNCHANGED, Status.REMOVED)


def log_outcome(outcome: Outcome, *, debug: bool = True) -> None:
    """The package's line (an unchanged or removed package's deployments say more: debug).

    ``debug``: what ``debug_logged()`` said; ``False`` skips a debug line without building it.
    """
    if not debug and outcome.status in _QUIET:
        return
    fields = {
        "path": outcome.path,
        "status": outcome.status.value,
        "package_id": outcome.package_id,
        "revision_name": outcome.revision_name,
        "revision_id": outcome.revision_id,
        "correlation_id": outcome.correlation_id,
        "error": outcome.error,
    }
    log_result("package", outcome.status, fields, quiet=_QUIET)

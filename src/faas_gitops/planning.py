"""Pure planning: given a package as the commit has it and the remote's revisions, decide.

No I/O, no clock, no randomness: every rule of the sync (what "changed" means, which revision is
the latest, what the new revision is called) lives here and is tested with tables of cases.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from faas_gitops.models import (
    Action,
    ChangeKind,
    CommitInfo,
    DesiredPackage,
    FunctionChange,
    FunctionSpec,
    PackagePlan,
    RemoteRevision,
)

SHORT_SHA_LENGTH = 12
MAX_SUBJECT_LENGTH = 200


def latest_revision(revisions: Iterable[RemoteRevision]) -> RemoteRevision | None:
    """The revision with the greatest ``createdDttm``; list order is undocumented, so ignored.

    Ties (same millisecond) are broken by id so the answer does not depend on list order.
    """
    return max(revisions, key=lambda rev: (rev.created, rev.id), default=None)


def base_revision_name(commit: CommitInfo) -> str:
    """The tag on the commit (the highest in version order comes first), else the short SHA."""
    return commit.tags[0] if commit.tags else commit.sha[:SHORT_SHA_LENGTH]


def choose_revision_name(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... the first one no revision of the package holds.

    Terminates: at most ``len(taken) + 1`` candidates can be tried.
    """
    taken_names = set(taken)
    if base not in taken_names:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken_names:
        suffix += 1
    return f"{base}-{suffix}"


def revision_description(commit: CommitInfo) -> str:
    """Subject line and full SHA, so a revision in the portal leads back to its commit."""
    subject = " ".join(commit.subject.split())
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[: MAX_SUBJECT_LENGTH - 1] + "…"
    return f"{subject} (commit {commit.sha})" if subject else f"commit {commit.sha}"


def comparable_config(config: Mapping[str, Any], function_type: str) -> str:
    """Canonical JSON of a config for comparison.

    The docs show the API echoing a ``type`` discriminator inside ``config``; a ``type`` equal to
    the function's own type carries no information, so it is dropped on both sides rather than
    making every sync look like a change.
    """
    cleaned = {k: v for k, v in config.items() if not (k == "type" and v == function_type)}
    return json.dumps(cleaned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def function_differs(before: FunctionSpec, after: FunctionSpec) -> bool:
    return (
        before.type != after.type
        or before.language != after.language
        or before.sort_order != after.sort_order
        or before.code != after.code
        or comparable_config(before.config, before.type)
        != comparable_config(after.config, after.type)
    )


def diff_functions(
    remote: Sequence[FunctionSpec], desired: Sequence[FunctionSpec]
) -> tuple[FunctionChange, ...]:
    """Compare as sets keyed by function name; the result is sorted by name for stable output."""
    before = {fn.name: fn for fn in remote}
    after = {fn.name: fn for fn in desired}
    changes: list[FunctionChange] = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None:
            changes.append(FunctionChange(name, ChangeKind.ADDED, None, new))
        elif new is None:
            changes.append(FunctionChange(name, ChangeKind.REMOVED, old, None))
        elif function_differs(old, new):
            changes.append(FunctionChange(name, ChangeKind.MODIFIED, old, new))
    return tuple(changes)


def same_content(revision: RemoteRevision, desired: DesiredPackage) -> bool:
    """Whether a revision already holds exactly the desired functions (used to adopt it)."""
    if revision.functions is None:
        return False
    return not diff_functions(revision.functions, desired.functions)


def plan_package(
    desired: DesiredPackage,
    *,
    remote_package_id: str,
    commit: CommitInfo,
    revisions: Sequence[RemoteRevision],
    latest_functions: Sequence[FunctionSpec] | None,
) -> PackagePlan:
    """Decide for one package.

    ``latest_functions`` are the functions of ``latest_revision(revisions)`` (the caller fetched
    them); it must be given whenever ``revisions`` is non-empty.
    """
    latest = latest_revision(revisions)
    if latest is not None and latest_functions is None:
        raise ValueError("plan_package needs the latest revision's functions")
    changes = diff_functions(latest_functions or (), desired.functions)
    description = revision_description(commit)
    if latest is not None and not changes:
        return PackagePlan(
            package=desired,
            remote_package_id=remote_package_id,
            action=Action.NOOP,
            revision_name=latest.name,
            description=description,
            latest_revision_id=latest.id,
        )
    name = choose_revision_name(base_revision_name(commit), (rev.name for rev in revisions))
    return PackagePlan(
        package=desired,
        remote_package_id=remote_package_id,
        action=Action.CREATE,
        revision_name=name,
        description=description,
        changes=changes,
        latest_revision_id=latest.id if latest else None,
    )

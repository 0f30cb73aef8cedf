"""Pure planning: given a package as the commit has it and the remote's revisions, decide.

No I/O, no clock, no randomness: every rule of the sync (what "changed" means, which revision is
the latest, what the new revision is called, what its content stamp is) lives here and is tested
with tables of cases.

**Content stamps.** Every revision faas-gitops creates says in its description what it holds:
``faas-gitops: content sha256:<hex>``, the SHA-256 of the canonical form of its functions
(``canonical_functions``). A latest revision whose stamp equals the desired digest is known to
be in sync without fetching its functions; no stamp, or another one, means fetch and compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from faas_gitops.content import STAMP_PREFIX, comparable_config, content_digest, stamp_of
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


def revision_description(commit: CommitInfo, digest: str | None = None) -> str:
    """Subject line and full SHA, so a revision in the portal leads back to its commit, then
    the content stamp."""
    subject = " ".join(commit.subject.split())
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[: MAX_SUBJECT_LENGTH - 1] + "…"
    text = f"{subject} (commit {commit.sha})" if subject else f"commit {commit.sha}"
    return f"{text}\n{STAMP_PREFIX}{digest}" if digest else text


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
    them); it must be given whenever ``revisions`` is non-empty, unless the latest revision's
    content stamp equals the desired digest (then ``None`` means "trusted equal").
    """
    latest = latest_revision(revisions)
    digest = content_digest(desired.functions)
    description = revision_description(commit, digest)
    if latest is not None and latest_functions is None:
        if stamp_of(latest.description) != digest:
            raise ValueError("plan_package needs the latest revision's functions")
        changes: tuple[FunctionChange, ...] = ()  # the stamp vouches for the content
    else:
        changes = diff_functions(latest_functions or (), desired.functions)
    if latest is not None and not changes:
        action, name = Action.NOOP, latest.name
    else:
        action = Action.CREATE
        name = choose_revision_name(base_revision_name(commit), (rev.name for rev in revisions))
    return PackagePlan(
        package=desired,
        remote_package_id=remote_package_id,
        action=action,
        revision_name=name,
        description=description,
        changes=changes,
        latest_revision_id=latest.id if latest else None,
        digest=digest,
    )


@dataclass(frozen=True, slots=True)
class NewPackagePlan:
    """What to create for a package no remote package has yet (``--create-packages``): the
    package and its first revision, in one call. ``bound_to`` is the same plan once the package
    exists but its first revision does not (a server that made only the package)."""

    package: DesiredPackage
    commit: CommitInfo
    revision_name: str
    description: str
    digest: str
    changes: tuple[FunctionChange, ...]

    def bound_to(self, package_id: str) -> PackagePlan:
        """This plan as a revision create in the package ``package_id``: what ``plan_package``
        decides for a package with no revision yet (so the two cannot disagree)."""
        return plan_package(
            self.package,
            remote_package_id=package_id,
            commit=self.commit,
            revisions=(),
            latest_functions=None,
        )


def plan_new_package(desired: DesiredPackage, commit: CommitInfo) -> NewPackagePlan:
    """Decide for a package that does not exist remotely: every function is added, and no
    revision name is taken yet."""
    digest = content_digest(desired.functions)
    return NewPackagePlan(
        package=desired,
        commit=commit,
        revision_name=base_revision_name(commit),
        description=revision_description(commit, digest),
        digest=digest,
        changes=diff_functions((), desired.functions),
    )

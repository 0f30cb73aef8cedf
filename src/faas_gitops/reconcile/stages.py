"""The read, plan and write stages of one sync, each over frozen values.

``read_stage`` takes the refs to read and what git knows of the revisions they replace, and
returns the packages read and the plans waiting for a write (``ReadResult``); packages in sync
or failed are settled as they become known. Each package's revision list, once planned, is also
handed forward to ``ReadAhead`` (a sync with environments: the release stage's reads start
then, see ``deploy/ahead.py``); nothing comes back from it into this stage. ``write_stage``
carries out the plans it is given. Neither calls back into an earlier stage; both report each
outcome once to ``Told`` (progress).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from faas_gitops.errors import RUN_STOPPERS, FaasGitopsError
from faas_gitops.models import (
    Action,
    CommitInfo,
    DesiredPackage,
    Outcome,
    PackageFailure,
    PackagePlan,
    PackageRef,
    PlannedRevisions,
    Status,
)
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.checks import Planned
from faas_gitops.reconcile.gitread import EarlierTree, GitThread, read_paced
from faas_gitops.reconcile.outcomes import failure
from faas_gitops.reconcile.plan import NewPackagePlan
from faas_gitops.reconcile.remote import EarlierSync, RemoteReader, RemoteState
from faas_gitops.reconcile.writer import Writer
from faas_gitops.source import Repository
from faas_gitops.source.limits import SizeLimits


@dataclass(slots=True)
class Told:
    """Outcomes as they become known, each told to ``on_package`` once (progress)."""

    on_package: Callable[[Outcome], None] | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def settle(self, outcome: Outcome) -> None:
        told = outcome.path in self.outcomes
        self.outcomes[outcome.path] = outcome
        if self.on_package is not None and not told:
            self.on_package(outcome)


class ReadAhead(Protocol):
    """Where a planned package's revision list goes next (``deploy.ahead.ReadingAhead``).

    Must not raise; it only starts reads.
    """

    def package(self, planned: PlannedRevisions) -> None: ...


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The read stage's result: what was read from git, what awaits the write stage."""

    desired: Mapping[str, DesiredPackage]
    planned: tuple[Planned, ...]
    asked: int  # packages the API was asked about
    # The content digest of each package planned, by path: the release stage's targets carry
    # it, and 12 KB of code is not encoded and hashed again after the last answer.
    digests: Mapping[str, str] = field(default_factory=dict)


async def read_stage(  # noqa: PLR0917 - one call site
    reader: RemoteReader,
    source: Repository,
    in_git: GitThread,
    to_read: Sequence[PackageRef],
    limits: SizeLimits,
    earlier: Mapping[str, EarlierTree],
    commit: CommitInfo,
    slots: asyncio.Semaphore,
    told: Told,
    ahead: ReadAhead | None = None,
) -> ReadResult:
    """Read every package to read, from git and from the API, and plan each (pure).

    ``ahead`` is handed each package planned (in sync or to be written), with its revision list.

    A rejected key or an API out of reach (``RUN_STOPPERS``) or a repository-wide problem
    (``SourceError``) in any task cancels the others and is raised here as itself, the first
    one found.
    """
    desired: dict[str, DesiredPackage] = {}
    digests: dict[str, str] = {}
    planned: list[Planned] = []
    asked = 0

    async def ask(item: DesiredPackage | PackageFailure, then: EarlierSync | None) -> None:
        nonlocal asked
        if isinstance(item, PackageFailure):
            told.settle(
                Outcome(item.path, Status.FAILED, package_id=item.package_id, error=item.error)
            )
            return
        desired[item.path] = item
        async with slots:
            asked += 1
            remote, result, digest = await _read_and_plan(reader, item, then, commit)
        if digest is not None:
            digests[item.path] = digest
        if ahead is not None and remote is not None:
            _hand_ahead(ahead, item, remote, result, digest)
        if isinstance(result, Planned):
            planned.append(result)
        else:
            told.settle(result)

    with first_error():
        await read_paced(in_git, source, to_read, limits=limits, earlier=earlier, ask=ask)
    ordered = tuple(sorted(planned, key=lambda p: p.desired.path))
    return ReadResult(desired, ordered, asked, digests)


async def _read_and_plan(
    reader: RemoteReader, desired: DesiredPackage, then: EarlierSync | None, commit: CommitInfo
) -> tuple[RemoteState | None, Outcome | Planned, str | None]:
    """One package: what the API holds (``None``: the read failed), then the plan (pure); an
    outcome when nothing is to be written (in sync, or failed); and the plan's content digest
    (``None``: not planned)."""
    try:
        remote = await reader.read(desired, then)
    except RUN_STOPPERS:
        raise
    except FaasGitopsError as exc:
        return None, failure(desired, exc), None
    result, digest = _plan(desired, remote, commit)
    return remote, result, digest


def _plan(
    desired: DesiredPackage, remote: RemoteState, commit: CommitInfo
) -> tuple[Outcome | Planned, str]:
    """The package's plan (``Planned``) or, in sync, its outcome; with the plan's digest."""
    if remote.package_id is None:
        new = planning.plan_new_package(desired, commit)
        return Planned(desired, remote, new), new.digest
    plan = planning.plan_package(
        desired,
        remote_package_id=remote.package_id,
        commit=commit,
        revisions=remote.revisions,
        latest_functions=remote.latest_functions,
    )
    if plan.action is not Action.NOOP:
        return Planned(desired, remote, plan), plan.digest
    unchanged = Outcome(
        path=desired.path,
        status=Status.UNCHANGED,
        package_id=plan.remote_package_id,
        revision_name=plan.revision_name,
        revision_id=plan.latest_revision_id,
        name=desired.name,
    )
    return unchanged, plan.digest


def _hand_ahead(
    ahead: ReadAhead,
    desired: DesiredPackage,
    remote: RemoteState,
    result: Outcome | Planned,
    digest: str | None,
) -> None:
    """A planned package's revision list, to the reads ahead: in sync (its revision is the
    one wanted) or to be written (the wanted one is not created yet), with the content digest
    it was planned with. Failed or new: nothing."""
    if remote.package_id is None:
        return
    wanted: str | None
    if isinstance(result, Planned):
        wanted = None  # to be written: not created yet
    elif result.status is Status.UNCHANGED:
        wanted = result.revision_id
    else:
        return
    ahead.package(PlannedRevisions(desired, remote.package_id, remote.revisions, wanted, digest))


async def write_stage(
    writer: Writer, to_write: Sequence[Planned], slots: asyncio.Semaphore, told: Told
) -> None:
    """Carry out every plan, at most ``--concurrency`` at once."""

    async def write(item: Planned) -> None:
        async with slots:
            try:
                if isinstance(item.plan, NewPackagePlan):
                    outcome = await writer.create_package(item.plan)
                else:
                    outcome = await writer.create_revision(item.plan, item.remote.revisions)
            except RUN_STOPPERS:
                raise
            except FaasGitopsError as exc:
                plan = item.plan if isinstance(item.plan, PackagePlan) else None
                outcome = failure(item.desired, exc, plan)
        told.settle(outcome)

    with first_error():
        async with asyncio.TaskGroup() as group:
            for item in to_write:
                group.create_task(write(item))


@contextmanager
def first_error() -> Iterator[None]:
    """A task group's failure raised as itself: the first ``RUN_STOPPERS`` one, else the
    first one found."""
    try:
        yield
    except BaseExceptionGroup as group:
        stopping = group.subgroup(RUN_STOPPERS)
        first = (stopping or group).exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


__all__ = ["ReadAhead", "ReadResult", "Told", "first_error", "read_stage", "write_stage"]

"""The release stage's reads, made while the revision stage runs (issue 25).

A sync with environments reads, besides each package's revision list, the package inventory
(``GET /packages``, page after page) and the deployments of each package's running revisions.
None of those reads depends on a decision of the revision stage, so ``ReadingAhead`` makes them
as the revision stage's answers arrive: the inventory from the start, and a package's
deployment lists as soon as its revision list is read and planned. Decisions and writes stay
behind the gate that opens when the whole commit was read; there ``settle()`` freezes what was
read into ``ReleaseReads``, handed forward to ``run_release``. Nothing here decides anything
the release stage would not: it asks ``lists_to_read`` (the stage's own rule) which lists a
read would make, so the requests are the same ones, made earlier.

A package in sync is also planned here, as soon as its lists arrive (``PlannedAhead``): the
decision is pure (``package_plans.plan_environments``, the stage's own) and needs only what is
frozen by then: the revision the commit wants, the lists, the environments and the inventory's
holds and marks. The stage takes such a plan only when its own inputs for the package are the
ones it was made from (``PlanBasis``, the target, the revision list, the inventory), so after
the last answer only the writes, the journal and the report remain. What needs the whole commit
(the repository-wide checks, marks, prune) still waits for the gate.

Bounded: every request waits for one of the run's ``--concurrency`` slots (the revision stage's
own), so the pipeline never has more in flight than the client's limit. One package's failed
read is kept as that package's ``ReadAhead.error`` and fails only that package, at the stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.api import Requester, TaggedPackage
from faas_gitops.deploy.environment import DeployTarget, ReleaseEnvironment
from faas_gitops.deploy.observe import (
    KnownDeployments,
    ReadAhead,
    Remembered,
    lists_to_read,
    remembered_view,
    to_remember,
    view_of,
)
from faas_gitops.deploy.package_plans import PlanOrOutcome, plan_environments, writes
from faas_gitops.errors import ApiError
from faas_gitops.models import PlannedRevisions, RemoteRevision


@dataclass(frozen=True, slots=True)
class PlanBasis:
    """What every plan of a run is made under: the active environments, the keysets
    ``faas-gitops.yaml`` names, the environments it defines (``None``: not checked) and the
    dry run. A plan made ahead under another basis is not the stage's."""

    environments: tuple[ReleaseEnvironment, ...]
    configured: frozenset[int]
    defined: frozenset[str] | None
    dry_run: bool


@dataclass(frozen=True, slots=True)
class PlannedAhead:
    """One package's plans, made as soon as its deployment lists arrived (in sync: its
    revision exists), from ``target`` and the revision list ``listing``; ``keep`` is what the
    stage's own read would have remembered of it (``KnownDeployments.keep``)."""

    target: DeployTarget
    listing: tuple[RemoteRevision, ...]
    plans: tuple[PlanOrOutcome, ...]
    keep: Remembered | None


@dataclass(frozen=True, slots=True)
class ReleaseReads:
    """What was read ahead, frozen at the gate: the inventory (or the error reading it raised;
    ``None``: not read ahead), the deployment lists by package id, and the plans made of them
    (by package id) under ``basis``."""

    inventory: tuple[TaggedPackage, ...] | ApiError | None = None
    deployments: Mapping[str, ReadAhead] = field(default_factory=dict)
    planned: Mapping[str, PlannedAhead] = field(default_factory=dict)
    basis: PlanBasis | None = None

    def plan_for(
        self,
        target: DeployTarget,
        listing: Sequence[RemoteRevision] | None,
        basis: PlanBasis,
        inventory: Sequence[TaggedPackage],
    ) -> PlannedAhead | None:
        """The plan made ahead for ``target``, when the stage would make the same one: the same
        target, revision list, basis, and the inventory read ahead (not one read again)."""
        found = self.planned.get(target.package_id or "")
        if (
            found is None
            or found.target != target
            or listing is None
            or self.basis != basis
            or inventory is not self.inventory
            or not same_listing(found.listing, listing)
        ):
            return None
        return found


def same_listing(one: Sequence[RemoteRevision], other: Sequence[RemoteRevision]) -> bool:
    """Whether two revision lists say the same to a plan (ids, names, stamps, counters; the
    functions' code is not read by it)."""
    return len(one) == len(other) and all(
        a is b
        or (
            a.id == b.id
            and a.name == b.name
            and a.description == b.description
            and a.running == b.running
            and a.total == b.total
        )
        for a, b in zip(one, other, strict=True)
    )


def complete(
    revisions: Sequence[RemoteRevision] | None, package: TaggedPackage | None
) -> Sequence[RemoteRevision] | None:
    """``revisions`` when they are all of the package's (as many as the inventory counts):
    a newest-first read may have stopped after its first page, and a running revision (or a
    pinned one) could be on a later page. Otherwise ``None``: the list is read again."""
    if revisions is None or package is None or package.revisions_total is None:
        return None
    return revisions if len({r.id for r in revisions}) >= package.revisions_total else None


def environments_of(
    target: DeployTarget,
    environments: Sequence[ReleaseEnvironment],
    defined: frozenset[str] | None,
) -> list[ReleaseEnvironment] | str:
    """The active environments ``target`` deploys to, or the one line saying why it cannot
    (its ``package.yaml`` names an environment ``faas-gitops.yaml`` lacks)."""
    for key, names in (
        ("environments", target.environments or ()),
        ("pin", tuple(name for name, _ in target.pins)),
    ):
        for name in names:
            if defined is not None and name not in defined:
                return (
                    f"{target.path}/package.yaml: {key}: '{name}' is not defined in"
                    " faas-gitops.yaml; define it there or remove it here"
                )
    return [
        env
        for env in environments
        if target.environments is None or env.name in target.environments
    ]


class ReadingAhead:
    """Reads for the release stage, started as the revision stage reads (see the module doc).

    One per sync, created only when environments are active; ``begin()`` starts the inventory,
    ``package()`` one package's deployment lists, ``settle()`` waits for all of them and
    freezes them, ``close()`` cancels what is left (a run that stops early). ``configured``
    (every environment ``faas-gitops.yaml`` defines; default ``environments``) and ``dry_run``
    are the run's: the plans made ahead are made under them (``PlanBasis``).
    """

    def __init__(
        self,
        api: Requester,
        *,
        known: KnownDeployments | None,
        environments: Sequence[ReleaseEnvironment],
        defined: frozenset[str] | None,
        slots: asyncio.Semaphore,
        configured: Sequence[ReleaseEnvironment] | None = None,
        dry_run: bool = False,
    ) -> None:
        self._api = api
        self._known = known
        self._environments = tuple(environments)
        self._defined = defined
        self._slots = slots
        self._basis = PlanBasis(
            self._environments,
            frozenset(env.keyset_id for env in (configured or environments)),
            defined,
            dry_run,
        )
        self._inventory: asyncio.Task[tuple[TaggedPackage, ...] | ApiError] | None = None
        self._packages: dict[str, asyncio.Task[ReadAhead | None]] = {}
        self._planned: dict[str, PlannedAhead] = {}
        self._by_id: dict[str, TaggedPackage] | None = None

    def begin(self) -> None:
        """Start reading the inventory (its pages one after another, in one slot)."""
        if self._inventory is None:
            self._inventory = asyncio.create_task(self._read_inventory())

    def package(self, planned: PlannedRevisions) -> None:
        """Start listing the deployments the release stage will read for this package.

        ``planned.revision_id`` is the revision the commit wants (the unchanged latest),
        ``None`` when the revision stage has yet to create it (new: no deployment to list).
        """
        package_id, revision_id = planned.package_id, planned.revision_id
        if self._inventory is None or package_id in self._packages:
            return
        name = next((r.name for r in planned.revisions if r.id == revision_id), None)
        target = DeployTarget.of(planned.desired, package_id, revision_id, name, planned.digest)
        mine = environments_of(target, self._environments, self._defined)
        if isinstance(mine, str) or not mine:
            return  # the stage reads nothing for it either
        task = asyncio.create_task(self._read_package(target, mine, planned.revisions))
        self._packages[package_id] = task

    async def settle(self) -> ReleaseReads:
        """Everything read ahead, once every read has answered."""
        inventory: tuple[TaggedPackage, ...] | ApiError | None = None
        if self._inventory is not None:
            inventory = await self._inventory
        read = await asyncio.gather(*self._packages.values())
        lists = dict(zip(self._packages, read, strict=True))
        return ReleaseReads(
            inventory,
            {pid: ahead for pid, ahead in lists.items() if ahead},
            dict(self._planned),
            self._basis,
        )

    async def close(self) -> None:
        """Cancel the reads still running and wait for them to end."""
        tasks = [*self._packages.values(), *([self._inventory] if self._inventory else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_inventory(self) -> tuple[TaggedPackage, ...] | ApiError:
        async with self._slots:
            try:
                return tuple(await deploy_api.list_packages(self._api))
            except ApiError as exc:
                return exc

    async def _read_package(
        self,
        target: DeployTarget,
        mine: Sequence[ReleaseEnvironment],
        revisions: tuple[RemoteRevision, ...],
    ) -> ReadAhead | None:
        assert self._inventory is not None  # noqa: S101 - package() checks it
        assert target.package_id is not None  # noqa: S101 - package() has one
        package_id = target.package_id
        inventory = await asyncio.shield(self._inventory)
        if isinstance(inventory, ApiError):
            return None  # the stage fails every target without reading
        if self._by_id is None:
            self._by_id = {package.id: package for package in inventory}
        package = self._by_id.get(package_id)
        if complete(revisions, package) is None:
            return None  # the stage reads every page first; its list may differ
        also = (target.revision_id,) if target.revision_id else ()
        recalled = self._known.recall(package_id) if self._known is not None else None
        wanted = lists_to_read(revisions, also, recalled, trust=True)
        read = await _gated_lists(self._api, sorted(wanted), self._slots) if wanted else None
        if target.revision_id is not None and (read is None or read.error is None):
            planned = self._plan(target, mine, revisions, package, recalled, wanted, read)
            if planned is not None:
                self._planned[package_id] = planned
        return read

    def _plan(  # noqa: PLR0917 - one call site, the read's own values
        self,
        target: DeployTarget,
        mine: Sequence[ReleaseEnvironment],
        revisions: tuple[RemoteRevision, ...],
        package: TaggedPackage | None,
        recalled: Remembered | None,
        wanted: set[str] | None,
        read: ReadAhead | None,
    ) -> PlannedAhead | None:
        """The package's plans as the stage would make them on this read, or ``None`` where
        the stage would read again first: something starting or stopping (it waits), or
        a plan on remembered deployments that writes (it reads them fresh)."""
        package_id = target.package_id or ""
        keysets = [env.keyset_id for env in mine]
        keep: Remembered | None = None
        if wanted is None and recalled is not None:
            view = remembered_view(package_id, revisions, recalled)
        else:
            view = view_of(package_id, revisions, wanted or (), read.lists if read else {})
            keep = to_remember(view, wanted or (), keysets)
        if view.in_transition_on(keysets):
            return None
        marks = tags.parse(package.tags if package else ())
        basis = self._basis
        plans = plan_environments(
            target, mine, view, basis.configured, marks, dry_run=basis.dry_run
        )
        if view.remembered and any(writes(plan) for plan in plans):
            return None
        return PlannedAhead(target, revisions, tuple(plans), keep)


async def _gated_lists(
    api: Requester, wanted: Sequence[str], slots: asyncio.Semaphore
) -> ReadAhead:
    """Every list of ``wanted``, one slot per request; the first failed read's error (the
    stage would have failed the package on it)."""

    async def one(rev_id: str) -> ReadAhead:
        async with slots:
            return await read_one(api, rev_id)

    parts = await asyncio.gather(*(one(rev_id) for rev_id in wanted))
    for part in parts:
        if part.error is not None:
            return part
    return ReadAhead({rev: lists for part in parts for rev, lists in part.lists.items()})


async def read_one(api: Requester, revision_id: str) -> ReadAhead:
    """One revision's deployment list, or the error reading it raised."""
    try:
        found = await deploy_api.list_revision_deployments(api, revision_id)
    except ApiError as exc:
        return ReadAhead(error=exc)
    return ReadAhead({revision_id: tuple(found)})


__all__ = [
    "PlanBasis",
    "PlannedAhead",
    "ReadingAhead",
    "ReleaseReads",
    "complete",
    "environments_of",
    "same_listing",
]

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

Bounded: every request waits for one of the run's ``--concurrency`` slots (the revision stage's
own), so the pipeline never has more in flight than the client's limit. One package's failed
read is kept as that package's ``ReadAhead.error`` and fails only that package, at the stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Requester, TaggedPackage
from faas_gitops.deploy.environment import DeployTarget, ReleaseEnvironment
from faas_gitops.deploy.observe import KnownDeployments, ReadAhead, lists_to_read
from faas_gitops.errors import ApiError
from faas_gitops.models import PlannedRevisions, RemoteRevision


@dataclass(frozen=True, slots=True)
class ReleaseReads:
    """What was read ahead, frozen at the gate: the inventory (or the error reading it raised;
    ``None``: not read ahead) and the deployment lists by package id."""

    inventory: tuple[TaggedPackage, ...] | ApiError | None = None
    deployments: Mapping[str, ReadAhead] = field(default_factory=dict)


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
    freezes them, ``close()`` cancels what is left (a run that stops early).
    """

    def __init__(
        self,
        api: Requester,
        *,
        known: KnownDeployments | None,
        environments: Sequence[ReleaseEnvironment],
        defined: frozenset[str] | None,
        slots: asyncio.Semaphore,
    ) -> None:
        self._api = api
        self._known = known
        self._environments = tuple(environments)
        self._defined = defined
        self._slots = slots
        self._inventory: asyncio.Task[list[TaggedPackage] | ApiError] | None = None
        self._packages: dict[str, asyncio.Task[ReadAhead | None]] = {}
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
        target = DeployTarget.of(planned.desired, package_id, revision_id, None)
        mine = environments_of(target, self._environments, self._defined)
        if isinstance(mine, str) or not mine:
            return  # the stage reads nothing for it either
        also = (revision_id,) if revision_id else ()
        task = asyncio.create_task(self._read_package(package_id, planned.revisions, also))
        self._packages[package_id] = task

    async def settle(self) -> ReleaseReads:
        """Everything read ahead, once every read has answered."""
        inventory: tuple[TaggedPackage, ...] | ApiError | None = None
        if self._inventory is not None:
            found = await self._inventory
            inventory = found if isinstance(found, ApiError) else tuple(found)
        read = await asyncio.gather(*self._packages.values())
        lists = dict(zip(self._packages, read, strict=True))
        return ReleaseReads(inventory, {pid: ahead for pid, ahead in lists.items() if ahead})

    async def close(self) -> None:
        """Cancel the reads still running and wait for them to end."""
        tasks = [*self._packages.values(), *([self._inventory] if self._inventory else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_inventory(self) -> list[TaggedPackage] | ApiError:
        async with self._slots:
            try:
                return await deploy_api.list_packages(self._api)
            except ApiError as exc:
                return exc

    async def _read_package(
        self, package_id: str, revisions: tuple[RemoteRevision, ...], also: Collection[str]
    ) -> ReadAhead | None:
        assert self._inventory is not None  # noqa: S101 - package() checks it
        inventory = await asyncio.shield(self._inventory)
        if isinstance(inventory, ApiError):
            return None  # the stage fails every target without reading
        if self._by_id is None:
            self._by_id = {package.id: package for package in inventory}
        if complete(revisions, self._by_id.get(package_id)) is None:
            return None  # the stage reads every page first; its list may differ
        recalled = self._known.recall(package_id) if self._known is not None else None
        wanted = lists_to_read(revisions, also, recalled, trust=True)
        if not wanted:
            return None
        return await _gated_lists(self._api, sorted(wanted), self._slots)


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


__all__ = ["ReadingAhead", "ReleaseReads", "complete", "environments_of"]

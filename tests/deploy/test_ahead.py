"""The release stage's reads made ahead (``deploy/ahead.py``), against the in-memory API.

What is read ahead is what the stage would read itself, no more: the stage then reads none of
it again, a package's failed read fails that package alone, and no more requests are in flight
than the slots allow.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from faas_gitops.api import ApiClient
from faas_gitops.deploy import DeployTarget, ReleaseEnvironment, ReleaseInputs, run_release
from faas_gitops.deploy.ahead import PlanBasis, ReadingAhead, ReleaseReads
from faas_gitops.deploy.api import Deployment
from faas_gitops.deploy.observe import Remembered
from faas_gitops.deploy.plan import DeploymentPlan
from faas_gitops.deploy.stage import Release
from faas_gitops.deploy.writer import Timing
from faas_gitops.errors import ApiRetryable
from faas_gitops.models import (
    DeploymentOutcome,
    DeployStatus,
    DesiredPackage,
    PlannedRevisions,
    RemoteRevision,
)
from tests.deploy.fake_faas import FakeFaas

STAGING = ReleaseEnvironment("staging", 412345)
PROD = ReleaseEnvironment("production", 498765)
DEPLOYMENT_LIST = "deployment list"


class Memory:
    """``KnownDeployments`` in a dict, as the state dir keeps it."""

    def __init__(self) -> None:
        self.kept: dict[str, Remembered | None] = {}

    def recall(self, package_id: str) -> Remembered | None:
        return self.kept.get(package_id)

    def keep(self, package_id: str, remembered: Remembered | None) -> None:
        self.kept[package_id] = remembered


class Counting:
    """An ``ApiClient`` that counts the requests in flight at once (each waits a few turns)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self.now = self.most = 0

    async def _held(self, call: Any) -> Any:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await call
        finally:
            self.now -= 1

    async def request(self, call: Any) -> Any:
        return await self._held(self._api.request(call))

    async def listing(self, path: str, **kwargs: Any) -> Any:
        return await self._held(self._api.listing(path, **kwargs))

    async def list_revisions(self, package_id: str, **kwargs: Any) -> Any:
        return await self._held(self._api.list_revisions(package_id, **kwargs))


def fake_with(packages: int) -> FakeFaas:
    """``packages`` packages ``p0``.., each running ``r<i>`` on staging and production."""
    fake = FakeFaas(max_running=1000)
    for index in range(packages):
        fake.add_revision(f"p{index}", f"r{index}", "v1")
        fake.run(f"r{index}", STAGING.keyset_id)
        fake.run(f"r{index}", PROD.keyset_id)
    return fake


def desired(index: int, environments: tuple[str, ...] | None = None) -> DesiredPackage:
    return DesiredPackage(f"pkg-{index}", f"p{index}", None, None, (), environments=environments)


def deployment_lists(fake: FakeFaas) -> list[str]:
    """The revisions whose deployment list was asked for, in order."""
    return [
        path.split("/")[4] for method, path in fake.log if path.endswith("/package-deployments")
    ]


async def lists_of(api: Any, packages: int) -> dict[str, list[RemoteRevision]]:
    return {f"p{i}": (await api.list_revisions(f"p{i}"))[0] for i in range(packages)}


async def read_ahead(
    api: Any,
    lists: dict[str, list[RemoteRevision]],
    *,
    known: Memory | None = None,
    slots: int = 8,
    wanted: Sequence[DesiredPackage] = (),
    active: tuple[ReleaseEnvironment, ...] = (STAGING, PROD),
) -> ReleaseReads:
    ahead = ReadingAhead(
        api,
        known=known,
        environments=active,
        defined=frozenset({"staging", "production"}),
        slots=asyncio.Semaphore(slots),
    )
    ahead.begin()
    for item in wanted or [desired(i) for i in range(len(lists))]:
        package_id = item.package_id or ""
        revisions = tuple(lists[package_id])
        ahead.package(PlannedRevisions(item, package_id, revisions, revisions[0].id))
    try:
        return await ahead.settle()
    finally:
        await ahead.close()


async def release(
    api: Any,
    packages: int,
    lists: dict[str, list[RemoteRevision]],
    reads: ReleaseReads | None,
    known: Memory | None = None,
    *,
    timing: Timing | None = None,
) -> Release:
    targets = tuple(DeployTarget(f"pkg-{i}", f"p{i}", f"r{i}", "v1") for i in range(packages))
    inputs = ReleaseInputs(
        environments=(STAGING, PROD),
        configured=(STAGING, PROD),
        targets=targets,
        owner="acme/functions",
        mark=False,
        defined_names=frozenset({"staging", "production"}),  # as ``read_ahead`` has them
    )
    return await run_release(api, inputs, known=known, listed=lists, ahead=reads, timing=timing)


def test_the_lists_read_ahead_are_the_stages_own_and_it_reads_none_of_them_again() -> None:
    fake = fake_with(3)

    async def main() -> Release:
        api = fake.client()
        lists = await lists_of(api, 3)
        fake.log.clear()
        reads = await read_ahead(api, lists)
        assert sorted(deployment_lists(fake)) == ["r0", "r1", "r2"]
        assert Counter(path for _, path in fake.log)["/v2/faas/packages"] == 1  # the inventory
        fake.log.clear()
        return await release(api, 3, lists, reads)

    done = asyncio.run(main())

    assert fake.log == []  # everything the stage needed was read ahead
    assert {o.status for outcomes in done.deployments.values() for o in outcomes} == {
        DeployStatus.IN_SYNC
    }


def test_what_the_stage_reads_without_reading_ahead_is_the_same_requests() -> None:
    fake = fake_with(3)

    async def main() -> list[str]:
        api = fake.client()
        lists = await lists_of(api, 3)
        fake.log.clear()
        await release(api, 3, lists, None)
        return deployment_lists(fake)

    assert sorted(asyncio.run(main())) == ["r0", "r1", "r2"]


def test_a_failed_deployment_list_read_ahead_fails_that_package_alone() -> None:
    fake = fake_with(3)
    fake.fail_lists.add("r1")

    async def main() -> Release:
        api = fake.client()
        lists = await lists_of(api, 3)
        reads = await read_ahead(api, lists)
        assert reads.deployments["p1"].error is not None
        fake.log.clear()
        return await release(api, 3, lists, reads)

    done = asyncio.run(main())

    assert deployment_lists(fake) == []  # the failed read is not made twice
    failed = done.deployments["pkg-1"]
    assert {o.status for o in failed} == {DeployStatus.FAILED}
    assert all("500" in (o.error or "") or "Internal" in (o.error or "") for o in failed)
    for path in ("pkg-0", "pkg-2"):
        assert {o.status for o in done.deployments[path]} == {DeployStatus.IN_SYNC}


def test_reads_ahead_never_have_more_requests_in_flight_than_the_slots() -> None:
    fake = fake_with(12)

    async def main() -> int:
        api = fake.client()
        lists = await lists_of(api, 12)
        counting = Counting(api)
        await read_ahead(counting, lists, slots=3)
        return counting.most

    assert asyncio.run(main()) == 3
    assert len(deployment_lists(fake)) == 12


def test_deployments_remembered_under_the_same_counters_are_not_read_ahead() -> None:
    fake = fake_with(2)
    known = Memory()

    async def main() -> None:
        api = fake.client()
        lists = await lists_of(api, 2)
        await release(api, 2, lists, None, known)  # remembers what it read
        fake.log.clear()
        reads = await read_ahead(api, lists, known=known)
        assert reads.deployments == {}
        await release(api, 2, lists, reads, known)

    asyncio.run(main())

    assert deployment_lists(fake) == []


def test_nothing_is_read_ahead_for_a_package_the_stage_would_not_read() -> None:
    fake = fake_with(3)
    fake.add_revision("p2", "r2-old", "v0")  # p2 has 2 revisions: its list below is partial

    async def main() -> ReleaseReads:
        api = fake.client()
        lists = await lists_of(api, 3)
        lists["p2"] = [rev for rev in lists["p2"] if rev.id == "r2"]
        fake.log.clear()
        wanted = [
            desired(0, environments=("qa",)),  # an environment faas-gitops.yaml lacks
            desired(1, environments=("production",)),  # not active on this run
            desired(2),  # its list is not complete: the stage reads every page first
        ]
        return await read_ahead(api, lists, wanted=wanted, active=(STAGING,))

    reads = asyncio.run(main())

    assert reads.deployments == {}
    assert deployment_lists(fake) == []


def test_an_inventory_lacking_a_targets_package_is_read_again_by_the_stage() -> None:
    fake = fake_with(2)

    async def main() -> None:
        api = fake.client()
        lists = await lists_of(api, 2)
        fake.log.clear()
        await release(api, 2, lists, ReleaseReads(inventory=()))  # read before p0 and p1 existed

    asyncio.run(main())

    assert Counter(path for _, path in fake.log)["/v2/faas/packages"] == 1


def test_an_inventory_that_failed_ahead_fails_every_target_with_its_line() -> None:
    fake = fake_with(2)

    async def main() -> tuple[ReleaseReads, Release]:
        api = fake.client()
        lists = await lists_of(api, 2)
        broken = ReadingAhead(
            _Failing(api), known=None, environments=(STAGING,), defined=None,
            slots=asyncio.Semaphore(2),
        )  # fmt: skip
        broken.begin()
        reads = await broken.settle()
        return reads, await release(api, 2, lists, reads)

    reads, done = asyncio.run(main())

    assert isinstance(reads.inventory, ApiRetryable)
    for outcomes in done.deployments.values():
        assert {o.status for o in outcomes} == {DeployStatus.FAILED}
        assert all("cannot read the package inventory" in (o.error or "") for o in outcomes)


def marked(reads: ReleaseReads) -> ReleaseReads:
    """``reads`` whose plans made ahead each say so (``note``), to tell them from the stage's."""
    planned = {
        package_id: replace(
            found,
            plans=tuple(
                DeploymentOutcome(p.environment, p.keyset_id, DeployStatus.IN_SYNC, note="ahead")
                for p in found.plans
            ),
        )
        for package_id, found in reads.planned.items()
    }
    return replace(reads, planned=planned)


def notes(done: Release) -> set[str | None]:
    return {o.note for outcomes in done.deployments.values() for o in outcomes}


def test_a_package_in_sync_is_planned_as_its_lists_arrive_and_the_stage_takes_that_plan() -> None:
    fake = fake_with(3)

    async def main() -> tuple[ReleaseReads, Release, Release]:
        api = fake.client()
        lists = await lists_of(api, 3)
        reads = await read_ahead(api, lists)
        fake.log.clear()
        return (
            reads,
            await release(api, 3, lists, marked(reads)),
            await release(api, 3, lists, None),
        )

    reads, taken, planned_by_the_stage = asyncio.run(main())

    assert sorted(reads.planned) == ["p0", "p1", "p2"]
    assert notes(taken) == {"ahead"}  # not one of them planned again after the gate
    ahead = [
        plan.outcome(DeployStatus.IN_SYNC)
        for found in reads.planned.values()
        for plan in found.plans
        if isinstance(plan, DeploymentPlan)
    ]
    stages = [o for outcomes in planned_by_the_stage.deployments.values() for o in outcomes]
    assert Counter(ahead) == Counter(stages)  # the plans made ahead are the stage's own


def test_a_plan_made_ahead_is_used_only_on_the_inputs_it_was_made_from() -> None:
    fake = fake_with(1)

    async def main() -> tuple[ReleaseReads, list[RemoteRevision]]:
        api = fake.client()
        lists = await lists_of(api, 1)
        return await read_ahead(api, lists), lists["p0"]

    reads, listing = asyncio.run(main())
    assert isinstance(reads.inventory, tuple)
    assert reads.basis is not None
    target = reads.planned["p0"].target
    basis, inventory = reads.basis, reads.inventory

    assert reads.plan_for(target, listing, basis, inventory) is reads.planned["p0"]
    other_revision = replace(target, revision_id="r9", revision_name="v9")
    assert reads.plan_for(other_revision, listing, basis, inventory) is None
    other_content = replace(target, digest="another")
    assert reads.plan_for(other_content, listing, basis, inventory) is None
    stopped = [replace(listing[0], running=1)]  # a counter changed since
    assert reads.plan_for(target, stopped, basis, inventory) is None
    assert reads.plan_for(target, None, basis, inventory) is None  # the stage reads every page
    dry = PlanBasis(basis.environments, basis.configured, basis.defined, dry_run=True)
    assert reads.plan_for(target, listing, dry, inventory) is None
    assert reads.plan_for(target, listing, basis, tuple(inventory)[:0]) is None  # read again


def test_a_package_with_a_deployment_starting_is_left_to_the_stage_which_waits() -> None:
    fake = fake_with(2)
    on_staging = next(
        d for d in fake.deployments.values() if d.revision_id == "r0" and d.keyset_id == 412345
    )
    on_staging.state = "STARTING"  # still starting when the stage's wait runs out

    async def main() -> tuple[ReleaseReads, Release]:
        api = fake.client()
        lists = await lists_of(api, 2)
        reads = await read_ahead(api, lists)
        return reads, await release(api, 2, lists, marked(reads), timing=Timing(0.0))

    reads, done = asyncio.run(main())

    assert set(reads.deployments) == {"p0", "p1"}  # its lists are read ahead all the same
    assert sorted(reads.planned) == ["p1"]
    staging, production = done.deployments["pkg-0"]  # the stage's own plans: it waited
    assert staging.status is DeployStatus.FAILED
    assert "still in transition" in (staging.error or "")
    assert (production.status, production.note) == (DeployStatus.IN_SYNC, None)


def test_a_plan_on_remembered_deployments_that_would_write_is_left_to_a_fresh_read() -> None:
    fake = fake_with(2)
    known = Memory()
    # Remembered under today's counters, but wrongly: r0 would run on staging alone.
    known.keep(
        "p0",
        Remembered(
            (("r0", 2, 2),),
            frozenset({"r0"}),
            (Deployment("dep-0", "r0", STAGING.keyset_id, "RUNNING"),),
        ),
    )

    async def main() -> tuple[ReleaseReads, Release]:
        api = fake.client()
        lists = await lists_of(api, 2)
        reads = await read_ahead(api, lists, known=known)
        return reads, await release(api, 2, lists, reads, known)

    reads, done = asyncio.run(main())

    assert "p0" not in reads.planned  # it would start r0 on production: read fresh first
    assert {o.status for o in done.deployments["pkg-0"]} == {DeployStatus.IN_SYNC}
    assert fake.deployment_writes() == []


class _Failing(Counting):
    """Every paged list answers as a 500 would."""

    async def listing(self, path: str, **kwargs: Any) -> Any:
        raise ApiRetryable(f"GET {path}", "500 Internal Server Error!", status=500)

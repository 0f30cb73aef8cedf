"""A killed run's deployment steps are settled by the next one: never left ``pending`` forever.

Each test kills a real deployment stage (the emulator over HTTP, the ledger in ``tmp_path``,
journaled by the sync's own ``DeploymentJournal``) at a chosen journal row, as ``kill -9``
would between two rows, then lets ``settle_pending_deployments`` read the deployments.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from faas_gitops.api import ApiClient
from faas_gitops.api.retry import RetryPolicy
from faas_gitops.deploy import DeployTarget, Timing
from faas_gitops.deploy.recover import settle_pending_deployments
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import FunctionSpec
from faas_gitops.reconcile.release import DeploymentJournal
from faas_gitops.source.environments import Environment
from faas_gitops.state import Ledger
from tests.deploy.stage_support import release
from tests.harness import API_KEY

STAGING = Environment("staging", 412345, branches=("main",))
_T = TypeVar("_T")


class Killed(Exception):
    """Stands for ``kill -9``: the run stops between two journal rows."""


@dataclass(frozen=True)
class JournalRow:
    sync_id: int
    path: str
    step: str
    status: str
    deployment_id: str | None
    correlation_id: str | None
    error: str | None


class World:
    """The emulator, a ledger, and syncs that can be killed at a journal row."""

    def __init__(self, emulator: RunningEmulator, ledger: Ledger) -> None:
        self.emulator = emulator
        self.ledger = ledger

    def call(self, action: Callable[[ApiClient], Awaitable[_T]]) -> _T:
        async def go() -> _T:
            http = ApiClient.build_http_client(base_url=self.emulator.url, api_key=API_KEY)
            async with http:
                return await action(ApiClient(http, retry=RetryPolicy(max_attempts=1)))

        return asyncio.run(go())

    def package(self, name: str) -> DeployTarget:
        code = [FunctionSpec(name="f", type="BEFORE_PUBLISH", code="export default (r) => r.ok();")]

        async def create(api: ApiClient) -> DeployTarget:
            remote, _ = await api.create_package(
                name=name, description=None, revision_name="v1.0.0", functions=code
            )
            (revision,), _ = await api.list_revisions(remote.id, complete=True)
            return DeployTarget(f"packages/{name}", remote.id, revision.id, "v1.0.0")

        return self.call(create)

    def killed_sync(self, target: DeployTarget, *, at: tuple[str, str]) -> int:
        """A sync deploying ``target`` that dies when it would journal ``at`` (step, status)."""
        sync_id = self.ledger.begin_sync(
            commit="c0ffee", ref="main", trigger="test", dry_run=False, started_at=datetime.now(UTC)
        )
        journal = DeploymentJournal(
            self.ledger, sync_id, [STAGING], {target.path: target}, {target.path: target.package_id}
        )

        def dying(  # noqa: PLR0917 - the stage's Journal signature
            step: str,
            environment: str,
            path: str,
            deployment_id: str | None,
            correlation_id: str | None,
            status: str,
        ) -> None:
            if (step, status) == at:
                raise Killed(f"killed before journaling {step} {status}")
            journal(step, environment, path, deployment_id, correlation_id, status)

        with pytest.raises(ExceptionGroup) as killed:
            self.call(
                lambda api: release(
                    api,
                    [target],
                    environments=[STAGING],
                    journal=dying,
                    timing=Timing(deploy_timeout=10.0),
                )
            )
        assert killed.group_contains(Killed)
        return sync_id

    def settle(self, *, sync_id: int | None = None) -> int:
        return self.call(lambda api: settle_pending_deployments(api, self.ledger, sync_id=sync_id))

    def rows(self, path: str, step: str) -> list[JournalRow]:
        with sqlite3.connect(self.ledger.path) as db:
            found = db.execute(
                "SELECT sync_id, path, step, status, deployment_id, correlation_id, error"
                " FROM deployments WHERE path = ? AND step = ? ORDER BY id",
                (path, step),
            ).fetchall()
        return [JournalRow(*row) for row in found]

    def deployment_of(self, target: DeployTarget) -> dict[str, str]:
        (deployment,) = self.emulator.store.revision_deployments(str(target.revision_id))
        return deployment


pytestmark = pytest.mark.emulator(sample=False, deploy_delay_ms=30, list_order="created")


@pytest.fixture
def killed(tmp_path: Path, emulator: RunningEmulator) -> Iterator[World]:
    with Ledger(tmp_path) as ledger:
        yield World(emulator, ledger)


def test_a_pending_start_that_landed_is_settled_ok_and_one_that_did_not_abandoned(
    killed: World,
) -> None:
    landed = killed.package("landed")
    lost = killed.package("lost")
    killed.killed_sync(landed, at=("start", "ok"))  # applied; its answer never journaled
    killed.emulator.store.fault_deployment_writes("start", applied=False)
    killed.killed_sync(lost, at=("start", "unknown"))  # answered 500, killed before the check

    assert killed.settle() == 2

    pending, answer = killed.rows(landed.path, "start")
    assert (pending.status, answer.status, answer.error) == ("pending", "ok", None)
    assert answer.deployment_id == killed.deployment_of(landed)["id"]
    gets = {
        r.correlation_id
        for r in killed.emulator.requests
        if r.method == "GET" and r.path.endswith(str(answer.deployment_id))
    }
    assert answer.correlation_id in gets  # the read that found it started
    rows = killed.rows(lost.path, "start")
    assert [row.status for row in rows] == ["pending", "abandoned"]
    assert rows[-1].error is not None
    assert "not applied" in rows[-1].error
    assert killed.deployment_of(lost)["state"] == "STOPPED"
    assert killed.ledger.pending_deployment_steps() == []


def test_a_killed_create_answered_500_after_it_landed_is_settled_with_its_deployment(
    killed: World,
) -> None:
    target = killed.package("a")
    killed.emulator.store.fault_deployment_writes("create", applied=True, answer="500")
    killed.killed_sync(target, at=("create", "unknown"))

    assert killed.settle() == 1

    rows = killed.rows(target.path, "create")
    assert [(row.status, row.deployment_id) for row in rows] == [
        ("pending", None),
        ("ok", killed.deployment_of(target)["id"]),
    ]


def test_a_killed_create_answered_500_that_did_not_land_is_abandoned(killed: World) -> None:
    target = killed.package("a")
    killed.emulator.store.fault_deployment_writes("create", applied=False)
    killed.killed_sync(target, at=("create", "unknown"))

    assert killed.settle() == 1

    assert [row.status for row in killed.rows(target.path, "create")] == ["pending", "abandoned"]
    assert killed.emulator.store.revision_deployments(str(target.revision_id)) == []


def test_settled_steps_stay_settled_and_the_running_sync_is_left_alone(killed: World) -> None:
    first = killed.package("first")
    current = killed.package("current")
    killed.killed_sync(first, at=("start", "ok"))
    current_sync = killed.killed_sync(current, at=("start", "ok"))

    assert killed.settle(sync_id=current_sync) == 1
    assert killed.settle(sync_id=current_sync) == 0

    assert [row.status for row in killed.rows(first.path, "start")] == ["pending", "ok"]
    assert [row.status for row in killed.rows(current.path, "start")] == ["pending"]
    assert killed.ledger.pending_deployment_steps(before_sync=current_sync) == []
    (left,) = killed.ledger.pending_deployment_steps()
    assert (left.sync_id, left.path, left.step) == (current_sync, current.path, "start")


def test_a_step_whose_read_fails_is_left_for_the_next_run(killed: World) -> None:
    target = killed.package("a")
    killed.killed_sync(target, at=("start", "ok"))
    killed.emulator.store.force_error(
        str(target.package_id), 503, "FAAS-500", "down", methods=("GET",), times=1
    )

    assert killed.settle() == 0
    assert killed.settle() == 1

    assert [row.status for row in killed.rows(target.path, "start")] == ["pending", "ok"]

"""Every deployment call once over real HTTP against the emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from faas_gitops.api import ApiClient
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.errors import ApiConflict
from faas_gitops.models import FunctionSpec
from faas_gitops.settings import ApiSettings

KEY = "test-key"
KEYSET = 412345


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(api_key=KEY, deploy_delay_ms=0)) as running:
        yield running


def test_a_revision_is_deployed_started_listed_rolled_and_stopped(
    emulator: RunningEmulator,
) -> None:
    spec = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="export default (r) => r.ok();")

    async def scenario() -> None:
        async with ApiClient.open(ApiSettings(url=emulator.url, key=KEY)) as api:
            package, _ = await api.create_package(
                name="p", description=None, revision_name="v1", functions=[spec]
            )
            (first,), _ = await api.list_revisions(package.id)
            second, _ = await api.create_revision(
                package_id=package.id, name="v2", description="", functions=[spec]
            )
            old, correlation = await api.create_deployment(revision_id=first.id, keyset_id=KEYSET)
            assert correlation is not None
            assert old.state == "STOPPED"
            with pytest.raises(ApiConflict) as caught:
                await api.create_deployment(revision_id=first.id, keyset_id=KEYSET)
            assert caught.value.code == "FAAS-1015"
            limit = await api.running_deployments_limit()
            assert limit.current == 0
            await api.start_deployment(old.id)
            for _ in range(200):
                if (await api.get_deployment(old.id)).running:
                    break
                await asyncio.sleep(0.01)
            assert (await api.get_deployment(old.id)).running
            assert [d.id for d in await api.list_deployments(first.id)] == [old.id]
            new, _ = await api.create_deployment(revision_id=second.id, keyset_id=KEYSET)
            await api.rolling_update(old.id, new.id)
            for _ in range(200):
                if (await api.get_deployment(new.id)).running:
                    break
                await asyncio.sleep(0.01)
            assert (await api.get_deployment(new.id)).running
            stopped, _ = await api.stop_package_deployments(package.id)
            assert new.id in {d.id for d in stopped}

    asyncio.run(scenario())

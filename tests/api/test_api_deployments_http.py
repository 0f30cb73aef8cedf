"""Every deployment call once over real HTTP against the emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from faas_gitops.api import ApiClient
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import DeploymentExists
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import FunctionSpec
from faas_gitops.settings import ApiSettings
from tests.harness import API_KEY

# An empty emulator whose deployments start at once.
pytestmark = pytest.mark.emulator(sample=False, deploy_delay_ms=0)
KEYSET = 412345


async def running(api: ApiClient, deployment_id: str) -> None:
    """Wait until the emulator reports the deployment RUNNING (starts are asynchronous)."""
    for _ in range(200):
        if (await deploy_api.get_deployment(api, deployment_id))[0].running:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{deployment_id} never ran")


def test_a_revision_is_deployed_started_listed_rolled_and_stopped(
    emulator: RunningEmulator,
) -> None:
    spec = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="export default (r) => r.ok();")

    async def scenario() -> None:
        async with ApiClient.open(ApiSettings(url=emulator.url, key=API_KEY)) as api:
            package, _ = await api.create_package(
                name="p", description=None, revision_name="v1", functions=[spec]
            )
            (first,), _ = await api.list_revisions(package.id)
            second, _ = await api.create_revision(
                package_id=package.id, name="v2", description="", functions=[spec]
            )
            old, correlation = await deploy_api.create_deployment(api, first.id, KEYSET)
            assert correlation is not None
            assert old.state == "STOPPED"
            with pytest.raises(DeploymentExists) as caught:
                await deploy_api.create_deployment(api, first.id, KEYSET)
            assert caught.value.code == "FAAS-1015"
            limit, _ = await deploy_api.running_limit(api)
            assert limit.current == 0
            await deploy_api.start_deployment(api, old.id)
            await running(api, old.id)
            listed = await deploy_api.list_revision_deployments(api, first.id)
            assert [d.id for d in listed] == [old.id]
            new, _ = await deploy_api.create_deployment(api, second.id, KEYSET)
            await deploy_api.rolling_update(api, old.id, new.id)
            await running(api, new.id)
            assert (await deploy_api.running_limit(api))[0].current == 1
            assert await deploy_api.stop_package(api, package.id) is not None
            for _ in range(200):
                if not (await deploy_api.get_deployment(api, new.id))[0].running:
                    break
                await asyncio.sleep(0.01)
            assert not (await deploy_api.get_deployment(api, new.id))[0].running

    asyncio.run(scenario())

"""For the tests that drive ``run_release`` directly: one release of some targets, and packages
with revisions made over real HTTP in an emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from faas_gitops.api import ApiClient
from faas_gitops.deploy import (
    DeployTarget,
    PackageToPromote,
    ReleaseEnvironment,
    ReleaseInputs,
    run_release,
)
from faas_gitops.deploy.api import Requester
from faas_gitops.deploy.apply import Outcomes
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import FunctionSpec
from tests.harness import API_KEY

_T = TypeVar("_T")

OWNER = "acme/functions"


def environment(env: Any) -> ReleaseEnvironment:
    """A loader ``Environment`` (or anything with name, keyset id, frozen) as the stage's."""
    return ReleaseEnvironment(env.name, env.keyset_id, env.frozen)


async def release(
    api: Requester,
    targets: Sequence[DeployTarget],
    *,
    environments: Sequence[Any],
    journal: Any = None,
    timing: Any = None,
    **inputs: Any,
) -> Outcomes:
    """``run_release`` of ``targets`` on ``environments``; its per-path outcomes."""
    active = tuple(environment(env) for env in environments)
    done = await run_release(
        api,
        ReleaseInputs(
            environments=active,
            configured=active,
            targets=tuple(targets),
            owner=OWNER,
            declared_ids=frozenset(t.package_id for t in targets if t.package_id),
            **inputs,
        ),
        journal=journal,
        timing=timing,
    )
    outcomes = dict(done.deployments)
    outcomes.update({removed.path: removed.deployments for removed in done.removed})
    return outcomes


@dataclass
class Package:
    """A package made in the emulator: its path in git, its id, its revisions by name."""

    path: str
    id: str
    revisions: dict[str, str]  # name -> id

    def target(self, name: str, **extra: Any) -> DeployTarget:
        return DeployTarget(self.path, self.id, self.revisions[name], name, **extra)

    @property
    def ref(self) -> PackageToPromote:
        return PackageToPromote(self.path, self.id)


def with_client(emulator: RunningEmulator, action: Callable[[ApiClient], Awaitable[_T]]) -> _T:
    """``action`` with a client of ``emulator``, in an event loop of its own."""

    async def go() -> _T:
        http = ApiClient.build_http_client(base_url=emulator.url, api_key=API_KEY)
        async with http:
            return await action(ApiClient(http))

    return asyncio.run(go())


def code(revision: str) -> list[FunctionSpec]:
    """One function whose code names ``revision``: every revision differs from the others."""
    return [
        FunctionSpec(
            name="f", type="BEFORE_PUBLISH", code=f"export default (r) => r.ok(); // {revision}"
        )
    ]


def make_package(emulator: RunningEmulator, name: str, *revision_names: str) -> Package:
    """A package with one revision per name, created over HTTP in ``emulator``."""

    async def create(api: ApiClient) -> Package:
        first, *rest = revision_names
        remote, _ = await api.create_package(
            name=name, description=None, revision_name=first, functions=code(first)
        )
        for revision in rest:
            await api.create_revision(
                package_id=remote.id, name=revision, description="", functions=code(revision)
            )
        revisions, _ = await api.list_revisions(remote.id, complete=True)
        return Package(f"packages/{name}", remote.id, {r.name: r.id for r in revisions})

    return with_client(emulator, create)

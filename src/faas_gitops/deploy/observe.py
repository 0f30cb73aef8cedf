"""What runs for a package, on which keysets: the reads the deployment plan is made of.

The API has no "deployments of a package on a keyset" query. The revision list counts each
revision's running deployments (``packageDeploymentsRunning``), so only revisions that run
somewhere have their deployments listed (5.12). Deployment ids remembered from earlier runs are
checked with one GET each; when they account for every running deployment of a revision, that
revision's list is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from faas_gitops.content import stamp_of
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Deployment, Requester
from faas_gitops.deploy.plan import RevisionRef
from faas_gitops.deploy.writer import Timing
from faas_gitops.errors import ApiNotFound


class KnownDeployments(Protocol):
    """Deployment ids remembered per (package id, keyset id), e.g. in the state dir."""

    def get(self, package_id: str, keyset_id: int) -> str | None: ...
    def put(self, package_id: str, keyset_id: int, deployment_id: str) -> None: ...


#: In ``observe_package``'s ``also``: list the deployments of every revision that has any.
EVERY_DEPLOYED = "*"


@dataclass(frozen=True, slots=True)
class PackageView:
    """A package's revisions and every deployment known of its running revisions."""

    package_id: str
    revisions: tuple[RevisionRef, ...]
    deployments: tuple[Deployment, ...]

    def on(self, keyset_id: int) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.keyset_id == keyset_id)

    def running_on(self, keyset_id: int) -> tuple[Deployment, ...]:
        return tuple(sorted((d for d in self.on(keyset_id) if d.running), key=lambda d: d.id))

    def name_of(self, revision_id: str) -> str | None:
        return next((r.name for r in self.revisions if r.id == revision_id), None)

    def digest_of(self, revision_id: str) -> str | None:
        return next((r.digest for r in self.revisions if r.id == revision_id), None)

    def in_transition_on(self, keysets: Collection[int]) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.keyset_id in keysets and d.in_transition)

    def active_keysets(self) -> list[int]:
        """Keysets where something of the package runs or is starting."""
        return sorted({d.keyset_id for d in self.deployments if d.running or d.in_transition})


async def observe_package(
    api: Requester,
    package_id: str,
    keysets: Collection[int],
    known: KnownDeployments | None = None,
    also: Collection[str] = (),
) -> PackageView:
    """Read what runs for ``package_id``; raises ``ApiError`` when a read fails.

    ``also``: revisions (the one the commit wants) whose deployments are listed whenever they
    have any, running or not: one STARTING is not counted as running by the API, and a run
    must see it in flight rather than start a second one. ``EVERY_DEPLOYED`` in ``also``:
    every revision that has deployments (a removed package: its only deployment may be one
    that is still starting, and a prune must not miss it).
    """
    revisions, _ = await api.list_revisions(package_id, sort=None)  # every page, any order
    ids = {rev.id for rev in revisions}
    remembered = await _verified(api, package_id, keysets, known, ids)
    found: dict[str, Deployment] = {d.id: d for d in remembered}
    to_list = []
    for rev in revisions:
        if rev.running == 0:
            if (rev.id in also or EVERY_DEPLOYED in also) and rev.total != 0:
                to_list.append(rev.id)
            continue
        seen = sum(1 for d in remembered if d.revision_id == rev.id and d.running)
        # A revision counted as running but only STARTING/STOPPING is not "seen": list it.
        if rev.running is None or seen < rev.running:
            to_list.append(rev.id)
    listed = await asyncio.gather(
        *(deploy_api.list_revision_deployments(api, rev_id) for rev_id in to_list)
    )
    for deployments in listed:
        found.update((d.id, d) for d in deployments)
    refs = tuple(RevisionRef(rev.id, rev.name, stamp_of(rev.description)) for rev in revisions)
    return PackageView(package_id, refs, tuple(found.values()))


async def observe_settled(
    api: Requester,
    package_id: str,
    keysets: Collection[int],
    known: KnownDeployments | None,
    timing: Timing,
    *,
    also: Collection[str] = (),
) -> PackageView:
    """``observe_package``, read again until nothing of the package is starting or stopping on
    ``keysets`` (or ``timing``'s deploy timeout passes: then the view with the transition is
    returned and the plan says ``wait``). A run never plans over a deployment in flight."""
    pacer = timing.pacer()
    while True:
        view = await observe_package(api, package_id, keysets, known, also)
        if not view.in_transition_on(keysets) or not await pacer.pause():
            return view


async def _verified(
    api: Requester,
    package_id: str,
    keysets: Collection[int],
    known: KnownDeployments | None,
    revision_ids: Collection[str],
) -> list[Deployment]:
    """The remembered deployments that still exist, on the keyset and package they claim."""
    if known is None:
        return []
    verified = []
    for keyset in keysets:
        deployment_id = known.get(package_id, keyset)
        if deployment_id is None:
            continue
        try:
            deployment, _ = await deploy_api.get_deployment(api, deployment_id)
        except ApiNotFound:
            continue
        if deployment.keyset_id == keyset and deployment.revision_id in revision_ids:
            verified.append(deployment)
    return verified

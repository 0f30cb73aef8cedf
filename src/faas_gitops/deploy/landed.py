"""Whether a deployment write landed, read from the deployments it changes.

A write answered 5xx, or not answered at all, may or may not have been applied; so may one a
killed run sent. These reads tell, and nothing else does: the writer asks before sending again
(a second start restarts, a second rolling update is refused), and ``deploy.recover`` asks to
settle the steps a killed run left ``pending``. Each returns ``(landed, correlation id of the
read)`` and raises ``ApiError`` when the read fails (``ApiNotFound``: the deployment is gone).
"""

from __future__ import annotations

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Deployment, Requester

#: States that show a start (or the new side of a rolling update) was applied.
STARTED_STATES = frozenset({"RUNNING", "STARTING"})
#: States that show a stop (or the old side of a rolling update) was applied.
STOPPED_STATES = frozenset({"STOPPED", "STOPPING"})


async def start_landed(api: Requester, deployment_id: str) -> tuple[bool, str | None]:
    """A start was applied: the deployment is STARTING or RUNNING."""
    deployment, correlation = await deploy_api.get_deployment(api, deployment_id)
    return deployment.state in STARTED_STATES, correlation


async def rolling_update_landed(
    api: Requester, old_id: str, new_id: str
) -> tuple[bool, str | None]:
    """A rolling update from ``old_id`` to ``new_id`` was applied.

    The new deployment starting or running says so; so does the old one stopping or stopped
    while the new one has left STOPPED (it may have failed since).
    """
    new, correlation = await deploy_api.get_deployment(api, new_id)
    if new.state in STARTED_STATES:
        return True, correlation
    if new.state == deploy_api.STOPPED:
        return False, correlation
    old, old_correlation = await deploy_api.get_deployment(api, old_id)
    return old.state in STOPPED_STATES, old_correlation


async def stop_landed(api: Requester, deployment_id: str) -> tuple[bool, str | None]:
    """A stop of one deployment was applied: it is STOPPING or STOPPED."""
    deployment, correlation = await deploy_api.get_deployment(api, deployment_id)
    return deployment.state in STOPPED_STATES, correlation


async def package_stop_landed(api: Requester, package_id: str) -> tuple[bool, str | None]:
    """A stop of a whole package (5.24) was applied: none of its deployments runs or starts.

    The revision list's running counters spare the deployment lists of revisions that run
    nowhere; a revision without the counter has its deployments listed. Lists carry no single
    correlation id, so none is returned.
    """
    revisions, _ = await api.list_revisions(package_id, sort=None)  # every page, any order
    for revision in revisions:
        if revision.running == 0:
            continue
        if revision.running is not None:
            return False, None
        deployments = await deploy_api.list_revision_deployments(api, revision.id)
        if any(d.state in STARTED_STATES for d in deployments):
            return False, None
    return True, None


async def deployment_on(api: Requester, revision_id: str, keyset_id: int) -> Deployment | None:
    """The revision's deployment on the keyset (a create landed), or ``None``."""
    found = await deploy_api.list_revision_deployments(api, revision_id)
    return next((d for d in found if d.keyset_id == keyset_id), None)


__all__ = [
    "STARTED_STATES",
    "STOPPED_STATES",
    "deployment_on",
    "package_stop_landed",
    "rolling_update_landed",
    "start_landed",
    "stop_landed",
]

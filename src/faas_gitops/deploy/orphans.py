"""Packages this repository manages that its commit no longer declares: listed, and pruned.

A candidate carries this repository's ownership mark, lies under ``--path``, and no directory
of the commit targets its id or its name (a renamed directory is not a removal), nor is its
marked directory one whose package failed this run (a typo in ``package.yaml`` hides what the
directory targets: it is not a removal either). Its rows carry its marked directory as their
path, or ``<directory>#<package id>`` when that directory now holds another package (its name
changed in place), so the rows of the two never mix in the sync's output or the ledger.

Where it still runs: on an active, unfrozen environment with ``--prune`` each deployment there
is stopped by its own id (never the package-wide stop, which would reach keysets this run does
not act on); everywhere else it is reported ``orphaned`` with where it runs, so no view
forgets it while it runs anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy import marks as tags
from faas_gitops.deploy.api import TaggedPackage
from faas_gitops.deploy.environment import ReleaseEnvironment, ReleaseInputs
from faas_gitops.deploy.observe import EVERY_DEPLOYED, observe_package
from faas_gitops.deploy.prune import stop_deployment
from faas_gitops.deploy.writer import Writes
from faas_gitops.errors import ApiAuthError, ApiError
from faas_gitops.models import DeploymentOutcome, DeployStatus


def candidates(
    inventory: Sequence[TaggedPackage], inputs: ReleaseInputs
) -> list[tuple[str, TaggedPackage]]:
    """``(path, package)`` for each package marked as ours, in scope, that git no longer
    declares; ``path`` is its directory mark (else its name), made unique (see the module)."""
    found = []
    for package in inventory:
        marks = tags.parse(package.tags)
        if not marks.owned_by(inputs.owner) or not tags.within(marks.directory, inputs.scope):
            continue
        if package.id in inputs.declared_ids or package.name in inputs.declared_names:
            continue
        if any(tags.directory_matches(marks.directory, path) for path in inputs.failed_paths):
            continue
        path = marks.directory or package.name
        if any(tags.directory_matches(path, declared) for declared in inputs.declared_paths):
            path = f"{path}#{package.id}"
        found.append((path, package))
    return sorted(found, key=lambda item: item[0])


def unnamed_keyset(keyset_id: int) -> ReleaseEnvironment:
    """A keyset no environment names any more, as a row's environment."""
    return ReleaseEnvironment(name=f"keyset:{keyset_id}", keyset_id=keyset_id)


async def release_orphan(
    writes: Writes, path: str, package: TaggedPackage, inputs: ReleaseInputs
) -> tuple[DeploymentOutcome, ...]:
    """One outcome per keyset where the removed package still runs (none: it runs nowhere)."""
    keysets = [env.keyset_id for env in inputs.configured]
    try:
        view = await observe_package(writes.api, package.id, keysets, also=(EVERY_DEPLOYED,))
    except ApiAuthError:
        raise
    except ApiError as exc:
        return tuple(_failed(env, str(exc)) for env in inputs.environments)
    by_keyset = {env.keyset_id: env for env in inputs.configured}
    active = {env.keyset_id for env in inputs.environments}
    outcomes = []
    for keyset in view.active_keysets():
        env = by_keyset.get(keyset) or unnamed_keyset(keyset)
        here = [d for d in view.on(keyset) if d.running or d.in_transition]
        first = here[0]
        # Each row below is this one with its status (and note, answer) set.
        row = DeploymentOutcome(
            environment=env.name,
            keyset_id=keyset,
            status=DeployStatus.ORPHANED,
            previous_deployment_id=first.id,
            previous_revision_name=view.name_of(first.revision_id),
        )
        if keyset not in active or not inputs.prune:
            outcomes.append(_orphaned(row, env, keyset in by_keyset))
        elif env.frozen:
            outcomes.append(replace(row, status=DeployStatus.FROZEN, note=env.frozen_note))
        elif inputs.dry_run:
            outcomes.append(replace(row, status=DeployStatus.WOULD_PRUNE))
        else:
            outcomes.append(await _prune(writes, path, env, here, row))
    return tuple(outcomes)


async def _prune(
    writes: Writes,
    path: str,
    env: ReleaseEnvironment,
    here: Sequence[deploy_api.Deployment],
    row: DeploymentOutcome,
) -> DeploymentOutcome:
    answers = [await stop_deployment(writes, d.id, (path, env.name)) for d in here]
    error = next((e for _, e in answers if e is not None), None)
    status = DeployStatus.FAILED if error else DeployStatus.PRUNED
    return replace(row, status=status, correlation_id=answers[-1][0], error=error)


def _orphaned(row: DeploymentOutcome, env: ReleaseEnvironment, named: bool) -> DeploymentOutcome:
    if not named:
        note = (
            f"runs on keyset {env.keyset_id}, which no environment names any more; stop it"
            " there by hand or name the keyset again"
        )
    else:
        note = (
            f"no longer in the commit; still runs on {env.name}; a sync of {env.name} with"
            " --prune stops it"
        )
    return replace(row, note=note)


def _failed(env: ReleaseEnvironment, error: str) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env.name, keyset_id=env.keyset_id, status=DeployStatus.FAILED, error=error
    )


__all__ = ["candidates", "release_orphan", "unnamed_keyset"]

"""The plan step's values, and the pure check over all of them before anything is written.

``Planned`` is one package read and planned. ``refuse_shared_targets`` looks at every plan of
the commit at once: two directories aimed at one remote package would race each other, so both
fail, and neither is written. It returns new values; it changes none it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from faas_gitops.models import DesiredPackage, Outcome, PackagePlan, Status
from faas_gitops.reconcile.plan import NewPackagePlan
from faas_gitops.reconcile.remote import RemoteState, manifest_of


@dataclass(frozen=True, slots=True)
class Planned:
    """A package read and planned, waiting for the write stage."""

    desired: DesiredPackage
    remote: RemoteState
    plan: PackagePlan | NewPackagePlan  # a new plan: no remote package yet (--create-packages)


@dataclass(frozen=True, slots=True)
class Checked:
    """What may be written, and the packages refused before any write."""

    to_write: tuple[Planned, ...]
    refused: tuple[Outcome, ...]


def refuse_shared_targets(planned: Sequence[Planned], known: Mapping[str, Outcome]) -> Checked:
    """Plans whose remote package no other directory aims at; the others fail, each naming
    all the directories. ``known`` are the outcomes settled so far by path (an unchanged
    directory holds its remote package too)."""
    by_target: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in planned:
        desired = item.desired
        if desired.package_id:
            by_target[f"id:{desired.package_id}"].append((desired.path, "packageId"))
        else:
            by_target[f"name:{desired.name}"].append((desired.path, "name"))
    for path, outcome in known.items():
        if outcome.status is Status.UNCHANGED and outcome.package_id:
            by_target[f"id:{outcome.package_id}"].append((path, "packageId"))
    refused: dict[str, Outcome] = {}
    for group in by_target.values():
        if len(group) < 2:
            continue
        paths = ", ".join(sorted(path for path, _ in group))
        for path, field_name in group:
            previous = known.get(path)
            refused[path] = Outcome(
                path=path,
                status=Status.FAILED,
                package_id=previous.package_id if previous else None,
                error=f"{manifest_of(path)}: {field_name}: the same remote package "
                f"is the target of {paths}; give each directory its own package",
            )
    kept = tuple(item for item in planned if item.desired.path not in refused)
    return Checked(kept, tuple(refused.values()))


__all__ = ["Checked", "Planned", "refuse_shared_targets"]

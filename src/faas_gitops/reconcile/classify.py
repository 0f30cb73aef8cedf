"""Which package directories must be read this sync: pure, from tree ids alone.

A directory whose git tree id is the one it had at its last successful sync is unchanged: it is
reported ``unchanged`` from memory, neither read from git nor asked about. A full sync
(``--full-sync``, the daemon's drift resync) reads everything; a directory with a journal row a
killed run left pending is always read, so that row gets resolved.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from faas_gitops.models import Outcome, PackageRef, Status
from faas_gitops.state.cache import SyncedPackage


@dataclass(frozen=True, slots=True)
class Classified:
    to_read: tuple[PackageRef, ...]
    unchanged: tuple[Outcome, ...]


def classify(
    refs: Sequence[PackageRef],
    synced: Mapping[str, SyncedPackage],
    *,
    full: bool = False,
    force: Collection[str] = (),
) -> Classified:
    to_read: list[PackageRef] = []
    unchanged: list[Outcome] = []
    for ref in refs:
        known = synced.get(ref.path)
        if (
            full
            or ref.path in force
            or known is None
            or not ref.tree_id
            or known.tree_id != ref.tree_id
            or not known.package_id
        ):
            to_read.append(ref)
            continue
        unchanged.append(
            Outcome(
                path=ref.path,
                status=Status.UNCHANGED,
                package_id=known.package_id,
                revision_name=known.revision_name,
                revision_id=known.revision_id,
                name=known.name,
            )
        )
    return Classified(tuple(to_read), tuple(unchanged))

"""``classify``, one row per situation: which package directories a sync reads from git, and
which it reports ``unchanged`` from memory by their tree ids alone."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from faas_gitops.models import Outcome, PackageRef, Status
from faas_gitops.reconcile.classify import classify
from faas_gitops.state.cache import SyncedPackage

TREE, OTHER_TREE = "a" * 40, "b" * 40
REF = PackageRef(path="chat", tree_id=TREE, commit="c" * 40)
SYNCED = SyncedPackage(
    tree_id=TREE, package_id="p1", revision_id="r1", revision_name="v1", name="chat-moderation"
)


@dataclass(frozen=True)
class Row:
    name: str
    read: bool
    synced: SyncedPackage | None = SYNCED
    ref: PackageRef = REF
    full: bool = False
    pending: bool = False  # a killed run left a journal row for this directory


ROWS = [
    Row("the tree id it had at its last sync: unchanged, from memory", read=False),
    Row("never synced: read", read=True, synced=None),
    Row(
        "another tree id than at its last sync: read",
        read=True,
        ref=PackageRef(path="chat", tree_id=OTHER_TREE, commit="c" * 40),
    ),
    Row("a full sync reads even an unchanged directory", read=True, full=True),
    Row("a journal row left pending is always read, to resolve it", read=True, pending=True),
    Row(
        "no tree id to compare: read",
        read=True,
        ref=PackageRef(path="chat", tree_id="", commit="c" * 40),
    ),
    Row(
        "last synced without a package id: read",
        read=True,
        synced=SyncedPackage(tree_id=TREE, package_id=None, revision_id=None, revision_name=None),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_classify_reads_exactly_what_may_have_changed(row: Row) -> None:
    synced = {row.ref.path: row.synced} if row.synced else {}

    classified = classify(
        [row.ref], synced, full=row.full, force={row.ref.path} if row.pending else ()
    )

    if row.read:
        assert (classified.to_read, classified.unchanged) == ((row.ref,), ())
    else:
        assert classified.to_read == ()
        assert classified.unchanged == (
            Outcome(
                path="chat",
                status=Status.UNCHANGED,
                package_id="p1",
                revision_name="v1",
                revision_id="r1",
                name="chat-moderation",
            ),
        )


def test_every_directory_lands_in_one_list_in_the_order_of_the_tree() -> None:
    refs = [PackageRef(path=p, tree_id=TREE, commit="c" * 40) for p in ("a", "b", "c", "d")]
    synced = {"a": SYNCED, "c": SYNCED}

    classified = classify(refs, synced, force={"c"})

    assert [r.path for r in classified.to_read] == ["b", "c", "d"]
    assert [o.path for o in classified.unchanged] == ["a"]

"""``plan_package``, one row per situation: what the latest revision holds, what the commit wants,
what the new revision is called, and when the planner refuses to guess."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from faas_gitops.content import STAMP_PREFIX, content_digest
from faas_gitops.models import Action, ChangeKind, CommitInfo, FunctionSpec, RemoteRevision
from faas_gitops.reconcile.plan import plan_package
from tests.reconcile.planning_support import SHA, fn, package, rev

F, F_HOTFIX = fn(), fn(code="// made by hand")


@dataclass(frozen=True)
class Row:
    name: str
    revisions: tuple[RemoteRevision, ...]
    fetched: tuple[FunctionSpec, ...] | None  # the latest revision's functions, if fetched
    action: Action
    revision_name: str
    latest: str | None  # the latest revision's id
    changes: tuple[tuple[str, ChangeKind], ...] = ()
    desired: tuple[FunctionSpec, ...] = (F,)
    tags: tuple[str, ...] = ()


ROWS = [
    Row(
        "no revision yet: create it with every function added, named by the short sha",
        revisions=(),
        fetched=None,
        desired=(fn("b"), fn("a")),
        action=Action.CREATE,
        revision_name=SHA[:12],
        latest=None,
        changes=(("a", ChangeKind.ADDED), ("b", ChangeKind.ADDED)),
    ),
    Row(
        "the latest revision holds what the commit wants: nothing to do",
        revisions=(rev("v1", 1, (F,)), rev("v0", 0)),
        fetched=(F,),
        tags=("v2",),
        action=Action.NOOP,
        revision_name="v1",
        latest="id-v1",
    ),
    Row(
        "the latest is the newest by creation time, whatever the list order",
        revisions=(rev("old", 0, (F_HOTFIX,)), rev("v1", 5, (F,)), rev("older", -5)),
        fetched=(F,),
        action=Action.NOOP,
        revision_name="v1",
        latest="id-v1",
    ),
    Row(
        "an older equal revision does not count, only the latest (made by hand here)",
        revisions=(rev("v1", 1, (F,)), rev("hotfix", 2, (F_HOTFIX,))),
        fetched=(F_HOTFIX,),
        tags=("v1",),
        action=Action.CREATE,
        revision_name="v1-2",  # v1 is taken by the older revision
        latest="id-hotfix",
        changes=(("f", ChangeKind.MODIFIED),),
    ),
    Row(
        "a changed function: a new revision named by the commit's tag",
        revisions=(rev("v1.0.0", 1, (F_HOTFIX,)),),
        fetched=(F_HOTFIX,),
        tags=("v1.1.0",),
        action=Action.CREATE,
        revision_name="v1.1.0",
        latest="id-v1.0.0",
        changes=(("f", ChangeKind.MODIFIED),),
    ),
    Row(
        "a latest revision stamped with the desired content is trusted without its functions",
        revisions=(rev("v1", 1, stamp=(F,)),),
        fetched=None,
        action=Action.NOOP,
        revision_name="v1",
        latest="id-v1",
    ),
    Row(
        "fetched functions decide over a stamp that says equal",
        revisions=(rev("v1", 1, stamp=(F,)),),
        fetched=(F_HOTFIX,),
        action=Action.CREATE,
        revision_name=SHA[:12],
        latest="id-v1",
        changes=(("f", ChangeKind.MODIFIED),),
    ),
    Row(
        "fetched functions decide over a stamp of other content",
        revisions=(rev("v1", 1, stamp=(F_HOTFIX,)),),
        fetched=(F,),
        action=Action.NOOP,
        revision_name="v1",
        latest="id-v1",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_plan_package_decides_for_each_situation(row: Row) -> None:
    plan = plan_package(
        package(*row.desired),
        remote_package_id="p",
        commit=CommitInfo(SHA, "Change the filter", row.tags),
        revisions=row.revisions,
        latest_functions=row.fetched,
    )

    assert plan.action is row.action
    assert plan.revision_name == row.revision_name
    assert plan.latest_revision_id == row.latest
    assert tuple((c.function, c.change) for c in plan.changes) == row.changes
    assert plan.digest == content_digest(row.desired)
    assert plan.description.endswith(f"(commit {SHA})\n{STAMP_PREFIX}{plan.digest}")


REFUSALS = [
    ("the latest revision has no stamp", rev("v1", 1)),
    ("the latest revision's stamp is of other content", rev("v1", 1, stamp=(F_HOTFIX,))),
]


@pytest.mark.parametrize(("name", "latest"), REFUSALS, ids=[name for name, _ in REFUSALS])
def test_planning_without_functions_no_stamp_vouches_for_is_a_programming_error(
    name: str, latest: RemoteRevision
) -> None:
    with pytest.raises(ValueError, match="latest revision"):
        plan_package(
            package(F),
            remote_package_id="p",
            commit=CommitInfo(SHA, "s", ()),
            revisions=[latest],
            latest_functions=None,
        )

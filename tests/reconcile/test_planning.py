"""The pure planner, table-tested: what counts as a change, the latest revision, naming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from faas_gitops.models import (
    Action,
    ChangeKind,
    CommitInfo,
    DesiredPackage,
    FunctionSpec,
    RemoteRevision,
)
from faas_gitops.reconcile import plan as planning

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def fn(name: str = "f", **overrides: object) -> FunctionSpec:
    fields: dict[str, object] = {
        "name": name,
        "type": "BEFORE_PUBLISH",
        "code": "export default (r) => r.ok();",
        "language": "JAVASCRIPT",
        "sort_order": 0,
        "config": {"inputChannel": "chat.*"},
    }
    fields.update(overrides)
    return FunctionSpec(**fields)  # type: ignore[arg-type]


def rev(name: str, minutes: int, functions: tuple[FunctionSpec, ...] = ()) -> RemoteRevision:
    return RemoteRevision(
        id=f"id-{name}",
        package_id="p",
        name=name,
        created=T0 + timedelta(minutes=minutes),
        functions=functions,
    )


def package(*functions: FunctionSpec) -> DesiredPackage:
    return DesiredPackage(
        path="chat", package_id="p", name=None, description=None, functions=functions
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ((fn(),), (fn(),), []),
        ((fn(),), (fn(code="other"),), [("f", ChangeKind.MODIFIED)]),
        ((fn(),), (fn(type="AFTER_PUBLISH"),), [("f", ChangeKind.MODIFIED)]),
        ((fn(),), (fn(sort_order=3),), [("f", ChangeKind.MODIFIED)]),
        ((fn(),), (fn(language="TYPESCRIPT"),), [("f", ChangeKind.MODIFIED)]),
        ((fn(),), (fn(config={"inputChannel": "x.*"}),), [("f", ChangeKind.MODIFIED)]),
        ((fn(),), (fn(), fn("g")), [("g", ChangeKind.ADDED)]),
        ((fn(), fn("g")), (fn(),), [("g", ChangeKind.REMOVED)]),
        ((), (fn("b"), fn("a")), [("a", ChangeKind.ADDED), ("b", ChangeKind.ADDED)]),
        # Sets keyed by name: order in the list is not a change (sortOrder is).
        ((fn("a"), fn("b")), (fn("b"), fn("a")), []),
        # A `type` echoed inside config that equals the function's type carries no change.
        ((fn(config={"type": "BEFORE_PUBLISH", "inputChannel": "chat.*"}),), (fn(),), []),
        (
            (fn(config={"type": "AFTER_PUBLISH", "inputChannel": "chat.*"}),),
            (fn(),),
            [("f", ChangeKind.MODIFIED)],
        ),
        # Key order inside config is not a change.
        ((fn(config={"a": 1, "b": 2}),), (fn(config={"b": 2, "a": 1}),), []),
    ],
)
def test_diff_functions_compares_sets_keyed_by_name_over_the_compared_fields(
    before: tuple[FunctionSpec, ...],
    after: tuple[FunctionSpec, ...],
    expected: list[tuple[str, ChangeKind]],
) -> None:
    changes = planning.diff_functions(before, after)
    assert [(c.function, c.change) for c in changes] == expected


def test_latest_revision_is_the_greatest_created_time_whatever_the_list_order() -> None:
    revisions = [rev("b", 5), rev("c", 9), rev("a", 1)]
    for order in (revisions, revisions[::-1], sorted(revisions, key=lambda r: r.name)):
        latest = planning.latest_revision(order)
        assert latest is not None
        assert latest.name == "c"
    assert planning.latest_revision([]) is None


@pytest.mark.parametrize(
    ("tags", "expected"),
    [((), SHA[:12]), (("v1.10.0", "v1.9.0"), "v1.10.0"), (("release",), "release")],
)
def test_base_name_is_the_first_tag_or_the_short_sha(tags: tuple[str, ...], expected: str) -> None:
    assert planning.base_revision_name(CommitInfo(SHA, "subject", tags)) == expected


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        ((), "v1"),
        (("v0",), "v1"),
        (("v1",), "v1-2"),
        (("v1", "v1-2"), "v1-3"),
        (("v1", "v1-3"), "v1-2"),
    ],
)
def test_a_taken_name_gets_the_next_free_numeric_suffix(
    taken: tuple[str, ...], expected: str
) -> None:
    assert planning.choose_revision_name("v1", taken) == expected


def test_description_holds_the_subject_and_the_full_sha() -> None:
    text = planning.revision_description(CommitInfo(SHA, "Fix the filter\n", ()))
    assert "Fix the filter" in text
    assert SHA in text


def test_an_equal_latest_revision_plans_nothing() -> None:
    latest = rev("v1", 1, (fn(),))
    plan = planning.plan_package(
        package(fn()),
        remote_package_id="p",
        commit=CommitInfo(SHA, "s", ("v2",)),
        revisions=[latest, rev("v0", 0, ())],
        latest_functions=latest.functions,
    )
    assert plan.action is Action.NOOP
    assert plan.latest_revision_id == "id-v1"


def test_an_older_equal_revision_does_not_count_only_the_latest() -> None:
    # Someone created a newer revision by hand: the commit's content must win again.
    plan = planning.plan_package(
        package(fn()),
        remote_package_id="p",
        commit=CommitInfo(SHA, "s", ("v1",)),
        revisions=[rev("v1", 1, (fn(),)), rev("hotfix", 2, (fn(code="x"),))],
        latest_functions=(fn(code="x"),),
    )
    assert plan.action is Action.CREATE
    assert plan.revision_name == "v1-2"  # v1 is taken by the older revision
    assert [c.change for c in plan.changes] == [ChangeKind.MODIFIED]


def test_no_revision_yet_plans_a_create_with_every_function_added() -> None:
    plan = planning.plan_package(
        package(fn("a"), fn("b")),
        remote_package_id="p",
        commit=CommitInfo(SHA, "s", ()),
        revisions=[],
        latest_functions=None,
    )
    assert plan.action is Action.CREATE
    assert plan.revision_name == SHA[:12]
    assert {c.change for c in plan.changes} == {ChangeKind.ADDED}


def test_planning_without_the_latest_functions_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="latest revision"):
        planning.plan_package(
            package(fn()),
            remote_package_id="p",
            commit=CommitInfo(SHA, "s", ()),
            revisions=[rev("v1", 1)],
            latest_functions=None,
        )

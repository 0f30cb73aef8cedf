"""The pure planner's rules, table-tested: what counts as a change, the latest revision,
naming. ``plan_package``, which applies them, has its own table (test_plan_package.py)."""

from __future__ import annotations

import pytest

from faas_gitops.models import ChangeKind, CommitInfo, FunctionSpec
from faas_gitops.reconcile import plan as planning
from tests.reconcile.planning_support import SHA, fn, rev


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

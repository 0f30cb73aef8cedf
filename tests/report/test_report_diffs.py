"""Plans a reviewer can read: every change names its function, renames read as renames."""

from __future__ import annotations

from faas_gitops.models import ChangeKind, FunctionChange, FunctionSpec, Outcome, Status
from faas_gitops.report import render
from tests.report.report_builders import make_result

CODE = "export default (request) => request.ok();\n"
OLD = FunctionSpec("filter", "BEFORE_PUBLISH", CODE, config={"a": 1, "gone": "x", "same": [1]})
NEW = FunctionSpec("filter", "BEFORE_PUBLISH", CODE, config={"a": 2, "new": True, "same": [1]})


def _dry_run(*changes: FunctionChange) -> Outcome:
    return Outcome("pkg", Status.WOULD_CREATE, revision_name="v2", changes=changes)


def test_a_config_only_change_names_its_function_and_only_the_keys_that_changed() -> None:
    change = FunctionChange("filter", ChangeKind.MODIFIED, before=OLD, after=NEW)

    text = render(make_result(_dry_run(change), dry_run=True), "text", show_diff=True)

    assert (
        "=== pkg: 1 function changed\n"
        "function filter: modified\n"
        "config.a: 1 -> 2\n"
        'config.gone: "x" -> (none)\n'
        "config.new: (none) -> true\n"
        "\n"
    ) in text
    assert "config.same" not in text


def test_a_type_only_change_names_its_function_in_markdown_too() -> None:
    after = FunctionSpec("filter", "AFTER_PUBLISH", CODE, config=OLD.config)
    change = FunctionChange("filter", ChangeKind.MODIFIED, before=OLD, after=after)

    markdown = render(make_result(_dry_run(change), dry_run=True), "markdown", show_diff=True)

    assert "```diff\nfunction filter: modified\ntype: BEFORE_PUBLISH -> AFTER_PUBLISH\n```" in (
        markdown
    )


def test_identical_code_under_a_new_name_is_one_rename() -> None:
    renamed = FunctionSpec("screen", OLD.type, OLD.code, config=OLD.config, sort_order=3)
    changes = (
        FunctionChange("filter", ChangeKind.REMOVED, before=OLD),
        FunctionChange("screen", ChangeKind.ADDED, after=renamed),
    )

    result = make_result(_dry_run(*changes), dry_run=True)
    text = render(result, "text", show_diff=True)
    listing = render(result, "markdown", show_diff=False)

    assert "=== pkg: 1 function changed\nfunction screen: renamed filter -> screen\n" in text
    assert "sortOrder: 0 -> 3\n" in text
    assert "(none)" not in text
    assert "@@" not in text  # the code is the same
    assert "- `screen`: renamed filter -> screen\n" in listing


def test_a_rename_with_changed_code_stays_a_removal_and_an_addition() -> None:
    edited = FunctionSpec("screen", OLD.type, "other\n", config=OLD.config)
    changes = (
        FunctionChange("filter", ChangeKind.REMOVED, before=OLD),
        FunctionChange("screen", ChangeKind.ADDED, after=edited),
    )

    text = render(make_result(_dry_run(*changes), dry_run=True), "text", show_diff=True)

    assert "function filter: removed\n" in text
    assert "function screen: added\n" in text
    assert "=== pkg: 2 functions changed\n" in text

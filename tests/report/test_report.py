"""Renderings of a sync and of the history: exact shapes for programs, readable text for people."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from faas_gitops.models import (
    ChangeKind,
    FunctionChange,
    FunctionSpec,
    Outcome,
    Status,
)
from faas_gitops.report import (
    diff_function,
    render,
    render_history,
    summary_line,
    to_json_document,
)
from faas_gitops.state import LedgerEntry
from tests.report.report_builders import COMMIT, make_result

OLD_FILTER = FunctionSpec(
    name="filter",
    type="BEFORE_PUBLISH",
    code="export default (request) => {\n  return request.ok();\n}\n",
    config={"inputChannel": "a.*"},
)
NEW_FILTER = FunctionSpec(
    name="filter",
    type="AFTER_PUBLISH",
    code="export default (request) => {\n  console.log('hi');\n  return request.ok();\n}\n",
    config={"outputChannel": "out", "inputChannel": "b.*"},
)
GREETER = FunctionSpec(name="greeter", type="ON_REQUEST", code="hello\nworld\n", sort_order=2)

MODIFIED = FunctionChange("filter", ChangeKind.MODIFIED, before=OLD_FILTER, after=NEW_FILTER)
ADDED = FunctionChange("greeter", ChangeKind.ADDED, after=GREETER)
REMOVED = FunctionChange("greeter", ChangeKind.REMOVED, before=GREETER)


CHAT = Outcome(
    path="chat-moderation",
    status=Status.CREATED,
    package_id="pkg-chat",
    revision_name="v1.1.0",
    revision_id="rev-123",
    correlation_id="corr-abc",
    changes=(MODIFIED, ADDED),
)
ANALYTICS = Outcome(
    path="analytics",
    status=Status.UNCHANGED,
    package_id="pkg-analytics",
    revision_name="v1.0.0",
    revision_id="rev-9",
)
BROKEN = Outcome(
    path="broken",
    status=Status.FAILED,
    package_id="pkg-broken",
    correlation_id="corr-err",
    error="POST /v2/faas/package-revisions: 409 FAAS-1009:\nname taken",
)


# --- json ---------------------------------------------------------------------------------------


def test_the_json_document_has_exactly_the_documented_keys_in_order() -> None:
    document = to_json_document(make_result(CHAT, BROKEN, ANALYTICS))

    assert list(document) == [
        "commit",
        "ref",
        "dryRun",
        "packages",
        "summary",
        "deploymentSummary",
        "startedAt",
        "finishedAt",
        "durationSeconds",
        "fatalError",
        "notes",
    ]
    assert document["commit"] == COMMIT
    assert document["ref"] == "main"
    assert document["dryRun"] is False
    assert document["startedAt"] == "2024-05-01T12:00:00Z"
    assert document["finishedAt"] == "2024-05-01T12:00:00.420000Z"
    assert document["durationSeconds"] == 0.42
    assert document["fatalError"] is None
    assert document["summary"] == {
        "created": 1,
        "adopted": 0,
        "unchanged": 1,
        "would-create": 0,
        "promoted": 0,
        "rolled-back": 0,
        "removed": 0,
        "failed": 1,
        "total": 3,
        "deployments": document["deploymentSummary"],
    }
    assert set(document["summary"]["deployments"].values()) == {0}
    assert "total" in document["summary"]["deployments"]


def test_json_packages_are_sorted_by_path_with_every_field() -> None:
    document = to_json_document(make_result(CHAT, BROKEN, ANALYTICS))

    assert [p["path"] for p in document["packages"]] == ["analytics", "broken", "chat-moderation"]
    assert document["packages"][2] == {
        "path": "chat-moderation",
        "name": None,
        "packageId": "pkg-chat",
        "status": "created",
        "revisionName": "v1.1.0",
        "revisionId": "rev-123",
        "correlationId": "corr-abc",
        "changes": [
            {"function": "filter", "change": "modified"},
            {"function": "greeter", "change": "added"},
        ],
        "deployments": [],
        "error": None,
    }
    assert document["packages"][1]["status"] == "failed"
    assert document["packages"][1]["error"] == BROKEN.error
    assert document["packages"][1]["correlationId"] == "corr-err"


def test_json_status_and_change_values_are_the_documented_strings() -> None:
    outcome = Outcome(
        "p", Status.WOULD_CREATE, changes=(FunctionChange("gone", ChangeKind.REMOVED),)
    )

    (package,) = to_json_document(make_result(outcome, dry_run=True))["packages"]

    assert package["status"] == "would-create"
    assert package["changes"] == [{"function": "gone", "change": "removed"}]


def test_rendered_json_is_one_parseable_document_matching_to_json_document() -> None:
    result = make_result(CHAT, ANALYTICS, fatal_error="401: invalid key")

    text = render(result, "json", show_diff=True)

    assert text.endswith("}\n")
    assert json.loads(text) == to_json_document(result)
    assert json.loads(text)["fatalError"] == "401: invalid key"
    assert "export default" not in text  # json never carries code


# --- text ---------------------------------------------------------------------------------------


def test_text_has_one_aligned_line_per_package_then_the_summary() -> None:
    text = render(make_result(CHAT, ANALYTICS), "text", show_diff=False)

    assert text == (
        "unchanged  analytics        v1.0.0  rev=rev-9\n"
        "created    chat-moderation  v1.1.0  rev=rev-123  corr=corr-abc\n"
        "\n"
        "2 packages: 1 created, 1 unchanged, 0 failed (commit abc123def456, 0.42 s)\n"
    )


def test_text_shows_a_failure_with_every_line_of_its_error_under_the_package() -> None:
    text = render(make_result(BROKEN), "text", show_diff=False)

    assert text.splitlines()[:2] == [
        "failed  broken  -  corr=corr-err  error: POST /v2/faas/package-revisions: 409 FAAS-1009:",
        "    name taken",
    ]
    assert text.splitlines()[-1] == (
        "1 package: 0 created, 0 unchanged, 1 failed (commit abc123def456, 0.42 s)"
    )


def test_a_run_stopped_before_any_package_says_so_without_a_summary_of_zeros() -> None:
    text = render(
        make_result(fatal_error="GET /v2/faas/packages: 401: bad key"), "text", show_diff=False
    )

    assert text == "no packages synced (stopped: GET /v2/faas/packages: 401: bad key)\n"


def test_a_run_stopped_midway_names_the_error_before_the_summary() -> None:
    text = render(make_result(ANALYTICS, fatal_error="401: bad key"), "text", show_diff=False)

    assert text.splitlines()[-2:] == [
        "stopped: 401: bad key",
        "1 package: 0 created, 1 unchanged, 0 failed (commit abc123def456, 0.42 s)",
    ]


def test_text_has_no_terminal_escape_codes() -> None:
    text = render(make_result(CHAT, BROKEN), "text", show_diff=True)

    assert "\x1b" not in text


def test_dry_run_text_counts_would_create_and_shows_the_diffs() -> None:
    outcome = Outcome(
        "chat-moderation", Status.WOULD_CREATE, "pkg-chat", "v1.1.0", changes=(MODIFIED,)
    )

    text = render(make_result(outcome, dry_run=True), "text", show_diff=True)

    assert "=== chat-moderation: 1 function changed\n" in text
    assert "--- a/chat-moderation/filter\n+++ b/chat-moderation/filter\n" in text
    assert "+  console.log('hi');\n" in text
    assert "type: BEFORE_PUBLISH -> AFTER_PUBLISH\n" in text
    assert text.endswith(
        "1 package: 1 would-create, 0 unchanged, 0 failed (dry run, commit abc123def456, 0.42 s)\n"
    )


def test_text_without_show_diff_has_no_diff() -> None:
    text = render(make_result(CHAT), "text", show_diff=False)

    assert "---" not in text
    assert "filter" not in text


def test_summary_line_mentions_would_create_in_a_real_run_only_when_some_exist() -> None:
    odd = Outcome("p", Status.WOULD_CREATE)

    assert "would-create" not in summary_line(make_result(CHAT))
    assert summary_line(make_result(CHAT, odd)).startswith(
        "2 packages: 1 created, 1 would-create, 0 unchanged, 0 failed"
    )


# --- markdown -----------------------------------------------------------------------------------


def test_markdown_has_a_heading_summary_and_a_table_row_per_changed_package() -> None:
    markdown = render(make_result(CHAT, BROKEN, ANALYTICS), "markdown", show_diff=True)
    lines = markdown.splitlines()

    assert lines[0].startswith("#")
    assert "`abc123def456`" in lines[0]
    assert "3 packages: 1 created, 1 unchanged, 1 failed (commit abc123def456, 0.42 s)" in lines
    header = lines.index("| path | package | status | revision | correlation id |")
    assert lines[header + 1] == "| --- | --- | --- | --- | --- |"
    assert lines[header + 2 : header + 5] == [
        "| `broken` | `pkg-broken` | failed | - | `corr-err` |",
        "| `chat-moderation` | `pkg-chat` | created | `v1.1.0` | `corr-abc` |",
        "",
    ]
    # the unchanged package is one line a reviewer can open, not a row
    assert "<summary>1 package unchanged</summary>" in lines
    assert "`analytics`" in lines


def test_markdown_puts_each_changed_packages_diff_in_a_details_diff_fence() -> None:
    markdown = render(make_result(CHAT, ANALYTICS), "markdown", show_diff=True)

    assert markdown.count("<summary><code>") == 1  # analytics did not change
    assert "<summary><code>chat-moderation</code>: 2 functions changed</summary>" in markdown
    start = markdown.index("```diff\n")
    end = markdown.index("\n```\n", start)
    fenced = markdown[start + len("```diff\n") : end].splitlines()
    assert fenced == [
        *diff_function(MODIFIED, "chat-moderation"),
        "",
        *diff_function(ADDED, "chat-moderation"),
    ]
    assert markdown.rindex("</details>") > end


def test_markdown_lists_every_line_of_an_error_nested_under_the_package() -> None:
    markdown = render(make_result(BROKEN), "markdown", show_diff=False)

    assert (
        "- `broken`: `POST /v2/faas/package-revisions: 409 FAAS-1009:`\n  - `name taken`\n"
        in markdown
    )


def test_markdown_without_show_diff_lists_changes_instead_of_diffs() -> None:
    markdown = render(make_result(CHAT), "markdown", show_diff=False)

    assert "```" not in markdown
    assert "- `filter`: modified\n- `greeter`: added\n" in markdown


def test_markdown_fence_outlasts_backticks_inside_the_code() -> None:
    tricky = FunctionSpec("md", "ON_REQUEST", "const s = ```not the end```;\n")
    outcome = Outcome(
        "p", Status.WOULD_CREATE, changes=(FunctionChange("md", ChangeKind.ADDED, after=tricky),)
    )

    markdown = render(make_result(outcome, dry_run=True), "markdown", show_diff=True)

    assert "````diff\n" in markdown
    assert "\n````\n" in markdown


def test_markdown_table_cells_escape_pipes() -> None:
    outcome = Outcome("a|b", Status.FAILED)

    markdown = render(make_result(outcome), "markdown", show_diff=False)

    assert "| `a\\|b` | - | failed | - |" in markdown


def test_markdown_shows_a_fatal_error_prominently() -> None:
    markdown = render(make_result(fatal_error="401: invalid key"), "markdown", show_diff=False)

    assert "> **Stopped before any package was synced:** 401: invalid key" in markdown
    assert "| path |" not in markdown  # no table without packages
    assert "0 packages" not in markdown


def test_markdown_of_a_run_stopped_midway_keeps_the_summary_and_the_table() -> None:
    result = make_result(ANALYTICS, fatal_error="401: invalid key")

    markdown = render(result, "markdown", show_diff=False)

    assert "> **Stopped:** 401: invalid key" in markdown
    assert summary_line(result) in markdown
    assert "`analytics`" in markdown  # in the unchanged line


# --- diffs --------------------------------------------------------------------------------------


def test_a_modified_function_diffs_its_attributes_then_its_code() -> None:
    assert diff_function(MODIFIED, "chat-moderation") == [
        "function filter: modified",
        "type: BEFORE_PUBLISH -> AFTER_PUBLISH",
        'config.inputChannel: "a.*" -> "b.*"',
        'config.outputChannel: (none) -> "out"',
        "--- a/chat-moderation/filter",
        "+++ b/chat-moderation/filter",
        "@@ -1,3 +1,4 @@",
        " export default (request) => {",
        "+  console.log('hi');",
        "   return request.ok();",
        " }",
    ]


def test_an_added_function_diffs_against_nothing() -> None:
    assert diff_function(ADDED, "pkgs/greet") == [
        "function greeter: added",
        "type: (none) -> ON_REQUEST",
        "language: (none) -> JAVASCRIPT",
        "sortOrder: (none) -> 2",
        "--- a/pkgs/greet/greeter",
        "+++ b/pkgs/greet/greeter",
        "@@ -0,0 +1,2 @@",
        "+hello",
        "+world",
    ]


def test_a_removed_function_diffs_to_nothing() -> None:
    assert diff_function(REMOVED, "greet") == [
        "function greeter: removed",
        "type: ON_REQUEST -> (none)",
        "language: JAVASCRIPT -> (none)",
        "sortOrder: 2 -> (none)",
        "--- a/greet/greeter",
        "+++ b/greet/greeter",
        "@@ -1,2 +0,0 @@",
        "-hello",
        "-world",
    ]


def test_a_function_in_the_root_package_has_no_dot_in_its_diff_path() -> None:
    lines = diff_function(ADDED, ".")

    assert "--- a/greeter" in lines
    assert "+++ b/greeter" in lines


def test_only_changed_attributes_are_listed_and_config_keys_are_sorted() -> None:
    before = FunctionSpec(
        "f", "ON_REQUEST", "x\n", language="JAVASCRIPT", config={"b": 1, "a": [2]}
    )
    after = FunctionSpec("f", "ON_REQUEST", "x\n", sort_order=5, config={"a": [2], "b": 1})
    change = FunctionChange("f", ChangeKind.MODIFIED, before=before, after=after)

    assert diff_function(change, "p") == ["function f: modified", "sortOrder: 0 -> 5"]


def test_a_change_only_in_the_final_newline_is_still_shown() -> None:
    before = FunctionSpec("f", "ON_REQUEST", "x\n")
    after = FunctionSpec("f", "ON_REQUEST", "x")
    change = FunctionChange("f", ChangeKind.MODIFIED, before=before, after=after)

    assert diff_function(change, "p") == [
        "function f: modified",
        "code: only line endings or the final newline differ in p/f",
    ]


# --- history ------------------------------------------------------------------------------------

ENTRY = LedgerEntry(
    id=7,
    recorded_at=datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC),
    commit=COMMIT,
    ref="main",
    path="chat-moderation",
    package_id="pkg-chat",
    status="created",
    revision_name="v1.1.0",
    revision_id="rev-123",
    correlation_id="corr-abc",
    error=None,
    trigger="webhook",
)
FAILED_ENTRY = LedgerEntry(
    id=8,
    recorded_at=datetime(2024, 5, 1, 12, 5, 0, tzinfo=UTC),
    commit=COMMIT,
    ref="main",
    path="broken",
    package_id=None,
    status="failed",
    revision_name=None,
    revision_id=None,
    correlation_id=None,
    error="manifest invalid:\nfunctions[0].file missing",
    trigger="poll",
)


def test_history_json_has_camel_case_entries_with_every_field() -> None:
    document = json.loads(render_history([ENTRY], "json"))

    assert document == {
        "entries": [
            {
                "id": 7,
                "recordedAt": "2024-05-01T12:00:02Z",
                "commit": COMMIT,
                "ref": "main",
                "path": "chat-moderation",
                "packageId": "pkg-chat",
                "status": "created",
                "revisionName": "v1.1.0",
                "revisionId": "rev-123",
                "correlationId": "corr-abc",
                "error": None,
                "trigger": "webhook",
                "verifiedBy": None,
                "kind": "revision",
                "step": "revision",
                "environment": None,
                "keysetId": None,
                "from": None,
                "to": "v1.1.0",
                "note": None,
                "name": None,
                "lookupCorrelationId": None,
                "complete": True,
                "commitUrl": None,
            }
        ]
    }


def test_history_text_is_an_aligned_table_in_the_given_order() -> None:
    text = render_history([FAILED_ENTRY, ENTRY], "text")

    assert text.splitlines() == [
        "TIME                  COMMIT        PATH             STATUS   REVISION  TRIGGER"
        "  CORRELATION ID  ERROR",
        "2024-05-01 12:05:00Z  abc123def456  broken           failed   -         poll"
        "     -               manifest invalid: functions[0].file missing",
        "2024-05-01 12:00:02Z  abc123def456  chat-moderation  created  v1.1.0    webhook  corr-abc",
    ]
    assert text.endswith("corr-abc\n")


def test_empty_history_says_so() -> None:
    assert render_history([], "text") == "no syncs recorded\n"
    assert json.loads(render_history([], "json")) == {"entries": []}


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml"):
        render(make_result(), "yaml", show_diff=False)  # type: ignore[arg-type]

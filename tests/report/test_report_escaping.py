"""A hostile directory name cannot forge a line, recolour a terminal or break a table."""

from __future__ import annotations

import json
from dataclasses import replace

from faas_gitops.models import ChangeKind, FunctionChange, FunctionSpec, Outcome, Status
from faas_gitops.report import printable, render
from tests.report.report_builders import GEO, make_result

HOSTILE = "evil\ncreated  forged\x1b[31m|x"


def test_printable_escapes_c0_c1_del_and_line_separators() -> None:
    assert printable("a\nb\rc\td\x1b[31me\x7ff\x85g\u2028h\u202ei") == (
        "a\\nb\\rc\\td\\x1b[31me\\x7ff\\x85g\\u2028h\\u202ei"
    )
    assert printable("code\tline", keep_tab=True) == "code\tline"
    assert printable("plain ünïcode → ok") == "plain ünïcode → ok"


def test_text_output_cannot_be_forged_by_a_directory_name() -> None:
    outcome = Outcome(HOSTILE, Status.FAILED, error=f"bad manifest in {HOSTILE}")

    text = render(make_result(outcome), "text", show_diff=False)

    assert "\x1b" not in text
    # The path stays on its row; the error's own second line is indented under it.
    assert text.splitlines()[:2] == [
        "failed  evil\\ncreated  forged\\x1b[31m|x  -  error: bad manifest in evil",
        "    created  forged\\x1b[31m|x",
    ]
    assert len(text.splitlines()) == 4  # the row, its error line, a blank line, the summary


def test_markdown_table_cells_escape_newlines_escapes_and_pipes() -> None:
    outcome = Outcome(HOSTILE, Status.CREATED, revision_name="v`1`\x1b")

    markdown = render(make_result(outcome), "markdown", show_diff=False)

    assert "\x1b" not in markdown
    assert "| `evil\\ncreated  forged\\x1b[31m\\|x` | - | created | `` v`1`\\x1b `` |" in (markdown)


def test_the_collapsed_line_of_unchanged_packages_escapes_their_paths_too() -> None:
    markdown = render(make_result(Outcome(HOSTILE, Status.UNCHANGED)), "markdown", show_diff=False)

    assert "\x1b" not in markdown
    assert "\n`evil\\ncreated  forged\\x1b[31m|x`\n" in markdown


def test_revision_names_errors_and_environments_are_escaped_in_every_human_rendering() -> None:
    deployment = replace(GEO.deployments[0], environment="st\x1bg", error="boom\x07\n\x9bnext")
    outcome = replace(GEO, revision_name="v1\r\n", deployments=(deployment,))

    for fmt in ("text", "markdown"):
        output = render(make_result(outcome), fmt, show_diff=False)
        assert not any(ch in output for ch in "\x1b\x07\x9b\r"), fmt
        assert "v1\\r\\n" in output
        assert "st\\x1bg" in output
        assert "boom\\x07" in output


def test_code_lines_in_a_diff_keep_tabs_but_escape_terminal_codes() -> None:
    spec = FunctionSpec("f\x1b", "ON_REQUEST", "\tlet red = '\x1b[31m';\n")
    change = FunctionChange("f\x1b", ChangeKind.ADDED, after=spec)
    outcome = Outcome("p\n", Status.WOULD_CREATE, changes=(change,))

    for fmt in ("text", "markdown"):
        output = render(make_result(outcome, dry_run=True), fmt, show_diff=True)
        assert "\x1b" not in output
        assert "+\tlet red = '\\x1b[31m';" in output
        assert "function f\\x1b: added" in output


def test_json_keeps_the_raw_text_for_programs() -> None:
    outcome = Outcome(HOSTILE, Status.FAILED, error="x\ny")

    document = json.loads(render(make_result(outcome), "json", show_diff=False))

    assert document["packages"][0]["path"] == HOSTILE
    assert document["packages"][0]["error"] == "x\ny"

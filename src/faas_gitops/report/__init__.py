"""What a person (text), a program (json) or a pull request (markdown) sees.

Pure functions of a ``SyncResult``, of ledger entries or of package status rows: no I/O, no
clock, no colours (stdout may be a pipe), so the same input always renders to the same bytes
and tests compare strings. Everything is sorted: packages by path, environments by name,
function changes by name. Human renderings escape control characters in every value that came
from git or the API; JSON carries them raw (its encoder escapes them).

This package sees results, never the API key.
"""

from __future__ import annotations

from typing import Literal

from faas_gitops.logs import printable
from faas_gitops.models import SyncResult
from faas_gitops.report.common import SHORT_COMMIT, canonical_json
from faas_gitops.report.diffs import diff_function
from faas_gitops.report.documents import status_document, to_json_document
from faas_gitops.report.json_text import dumps_indented
from faas_gitops.report.markdown import render_markdown
from faas_gitops.report.tables import render_history, render_status
from faas_gitops.report.text import render_text, summary_line


def render(
    result: SyncResult,
    fmt: Literal["text", "json", "markdown"],
    *,
    show_diff: bool,
    commit_url: str | None = None,
) -> str:
    """The whole output of one sync in ``fmt``, ending with a newline.

    ``show_diff`` adds function diffs to text and markdown; json never carries code, so it
    stays small enough to post-process (``show_diff`` is ignored there). ``commit_url``
    (``--commit-url``) links the commit in markdown.
    """
    if fmt == "json":
        return dumps_indented(to_json_document(result)) + "\n"  # json.dumps(indent=2)
    if fmt == "markdown":
        return render_markdown(result, show_diff=show_diff, commit_url=commit_url)
    if fmt == "text":
        return render_text(result, show_diff=show_diff)
    raise ValueError(f"unknown output format {fmt!r}")


__all__ = [
    "SHORT_COMMIT",
    "canonical_json",
    "diff_function",
    "printable",
    "render",
    "render_history",
    "render_status",
    "status_document",
    "summary_line",
    "to_json_document",
]

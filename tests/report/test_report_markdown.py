"""The pull-request comment says what changed: unchanged packages and deployments in sync are
one line each, a dry run has no correlation-id column, and the commit links to its page."""

from __future__ import annotations

import json
from dataclasses import replace

from faas_gitops.models import Outcome, Status
from faas_gitops.report import render
from tests.report.report_builders import COMMIT, GEO, PRODUCTION_IN_SYNC, make_result

TEMPLATE = "https://github.com/acme/functions/commit/{sha}"
QUIET = tuple(
    Outcome(f"pkg-{n:02d}", Status.UNCHANGED, f"id-{n}", "v1", deployments=(PRODUCTION_IN_SYNC,))
    for n in range(38)
)


def test_unchanged_packages_and_deployments_in_sync_collapse_into_one_line_each() -> None:
    markdown = render(make_result(GEO, *QUIET), "markdown", show_diff=False)
    lines = markdown.splitlines()

    package_rows = [line for line in lines if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in package_rows] == ["| `geo-fence`", "| `geo-fence`"]
    assert "<summary>38 packages unchanged</summary>" in lines
    assert "<summary>39 deployments in sync</summary>" in lines
    assert "`pkg-00`, `pkg-01`," in markdown
    assert "`geo-fence` on `production`" in markdown
    assert len(lines) < 40


def test_a_dry_run_has_no_correlation_id_column() -> None:
    planned = Outcome("chat", Status.WOULD_CREATE, "id-chat", "v2")

    markdown = render(make_result(planned, dry_run=True), "markdown", show_diff=False)

    assert "| path | package | status | revision |" in markdown
    assert "correlation id" not in markdown
    assert "| -" not in markdown.replace("| --- ", "")  # no column of dashes


def test_the_correlation_id_column_is_there_when_a_row_has_one() -> None:
    markdown = render(make_result(GEO), "markdown", show_diff=False)

    assert "| path | package | status | revision | correlation id |" in markdown
    assert "| path | environment | revision | status | note | correlation id |" in markdown
    assert "`corr-d`" in markdown


def test_the_commit_is_a_link_with_commit_url() -> None:
    linked = render(make_result(GEO), "markdown", show_diff=False, commit_url=TEMPLATE)
    plain = render(make_result(GEO), "markdown", show_diff=False)

    assert linked.splitlines()[0] == (
        f"### faas-gitops sync of [`abc123def456`](https://github.com/acme/functions/commit/"
        f"{COMMIT}) (`main`)"
    )
    assert plain.splitlines()[0] == "### faas-gitops sync of `abc123def456` (`main`)"
    assert "https://" not in plain


def test_a_commit_that_is_not_an_object_id_is_never_put_in_a_link() -> None:
    result = replace(make_result(GEO), commit="HEAD](javascript:x)")

    markdown = render(result, "markdown", show_diff=False, commit_url=TEMPLATE)

    assert "https://" not in markdown


def test_json_summary_counts_deployments_like_the_text_summary() -> None:
    document = json.loads(render(make_result(GEO, *QUIET[:2]), "json", show_diff=False))

    deployments = document["summary"]["deployments"]
    assert (deployments["deployed"], deployments["in-sync"], deployments["total"]) == (1, 3, 4)
    assert document["summary"]["created"] == 1
    assert document["deploymentSummary"] == deployments  # the older name, kept
    assert "4 deployments: 1 deployed, 3 in-sync" in render(
        make_result(GEO, *QUIET[:2]), "text", show_diff=False
    )

"""Every package x environment is one line a person reads and one object a program reads."""

from __future__ import annotations

import json
from dataclasses import replace

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status
from faas_gitops.report import render, summary_line, to_json_document
from tests.report.report_builders import GEO, PRODUCTION_IN_SYNC, STAGING_DEPLOYED, make_result


def test_json_packages_carry_their_deployments_with_every_documented_key() -> None:
    (package,) = to_json_document(make_result(GEO))["packages"]

    assert package["name"] == "geo-fence-prod"
    assert package["deployments"] == [
        {
            "environment": "production",
            "keysetId": 498765,
            "status": "in-sync",
            "revisionName": "v1.4.0",
            "revisionId": "rev-14",
            "deploymentId": "dep-9",
            "previousDeploymentId": None,
            "correlationId": None,
            "error": None,
            "running": "v1.4.0",
            "note": None,
            "pinned": False,
        },
        {
            "environment": "staging",
            "keysetId": 412345,
            "status": "deployed",
            "revisionName": "v1.4.0",
            "revisionId": "rev-14",
            "deploymentId": "dep-2",
            "previousDeploymentId": "dep-1",
            "correlationId": "corr-d",
            "error": None,
            "running": "v1.4.0",
            "note": None,
            "pinned": False,
        },
    ]


def test_text_shows_one_line_per_environment_under_its_package() -> None:
    text = render(make_result(GEO), "text", show_diff=False)

    assert text.splitlines()[:3] == [
        "created  geo-fence  v1.4.0  rev=rev-14  corr=corr-c",
        "  production: v1.4.0 in-sync",
        "  staging: v1.3.0 → v1.4.0 deployed  corr=corr-d",
    ]


def test_the_summary_line_counts_deployments_per_status_when_there_are_any() -> None:
    assert summary_line(make_result(GEO)) == (
        "1 package: 1 created, 0 unchanged, 0 failed; 2 deployments: 1 deployed, 1 in-sync"
        " (commit abc123def456, 0.42 s)"
    )
    assert "deployment" not in summary_line(make_result(replace(GEO, deployments=())))


def test_a_dry_run_shows_where_each_environment_would_move_from_and_to() -> None:
    would = replace(STAGING_DEPLOYED, status=DeployStatus.WOULD_DEPLOY, correlation_id=None)
    fresh = DeploymentOutcome(
        "qa", 7, DeployStatus.WOULD_DEPLOY, revision_name="v1.4.0", revision_id="rev-14"
    )
    outcome = replace(GEO, status=Status.WOULD_CREATE, deployments=(would, fresh))

    text = render(make_result(outcome, dry_run=True), "text", show_diff=False)

    assert "  qa: (none) → v1.4.0 would-deploy\n" in text
    assert "  staging: v1.3.0 → v1.4.0 would-deploy\n" in text
    assert "2 deployments: 2 would-deploy (dry run," in text


def test_frozen_pruned_and_failed_environments_show_their_error() -> None:
    frozen = replace(
        STAGING_DEPLOYED,
        environment="production",
        status=DeployStatus.FROZEN,
        correlation_id=None,
        error="production is frozen: nothing written",
    )
    pruned = DeploymentOutcome(
        "staging", 1, DeployStatus.PRUNED, previous_revision_name="v0.9.0", correlation_id="c-p"
    )
    failed = DeploymentOutcome(
        "qa",
        2,
        DeployStatus.FAILED,
        revision_name="v1.4.0",
        previous_revision_name="v1.3.0",
        error="GET /v2/faas/limits/package-deployments-running: no headroom\nlimit is 5 running",
    )
    outcome = replace(GEO, deployments=(frozen, pruned, failed))

    lines = render(make_result(outcome), "text", show_diff=False).splitlines()

    assert lines[1:5] == [
        "  production: v1.3.0 → v1.4.0 frozen  error: production is frozen: nothing written",
        "  qa: v1.3.0 → v1.4.0 failed  error: GET /v2/faas/limits/package-deployments-running:"
        " no headroom",
        "      limit is 5 running",
        "  staging: v0.9.0 pruned  corr=c-p",
    ]


def test_markdown_has_a_deployment_table_and_lists_deployment_errors() -> None:
    failed = DeploymentOutcome(
        "qa", 2, DeployStatus.FAILED, revision_name="v1.4.0", error="FAAS-1012: start failed"
    )
    outcome = replace(GEO, deployments=(STAGING_DEPLOYED, failed))

    markdown = render(make_result(outcome), "markdown", show_diff=False)

    assert (
        "| path | environment | revision | status | note | correlation id |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| `geo-fence` | `qa` | `(none) → v1.4.0` | failed | - | - |\n"
        "| `geo-fence` | `staging` | `v1.3.0 → v1.4.0` | deployed | - | `corr-d` |\n"
    ) in markdown
    assert "- `geo-fence` on `qa`: `FAAS-1012: start failed`\n" in markdown


def test_markdown_names_each_package_by_manifest_name_and_id() -> None:
    markdown = render(make_result(GEO), "markdown", show_diff=False)

    assert (
        "| `geo-fence` | `geo-fence-prod (550e8400-e29b-41d4-a716-446655440000)` | created"
        in markdown
    )


def test_without_deployments_neither_text_nor_markdown_mentions_environments() -> None:
    plain = Outcome("p", Status.UNCHANGED, package_id="id-1", revision_name="v1")

    assert "**Deployments**" not in render(make_result(plain), "markdown", show_diff=False)
    assert (
        json.loads(render(make_result(plain), "json", show_diff=False))["packages"][0][
            "deployments"
        ]
        == []
    )
    assert PRODUCTION_IN_SYNC.environment not in render(make_result(plain), "text", show_diff=False)


def test_adopted_is_counted_apart_from_created() -> None:
    adopted = Outcome("q", Status.ADOPTED, revision_name="v2", revision_id="r2")
    result = make_result(GEO, adopted)

    assert summary_line(result).startswith(
        "2 packages: 1 created, 1 adopted, 0 unchanged, 0 failed;"
    )
    assert to_json_document(result)["summary"]["adopted"] == 1
    assert to_json_document(result)["summary"]["created"] == 1
    assert "| `q` | - | adopted |" in render(result, "markdown", show_diff=False)


def test_a_removed_package_is_counted_as_removed_after_unchanged_never_as_unchanged() -> None:
    orphan = DeploymentOutcome(
        "production", 2, DeployStatus.ORPHANED, revision_name="v1", note="not in the commit"
    )
    removed = Outcome("gone", Status.REMOVED, package_id="id-9", deployments=(orphan,))
    kept = Outcome("kept", Status.UNCHANGED, package_id="id-1", revision_name="v1")
    result = make_result(kept, removed)

    assert summary_line(result).startswith(
        "2 packages: 0 created, 1 unchanged, 1 removed, 0 failed; 1 deployment: 1 orphaned"
    )
    assert to_json_document(result)["summary"]["removed"] == 1
    assert to_json_document(result)["summary"]["unchanged"] == 1


def test_promoted_and_rolled_back_are_named_only_when_they_occurred() -> None:
    promoted = Outcome("a", Status.PROMOTED, package_id="id-1", revision_name="v1")
    rolled = Outcome("b", Status.ROLLED_BACK, package_id="id-2", revision_name="v0")

    assert summary_line(make_result(promoted, rolled)).startswith(
        "2 packages: 0 created, 0 unchanged, 1 promoted, 1 rolled-back, 0 failed"
    )
    assert "promoted" not in summary_line(make_result(GEO))

"""``history`` and ``status`` tables: the same rows for a terminal, a program and a PR."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.records import PackageStatus
from faas_gitops.report import render_history, render_status, status_document
from faas_gitops.state import LedgerEntry
from tests.report.report_builders import COMMIT, PRODUCTION_IN_SYNC, STAGING_DEPLOYED

SYNCED = datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC)
GEO = PackageStatus(
    path="geo-fence",
    name="geo-fence-prod",
    package_id="pkg-geo",
    revision_name="v1.4.0",
    revision_id="rev-14",
    status="created",
    synced_at=SYNCED,
    commit=COMMIT,
    correlation_id="corr-c",
    error=None,
    deployments=(STAGING_DEPLOYED, PRODUCTION_IN_SYNC),
)
BROKEN = PackageStatus(
    path="broken\x1b[2J",
    name=None,
    package_id=None,
    revision_name=None,
    revision_id=None,
    status="failed",
    synced_at=None,
    commit=None,
    correlation_id=None,
    error="manifest invalid: 2 problems\nfunctions[0].file missing",
    deployments=(
        DeploymentOutcome("staging", 1, DeployStatus.FAILED, revision_name="v0.1", error="x"),
    ),
)
PLAIN = PackageStatus(
    "chat", "chat", "pkg-chat", "v1", "rev-1", "unchanged", SYNCED, COMMIT, None, None
)


def test_status_text_has_one_row_per_package_and_a_column_per_environment() -> None:
    assert render_status([GEO, BROKEN], "text").splitlines() == [
        "PATH           NAME            PACKAGE ID  REVISION  STATUS   LAST SYNC"
        "             CORRELATION ID  PRODUCTION  STAGING           ERROR",
        "broken\\x1b[2J  -               -           -         failed   -"
        "                     -               -           - (failed: v0.1)"
        "  manifest invalid: 2 problems functions[0].file missing",
        "geo-fence      geo-fence-prod  pkg-geo     v1.4.0    created  2024-05-01T12:00:02Z"
        "  corr-c          v1.4.0      v1.4.0",
    ]


def test_status_without_deployments_has_no_environment_columns() -> None:
    (header, row) = render_status([PLAIN], "text").splitlines()

    assert header.split() == [
        "PATH", "NAME", "PACKAGE", "ID", "REVISION", "STATUS", "LAST", "SYNC", "CORRELATION", "ID"
    ]  # fmt: skip
    assert row.split() == [
        "chat",
        "chat",
        "pkg-chat",
        "v1",
        "unchanged",
        "2024-05-01T12:00:02Z",
        "-",
    ]


def test_status_json_is_a_list_of_camel_case_objects_sorted_by_path() -> None:
    document = json.loads(render_status([GEO, BROKEN], "json"))

    assert document == status_document([BROKEN, GEO])
    assert [row["path"] for row in document] == ["broken\x1b[2J", "geo-fence"]
    assert document[1] == {
        "path": "geo-fence",
        "name": "geo-fence-prod",
        "packageId": "pkg-geo",
        "revisionName": "v1.4.0",
        "revisionId": "rev-14",
        "status": "created",
        "syncedAt": "2024-05-01T12:00:02Z",
        "commit": COMMIT,
        "correlationId": "corr-c",
        "error": None,
        "deployments": status_document([GEO])[0]["deployments"],
    }
    assert [d["environment"] for d in document[1]["deployments"]] == ["production", "staging"]
    assert document[0]["syncedAt"] is None


def test_status_markdown_is_a_table_with_escaped_cells() -> None:
    lines = render_status([GEO, BROKEN], "markdown").splitlines()

    assert lines[0] == (
        "| path | name | package id | revision | status | last sync | correlation id"
        " | production | staging | error |"
    )
    assert lines[2].startswith("| `broken\\x1b[2J` | - | - | - | `failed` |")
    assert lines[2].endswith(
        "| `- (failed: v0.1)` | `manifest invalid: 2 problems functions[0].file missing` |"
    )


def test_empty_status_says_so() -> None:
    assert render_status([], "text") == "no packages recorded\n"
    assert json.loads(render_status([], "json")) == []


ENTRY = LedgerEntry(
    7, SYNCED, COMMIT, "main", "chat|x", "pkg-chat", "created", "v1.1.0", "rev-1", "c-1",
    "line one\nline two", "webhook",
)  # fmt: skip


def test_history_markdown_is_a_table_in_the_given_order() -> None:
    assert render_history([ENTRY], "markdown").splitlines() == [
        "| time | commit | path | status | revision | trigger | correlation id | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| `2024-05-01 12:00:02Z` | `abc123def456` | `chat\\|x` | `created` | `v1.1.0` | `webhook`"
        " | `c-1` | `line one line two` |",
    ]


@pytest.mark.parametrize("render", [render_history, render_status])
def test_tables_refuse_an_unknown_format(render: object) -> None:
    with pytest.raises(ValueError, match="yaml"):
        render([], "yaml")  # type: ignore[operator]

"""Every deployment status a release can end in, said the same way by text, JSON and markdown
(a sync's output) and by the ``status`` table: what runs, what was wanted, the pin, the note."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.records import PackageStatus
from faas_gitops.report import render, render_status, summary_line, to_json_document
from tests.report.report_builders import COMMIT, GEO, make_result

FREEZE = "frozen in faas-gitops.yaml"
HOLD = "held since 2026-12-07T09:30Z: rolled back to v1.3.0 from v1.4.0"
SKIP = "pinned on production: promote leaves it alone"
SYNCED = datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC)
ORPHAN = "no longer in the commit; still runs on qa; a sync of qa with --prune stops it"


def outcome(env: str, status: DeployStatus, **extra: object) -> DeploymentOutcome:
    return DeploymentOutcome(env, 1, status, **extra)  # type: ignore[arg-type]


FROZEN = outcome(
    "production",
    DeployStatus.FROZEN,
    revision_name="v1.4.0",
    previous_revision_name="v1.3.0",
    note=FREEZE,
)
HELD = outcome(
    "canary",
    DeployStatus.HELD,
    revision_name="v1.4.0",
    previous_revision_name="v1.3.0",
    note=HOLD,
)
SKIPPED = outcome("edge", DeployStatus.SKIPPED, note=SKIP, pinned=True)
ORPHANED = outcome("qa", DeployStatus.ORPHANED, previous_revision_name="v0.9.0", note=ORPHAN)
WOULD_PRUNE = outcome("dev", DeployStatus.WOULD_PRUNE, previous_revision_name="v0.9.0")
PINNED = outcome(
    "staging",
    DeployStatus.DEPLOYED,
    revision_name="v1.3.0",
    previous_revision_name="v1.4.0",
    pinned=True,
)
ALL = (FROZEN, HELD, SKIPPED, ORPHANED, WOULD_PRUNE, PINNED)
RESULT = make_result(replace(GEO, deployments=ALL))


def test_text_names_each_status_with_its_revisions_pin_and_note() -> None:
    lines = render(RESULT, "text", show_diff=False).splitlines()

    assert lines[1:7] == [
        f"  canary: v1.3.0 → v1.4.0 held ({HOLD})",
        "  dev: v0.9.0 would-prune",
        f"  edge: - skipped (pinned) ({SKIP})",
        f"  production: v1.3.0 → v1.4.0 frozen ({FREEZE})",
        f"  qa: v0.9.0 orphaned ({ORPHAN})",
        "  staging: v1.4.0 → v1.3.0 deployed (pinned)",
    ]


def test_the_summary_counts_every_new_status_in_the_enums_order() -> None:
    assert summary_line(RESULT).split("; ")[1].split(" (")[0] == (
        "6 deployments: 1 deployed, 1 would-prune, 1 frozen, 1 held, 1 skipped, 1 orphaned"
    )


def test_json_carries_what_runs_the_note_and_the_pin_and_counts_every_status() -> None:
    document = json.loads(render(RESULT, "json", show_diff=False))

    found = {
        d["environment"]: (d["status"], d["running"], d["revisionName"], d["note"], d["pinned"])
        for d in document["packages"][0]["deployments"]
    }
    assert found == {
        "canary": ("held", "v1.3.0", "v1.4.0", HOLD, False),
        "dev": ("would-prune", "v0.9.0", None, None, False),
        "edge": ("skipped", None, None, SKIP, True),
        "production": ("frozen", "v1.3.0", "v1.4.0", FREEZE, False),
        "qa": ("orphaned", "v0.9.0", None, ORPHAN, False),
        "staging": ("deployed", "v1.3.0", "v1.3.0", None, True),
    }
    assert document["deploymentSummary"] == {
        "deployed": 1,
        "in-sync": 0,
        "would-deploy": 0,
        "would-prune": 1,
        "frozen": 1,
        "held": 1,
        "skipped": 1,
        "pruned": 0,
        "orphaned": 1,
        "failed": 0,
        "total": 6,
    }
    assert document == to_json_document(RESULT)


def test_markdown_has_the_same_rows_with_the_pin_and_note_and_no_empty_correlation_column() -> None:
    markdown = render(RESULT, "markdown", show_diff=False)

    assert (
        "| path | environment | revision | status | note |\n"
        "| --- | --- | --- | --- | --- |\n"
        f"| `geo-fence` | `canary` | `v1.3.0 → v1.4.0` | held | `{HOLD}` |\n"
        "| `geo-fence` | `dev` | `v0.9.0` | would-prune | - |\n"
        f"| `geo-fence` | `edge` | `-` | skipped | `pinned; {SKIP}` |\n"
        f"| `geo-fence` | `production` | `v1.3.0 → v1.4.0` | frozen | `{FREEZE}` |\n"
        f"| `geo-fence` | `qa` | `v0.9.0` | orphaned | `{ORPHAN}` |\n"
        "| `geo-fence` | `staging` | `v1.4.0 → v1.3.0` | deployed | `pinned` |\n"
    ) in markdown
    assert summary_line(RESULT) in markdown


STATUS = PackageStatus(
    "geo-fence", "geo", "pkg-geo", "v1.4.0", "rev-14", "unchanged", SYNCED, COMMIT, None, None,
    deployments=(*ALL, replace(FROZEN, environment="eu", pinned=True)),
)  # fmt: skip


def test_the_status_table_shows_what_runs_then_the_last_attempt_and_notes_below() -> None:
    header, row, *notes = render_status([STATUS], "text").splitlines()

    columns = header.split()[-7:]
    assert columns == ["CANARY", "DEV", "EDGE", "EU", "PRODUCTION", "QA", "STAGING"]
    assert "v1.3.0 (held: v1.4.0)  v0.9.0 (would-prune)  - (skipped, pinned)" in row
    assert "v1.3.0 (frozen: v1.4.0, pinned)  v1.3.0 (frozen: v1.4.0)  v0.9.0 (orphaned)" in row
    assert row.endswith("  v1.3.0 (pinned)")
    assert notes == [
        f"note: geo-fence on canary: {HOLD}",
        f"note: geo-fence on edge: {SKIP}",
        f"note: geo-fence on eu: {FREEZE}",
        f"note: geo-fence on production: {FREEZE}",
        f"note: geo-fence on qa: {ORPHAN}",
    ]


def test_the_status_markdown_lists_the_same_notes() -> None:
    markdown = render_status([STATUS], "markdown")

    assert "| `v1.3.0 (frozen: v1.4.0)` |" in markdown
    assert markdown.endswith(
        "\n**Notes**\n\n"
        f"- `geo-fence` on `canary`: `{HOLD}`\n"
        f"- `geo-fence` on `edge`: `{SKIP}`\n"
        f"- `geo-fence` on `eu`: `{FREEZE}`\n"
        f"- `geo-fence` on `production`: `{FREEZE}`\n"
        f"- `geo-fence` on `qa`: `{ORPHAN}`\n"
    )
    assert "\n\n**Notes**" in markdown  # a blank line ends the table first


def test_a_status_without_notes_ends_with_its_table() -> None:
    plain = replace(STATUS, deployments=(PINNED,))

    assert render_status([plain], "text").splitlines()[-1].endswith("v1.3.0 (pinned)")
    assert "Notes" not in render_status([plain], "markdown")

"""The status page's rendering on its own: environment columns, failures that say so in words,
escaping, and the JSON twin's camelCase shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faas_gitops.daemon.statuspage import (
    StatusSnapshot,
    content_security_policy,
    render_main,
    render_page,
    snapshot_document,
)
from faas_gitops.models import DeploymentOutcome, DeployStatus, PackageStatus, SyncSummary

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def package(path: str, status: str, *deployments: DeploymentOutcome) -> PackageStatus:
    return PackageStatus(
        path=path,
        name=f"{path}-name",
        package_id="pkg-" + path,
        revision_name="abc123def456",
        revision_id="rev-" + path,
        status=status,
        synced_at=NOW - timedelta(seconds=42),
        commit="a" * 40,
        correlation_id="corr-" + path,
        error="bad <manifest>" if status == "failed" else None,
        deployments=deployments,
    )


def snapshot(*packages: PackageStatus) -> StatusSnapshot:
    return StatusSnapshot(
        commit="a" * 40,
        ref="main",
        last_sync_at=NOW - timedelta(minutes=3),
        last_sync_ok=True,
        last_error=None,
        ready=True,
        ready_reason="ok",
        syncing=False,
        packages=packages,
        syncs=[
            SyncSummary(
                id=7,
                commit="a" * 40,
                ref="main",
                trigger="webhook",
                dry_run=False,
                started_at=NOW - timedelta(minutes=3, seconds=2),
                finished_at=NOW - timedelta(minutes=3),
                counts={"created": 1, "unchanged": 1, "failed": 0, "total": 2},
                fatal_error=None,
            )
        ],
    )


def deployed(environment: str, status: DeployStatus, revision: str) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=environment, keyset_id=1, status=status, revision_name=revision
    )


def test_each_environment_gets_a_column_with_the_revision_running_there() -> None:
    html = render_main(
        snapshot(
            package("chat", "created", deployed("production", DeployStatus.IN_SYNC, "v1.2.0")),
            package("geo", "unchanged", deployed("staging", DeployStatus.DEPLOYED, "v1.3.0")),
        ),
        NOW,
    )
    assert '<th class="env">production</th><th class="env">staging</th>' in html
    assert "v1.2.0" in html
    assert "v1.3.0" in html
    assert "42 s ago" in html
    assert "failing" not in html


def test_a_failed_package_or_deployment_is_marked_in_words_and_by_class() -> None:
    html = render_main(
        snapshot(
            package("chat", "failed"),
            package("geo", "created", deployed("staging", DeployStatus.FAILED, "v2")),
        ),
        NOW,
    )
    assert html.count('<tr class="failing"') == 2
    assert "✕ failed" in html
    assert "bad &lt;manifest&gt;" in html
    assert "<manifest>" not in html


def test_the_page_carries_the_nonce_of_its_csp_on_its_only_style_and_script() -> None:
    html = render_page(snapshot(), "n0nce", NOW)
    assert html.count('nonce="n0nce"') == 2
    assert "http://" not in html
    assert "https://" not in html  # nothing from a CDN
    assert "'nonce-n0nce'" in content_security_policy("n0nce")


def test_the_json_document_is_camel_case_with_every_row() -> None:
    document = snapshot_document(
        snapshot(package("chat", "created", deployed("production", DeployStatus.IN_SYNC, "v1")))
    )
    assert document["environments"] == ["production"]
    assert document["lastSync"] == {
        "at": "2026-11-02T11:57:00+00:00",
        "ok": True,
        "error": None,
    }
    [row] = document["packages"]
    assert row["packageId"] == "pkg-chat"
    assert row["correlationId"] == "corr-chat"
    assert row["deployments"][0]["revisionName"] == "v1"
    assert row["deployments"][0]["status"] == "in-sync"
    [sync] = document["syncs"]
    assert (sync["id"], sync["trigger"], sync["counts"]["created"]) == (7, "webhook", 1)

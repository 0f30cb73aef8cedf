"""The status pages' rendering on their own: one word per cell that says what runs and whether
git wants it, a header without contradictions, escaping, commit links, and the JSON twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faas_gitops.daemon.page.package import PackagePage, render_package_page
from faas_gitops.daemon.page.plans import PendingPlans
from faas_gitops.daemon.statuspage import (
    StatusSnapshot,
    content_security_policy,
    render_main,
    render_page,
    snapshot_document,
)
from faas_gitops.models import (
    ChangeKind,
    DeploymentOutcome,
    DeployStatus,
    FunctionChange,
    FunctionSpec,
    Outcome,
    Status,
    SyncResult,
)
from faas_gitops.records import PackageStatus, SyncSummary
from faas_gitops.state.release_reads import ReleaseFacts
from faas_gitops.state.ticks import FailedTick

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SHA = "a1b2c3d4e5f6" + "0" * 28
NEWER = "b" * 40


def package(path: str, status: str, *deployments: DeploymentOutcome) -> PackageStatus:
    return PackageStatus(
        path=path,
        name=f"{path}-name",
        package_id="pkg-" + path,
        revision_name="abc123def456",
        revision_id="rev-" + path,
        status=status,
        synced_at=NOW - timedelta(seconds=42),
        commit=SHA,
        correlation_id="corr-" + path,
        error="bad <manifest>" if status == "failed" else None,
        deployments=deployments,
    )


def snapshot(*packages: PackageStatus, **changes: object) -> StatusSnapshot:
    fields: dict[str, object] = {
        "commit": SHA,
        "ref": "main",
        "last_sync_at": NOW - timedelta(minutes=3),
        "last_sync_ok": True,
        "last_error": None,
        "ready": True,
        "ready_reason": "ok",
        "syncing": False,
        "packages": packages,
        "syncs": [
            SyncSummary(
                id=7,
                commit=SHA,
                ref="main",
                trigger="webhook",
                dry_run=False,
                started_at=NOW - timedelta(minutes=3, seconds=2),
                finished_at=NOW - timedelta(minutes=3),
                counts={"created": 1, "unchanged": 1, "failed": 0, "total": 2},
                fatal_error=None,
            )
        ],
        "sync_deployments": {7: {"deployed": 2, "frozen": 1}},
    } | changes
    return StatusSnapshot(**fields)  # type: ignore[arg-type]


def on(env: str, status: DeployStatus, revision: str, **fields: object) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=env,
        keyset_id=41,
        status=status,
        revision_name=revision,
        **fields,  # type: ignore[arg-type]
    )


def cell_line(html: str, path: str, env: str) -> str:
    """The first line of one grid cell, tags removed."""
    import html as markup  # noqa: PLC0415
    import re  # noqa: PLC0415

    row = re.search(rf'<tr[^>]*data-path="{re.escape(path)}">(.*?)</tr>', html)
    assert row is not None
    cell = re.search(
        rf'<td class="env"[^>]*data-label="{env}"[^>]*><div class="line">(.*?)</div>', row[1]
    )
    assert cell is not None
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", "", cell[1])).split())


def test_each_cell_says_what_runs_and_whether_git_wants_it() -> None:
    html = render_main(
        snapshot(
            package(
                "chat",
                "unchanged",
                on(
                    "production",
                    DeployStatus.FROZEN,
                    "v2",
                    previous_revision_name="v1",
                    note="frozen in faas-gitops.yaml",
                ),
                on("staging", DeployStatus.DEPLOYED, "v2"),
                on("qa", DeployStatus.HELD, "v2", previous_revision_name="v0"),
            ),
            package(
                "geo",
                "removed",
                on("production", DeployStatus.ORPHANED, "v5", previous_revision_name="v5"),
                on(
                    "staging",
                    DeployStatus.FAILED,
                    "v6",
                    previous_revision_name="v5",
                    error="FAAS-1012 <boom>",
                ),
                on("qa", DeployStatus.IN_SYNC, "v4", pinned=True),
            ),
        ),
        NOW,
    )
    assert cell_line(html, "chat", "production") == "v1 frozen → v2 frozen in faas-gitops.yaml"
    assert cell_line(html, "chat", "staging") == "v2 in sync"
    assert cell_line(html, "chat", "qa") == "v0 held → v2"
    assert cell_line(html, "geo", "production") == "v5 orphaned"
    assert cell_line(html, "geo", "staging") == "v5 ✕ failed → v6"
    assert cell_line(html, "geo", "qa") == "v4 pinned"
    assert "FAAS-1012 &lt;boom&gt;" in html
    assert html.count('<tr class="failing"') == 1
    assert (
        '<th scope="col" class="env" role="columnheader"><span class="env-name">production' in html
    )


def test_the_header_names_the_ref_and_the_waiting_commit_with_its_real_reason() -> None:
    html = render_main(
        snapshot(
            seen_commit=NEWER,
            last_sync_ok=False,
            last_error="API unreachable: connection refused",
            ready=False,
            ready_reason="7 consecutive syncs failed",
            consecutive_failures=7,
            failing_since=NOW.replace(hour=9, minute=12),
        ),
        NOW,
    )
    assert '<code title="main">main</code>' in html
    assert "waiting: API unreachable: connection refused since" in html
    assert "09:12" in html
    assert NEWER[:12] in html
    assert "7 consecutive syncs failed" in html
    assert "0 package(s)" not in html


def test_commits_become_links_only_through_the_commit_url_template() -> None:
    template = "https://github.com/acme/functions/commit/{sha}"
    html = render_main(snapshot(package("chat", "created"), commit_url=template), NOW)
    assert f'href="https://github.com/acme/functions/commit/{SHA}"' in html
    assert 'href="https://' not in render_main(snapshot(package("chat", "created")), NOW)


def test_the_syncs_list_shows_deployment_counts_and_ticks_that_stopped_before_running() -> None:
    tick = FailedTick(1, NOW - timedelta(minutes=1), None, "main", "retry", "faas-gitops.yaml: bad")
    html = render_main(snapshot(failed_ticks=[tick]), NOW)
    assert "2 deployed · 1 frozen" in html
    assert "stopped before running" in html
    assert html.index('data-kind="failed-tick"') < html.index('data-kind="sync"')  # newest first


def test_hostile_names_are_escaped_on_both_pages() -> None:
    evil = '<img src=x onerror=alert(1)>"'
    row = package(evil, "created", on("staging", DeployStatus.IN_SYNC, evil))
    main = render_main(snapshot(row), NOW)
    page = render_package_page(PackagePage(row, {}, (), (), None), "n", NOW)
    for html in (main, page):
        assert "<img" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;&quot;" in html
    assert 'href="/packages/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22"' in main


def test_the_pages_carry_the_nonce_of_their_csp_and_nothing_from_elsewhere() -> None:
    html = render_page(snapshot(), "n0nce", NOW)
    assert html.count('nonce="n0nce"') == 2
    assert "http://" not in html
    assert "https://" not in html
    assert " style=" not in html  # an inline style attribute would break the CSP
    page = render_package_page(PackagePage(package("chat", "created"), {}, (), (), None), "n", NOW)
    assert page.count('nonce="n"') == 1  # the style; the package page has no script
    assert " style=" not in page
    assert "'nonce-n0nce'" in content_security_policy("n0nce")


def test_the_pending_plan_is_kept_bounded_and_forgotten_once_a_revision_holds_it() -> None:
    before = FunctionSpec(name="f", type="js", code="a\n" * 10)
    after = FunctionSpec(name="f", type="js", code="b\n" * 1000)
    change = FunctionChange("f", ChangeKind.MODIFIED, before, after)
    plans = PendingPlans()
    failed = Outcome("chat", Status.FAILED, changes=(change,))
    plans.observe(SyncResult(SHA, "main", False, (failed,), NOW, NOW))
    plan = plans.get("chat")
    assert plan is not None
    assert plan.truncated
    assert len(plan.lines) == 400
    created = Outcome("chat", Status.CREATED, changes=(change,))
    plans.observe(SyncResult(SHA, "main", False, (created,), NOW, NOW))
    assert plans.get("chat") is None


def test_the_json_document_carries_what_the_page_shows() -> None:
    facts = ReleaseFacts(since={("chat", "production"): NOW - timedelta(hours=2)})
    tick = FailedTick(1, NOW, SHA, "main", "poll", "API down")
    document = snapshot_document(
        snapshot(
            package(
                "chat",
                "created",
                on("production", DeployStatus.FROZEN, "v2", previous_revision_name="v1"),
            ),
            facts=facts,
            failed_ticks=[tick],
            seen_commit=NEWER,
            last_error="API down",
            commit_url="https://git.example/c/{sha}",
        )
    )
    assert document["environments"] == ["production"]
    assert document["environmentDetails"][0]["keysetId"] == 41
    assert document["waiting"]["commit"] == NEWER
    assert document["waiting"]["reason"] == "API down"
    [row] = document["packages"]
    assert row["pageUrl"] == "/packages/chat"
    assert row["commitLink"] == f"https://git.example/c/{SHA}"
    [deployment] = row["deployments"]
    assert (deployment["state"], deployment["running"], deployment["pendingTo"]) == (
        "frozen", "v1", "v2",
    )  # fmt: skip
    assert deployment["since"] == "2026-11-02T10:00:00+00:00"
    kinds = [(s["kind"], s["deploymentCounts"]) for s in document["syncs"]]
    assert kinds == [("failed-tick", {}), ("sync", {"deployed": 2, "frozen": 1})]

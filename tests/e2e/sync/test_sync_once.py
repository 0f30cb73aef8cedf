"""``faas-gitops --sync-once`` end to end: real git repositories, the emulator over loopback.

Every test runs in both emulator modes (shuffled/created order, code omitted/included in
revision lists, 400/404 not-found, 200/201 creates), so none of them depends on a behaviour the
public docs leave open.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.reconcile import run as pipeline
from faas_gitops.source import Repository
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, CHAT_FUNCTION, CHAT_ID, WEBHOOKS_ID, RunCli

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def posts(emulator: RunningEmulator) -> list[str]:
    return [r.path for r in emulator.requests if r.method == "POST"]


def by_endpoint(emulator: RunningEmulator) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in emulator.requests:
        parts = record.path.split("/")
        shape = "/".join("{id}" if len(p) == 36 and p.count("-") == 4 else p for p in parts)
        counts[f"{record.method} {shape}"] += 1
    return counts


def revisions_named(emulator: RunningEmulator, package_id: str) -> list[str]:
    return [rev["name"] for rev in emulator.store.revisions(package_id)]


def document(stdout: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(stdout)
    return parsed


def test_a_first_sync_creates_one_revision_per_package_named_after_the_commit(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    doc = document(result.stdout)
    assert doc["commit"] == repo.head()
    assert doc["dryRun"] is False
    statuses = {p["path"]: p["status"] for p in doc["packages"]}
    assert statuses == {
        "chat-moderation": "created",
        "presence-tracker": "created",
        "webhooks": "created",
    }
    for package in doc["packages"]:
        assert package["revisionName"] == repo.head()[:12]
        assert package["correlationId"]
        assert package["revisionId"]
    assert revisions_named(emulator, CHAT_ID) == [repo.head()[:12]]
    stored = emulator.store.revisions(WEBHOOKS_ID)[0]
    assert repo.head() in stored["description"]
    assert "Import the sample packages" in stored["description"]
    assert [f["name"] for f in stored["functions"]] == ["GitHub Webhook", "Heartbeat"]


def test_a_cold_sync_of_an_in_sync_repo_makes_no_post_and_a_known_number_of_reads(
    run_cli: RunCli, emulator: RunningEmulator, mode: dict[str, Any], tmp_path: Path
) -> None:
    assert run_cli().code == 0
    emulator.clear_requests()

    result = run_cli("--output", "json", "--state-dir", str(tmp_path / "fresh-runner"))

    assert result.code == 0
    assert {p["status"] for p in document(result.stdout)["packages"]} == {"unchanged"}
    assert posts(emulator) == []
    # The probe's smallest page, one package list (presence-tracker is found by name) and one
    # revision list per package: the latest revisions were made by faas-gitops, so their content
    # stamps equal the desired digests and their functions need not be fetched, even when list
    # items omit code.
    expected = {
        "GET /v2/faas/packages": 2,
        "GET /v2/faas/packages/{id}/package-revisions": 3,
    }
    assert dict(by_endpoint(emulator)) == expected


def test_a_warm_sync_skips_directories_unchanged_since_their_last_sync(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    first = document(run_cli("--output", "json").stdout)
    repo.write("README.md", "docs changed, no package did\n")
    repo.commit("Docs only")
    emulator.clear_requests()

    result = run_cli("--output", "json")

    assert result.code == 0
    # Only the one-item listing that proves the key still works (a revoked key must fail).
    assert [(r.method, r.path, r.query.get("size")) for r in emulator.requests] == [
        ("GET", "/v2/faas/packages", "1")
    ]
    packages = document(result.stdout)["packages"]
    assert {p["status"] for p in packages} == {"unchanged"}
    assert [(p["packageId"], p["revisionId"]) for p in packages] == [
        (p["packageId"], p["revisionId"]) for p in first["packages"]
    ]


def test_a_full_sync_asks_the_api_again_but_never_refetches_a_known_revision(
    run_cli: RunCli, emulator: RunningEmulator
) -> None:
    assert run_cli().code == 0
    emulator.clear_requests()

    result = run_cli("--full-sync")

    assert result.code == 0
    # The probe, the listing that finds presence-tracker by name, one revision list each.
    assert dict(by_endpoint(emulator)) == {
        "GET /v2/faas/packages": 2,
        "GET /v2/faas/packages/{id}/package-revisions": 3,
    }


def test_a_changed_function_on_a_tagged_commit_creates_one_revision_named_by_the_highest_tag(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    assert run_cli().code == 0
    repo.write("chat-moderation/profanity-filter.js", "export default (r) => r.abort();\n")
    repo.commit("Block instead of masking")
    repo.tag("v1.9.0").tag("v1.10.0", message="release 1.10").tag("v1.2.0")
    emulator.clear_requests()

    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    packages = {p["path"]: p for p in document(result.stdout)["packages"]}
    assert packages["chat-moderation"]["status"] == "created"
    assert packages["chat-moderation"]["revisionName"] == "v1.10.0"
    assert packages["chat-moderation"]["changes"] == [
        {"function": "Profanity Filter", "change": "modified"}
    ]
    assert packages["webhooks"]["status"] == "unchanged"
    assert packages["presence-tracker"]["status"] == "unchanged"
    assert posts(emulator) == ["/v2/faas/package-revisions"]
    assert revisions_named(emulator, CHAT_ID)[-1] == "v1.10.0"


def test_a_name_already_taken_with_other_content_gets_a_numeric_suffix(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.tag("v2.0.0")
    emulator.store.add_revision(CHAT_ID, name="v2.0.0", functions=[CHAT_FUNCTION])
    emulator.store.add_revision(CHAT_ID, name="v2.0.0-2", functions=[CHAT_FUNCTION])

    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    chat = next(p for p in document(result.stdout)["packages"] if p["path"] == "chat-moderation")
    assert chat["revisionName"] == "v2.0.0-3"
    assert revisions_named(emulator, CHAT_ID) == ["v2.0.0", "v2.0.0-2", "v2.0.0-3"]


def test_uncommitted_changes_are_never_synced(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    assert run_cli().code == 0
    repo.write("chat-moderation/profanity-filter.js", "// not committed\n")
    repo.write("webhooks/package.yaml", "this: is not a manifest\n")
    emulator.clear_requests()

    result = run_cli("--output", "json")

    assert result.code == 0
    assert {p["status"] for p in document(result.stdout)["packages"]} == {"unchanged"}
    assert posts(emulator) == []


def revision_pages(emulator: RunningEmulator, package_id: str) -> list[str]:
    return sorted(
        str(r.query.get("page"))
        for r in emulator.requests
        if r.method == "GET" and r.path == f"/v2/faas/packages/{package_id}/package-revisions"
    )


def test_a_first_page_really_sorted_newest_first_is_trusted_and_the_rest_skipped(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    # 230 older revisions with other code, then the newest one equal to the commit.
    for index in range(230):
        emulator.store.add_revision(
            WEBHOOKS_ID, name=f"old-{index}", functions=[{**CHAT_FUNCTION, "code": f"// {index}"}]
        )
    assert run_cli().code == 0
    emulator.clear_requests()

    result = run_cli("--output", "json", "--full-sync")

    assert result.code == 0
    webhooks = next(p for p in document(result.stdout)["packages"] if p["path"] == "webhooks")
    assert webhooks["status"] == "unchanged"
    assert revision_pages(emulator, WEBHOOKS_ID) == ["0"]
    assert posts(emulator) == []


def test_a_name_taken_beyond_the_first_page_is_found_after_the_409_not_looped_on(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    for index in range(230):
        emulator.store.add_revision(
            WEBHOOKS_ID, name=f"v-{index}", functions=[{**CHAT_FUNCTION, "code": f"// {index}"}]
        )
    repo.tag("v-3")  # taken by an old revision on the last page of the newest-first list

    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    webhooks = next(p for p in document(result.stdout)["packages"] if p["path"] == "webhooks")
    assert webhooks["revisionName"] == "v-3-2"
    conflicts = [r for r in emulator.requests if r.method == "POST" and r.status == 409]
    assert len(conflicts) == 1
    # The newest-first first page, then the complete re-listing after the 409 (pages of 50).
    assert revision_pages(emulator, WEBHOOKS_ID) == ["0", "0", "1", "2", "3", "4"]


def test_a_hand_made_newer_revision_is_drift_and_gets_corrected(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    assert run_cli().code == 0
    emulator.store.add_revision(CHAT_ID, name="hotfix", functions=[CHAT_FUNCTION])

    warm = run_cli("--output", "json")
    result = run_cli("--output", "json", "--full-sync")

    assert {p["status"] for p in document(warm.stdout)["packages"]} == {"unchanged"}
    chat = next(p for p in document(result.stdout)["packages"] if p["path"] == "chat-moderation")
    assert chat["status"] == "created"
    assert chat["revisionName"] == repo.head()[:12] + "-2"


def test_dry_run_plans_with_diffs_and_writes_nothing(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    assert run_cli().code == 0
    repo.write("chat-moderation/profanity-filter.js", "export default (r) => r.abort();\n")
    repo.commit("Block")
    emulator.clear_requests()

    text = run_cli("--dry-run")
    as_json = run_cli("--dry-run", "--output", "json")
    markdown = run_cli("--dry-run", "--output", "markdown")

    assert (text.code, as_json.code, markdown.code) == (0, 0, 0)
    assert posts(emulator) == []
    assert {r.method for r in emulator.requests} == {"GET"}
    assert "+export default (r) => r.abort();" in text.stdout
    assert "```diff" in markdown.stdout
    chat = next(p for p in document(as_json.stdout)["packages"] if p["path"] == "chat-moderation")
    assert chat["status"] == "would-create"
    with sqlite3.connect(tmp_path / "state" / "ledger.sqlite3") as db:
        (syncs,) = db.execute("select count(*) from syncs").fetchone()
    assert syncs == 1  # only the real sync was recorded


def test_one_bad_manifest_fails_alone_with_one_line_and_exit_1(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.write(
        "broken/package.yaml",
        "name: broken\nfuntions:\n  - name: f\n    type: BEFORE_PUBLISH\n    file: f.js\n",
    )
    repo.commit("Add a broken package")

    result = run_cli("--output", "json")

    assert result.code == 1
    packages = {p["path"]: p for p in document(result.stdout)["packages"]}
    assert packages["broken"]["status"] == "failed"
    assert "broken/package.yaml" in packages["broken"]["error"]
    assert "functions" in packages["broken"]["error"]  # the suggestion for the typo
    assert {packages[p]["status"] for p in ("chat-moderation", "webhooks")} == {"created"}
    assert "Traceback" not in result.stderr


def test_a_package_id_the_api_does_not_know_fails_that_package_only(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.write(
        "ghost/package.yaml",
        "packageId: 00000000-0000-4000-8000-000000000000\nfunctions:\n"
        "  - {name: f, type: BEFORE_PUBLISH, file: f.js}\n",
    )
    repo.write("ghost/f.js", "export default (r) => r.ok();\n")
    repo.commit("Add a package nobody created")

    result = run_cli("--output", "json")

    assert result.code == 1
    ghost = next(p for p in document(result.stdout)["packages"] if p["path"] == "ghost")
    assert ghost["status"] == "failed"
    assert "00000000-0000-4000-8000-000000000000 does not exist" in ghost["error"]
    assert ghost["correlationId"]


def test_a_named_package_missing_remotely_fails_unless_create_packages_is_given(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.write(
        "fresh/package.yaml",
        "name: fresh\ndescription: brand new\nfunctions:\n"
        "  - {name: f, type: AFTER_PUBLISH, file: f.js}\n",
    )
    repo.write("fresh/f.js", "export default (r) => r.ok();\n")
    repo.commit("Add a fresh package")

    refused = run_cli("--output", "json")
    fresh = next(p for p in document(refused.stdout)["packages"] if p["path"] == "fresh")
    assert refused.code == 1
    assert "--create-packages" in fresh["error"]

    created = run_cli("--output", "json", "--create-packages")
    assert created.code == 0, created.stderr
    fresh = next(p for p in document(created.stdout)["packages"] if p["path"] == "fresh")
    assert fresh["status"] == "created"
    remote = next(p for p in emulator.store.packages() if p["name"] == "fresh")
    assert remote["description"] == "brand new"
    assert revisions_named(emulator, remote["id"]) == [repo.head()[:12]]

    again = run_cli("--output", "json", "--create-packages")
    assert again.code == 0
    assert len([p for p in emulator.store.packages() if p["name"] == "fresh"]) == 1


def test_a_403_on_one_package_fails_it_and_the_others_still_sync(
    run_cli: RunCli, emulator: RunningEmulator
) -> None:
    emulator.store.force_error(CHAT_ID, status=403, code="FAAS-403", message="denied")

    result = run_cli("--output", "json")

    assert result.code == 1
    packages = {p["path"]: p for p in document(result.stdout)["packages"]}
    assert packages["chat-moderation"]["status"] == "failed"
    assert "403" in packages["chat-moderation"]["error"]
    assert packages["webhooks"]["status"] == "created"
    assert packages["presence-tracker"]["status"] == "created"


def test_a_rejected_key_stops_the_run_once_with_exit_2_and_no_write(
    run_cli: RunCli, emulator: RunningEmulator, monkeypatch: Any
) -> None:
    monkeypatch.setenv("FAAS_API_KEY", "wrong-key-000000")

    result = run_cli("--output", "json")

    assert result.code == 2
    assert posts(emulator) == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("faas-gitops:")]
    assert len(errors) == 1
    assert "401" in errors[0]
    assert "FAAS-1002" in errors[0]
    assert "wrong-key-000000" not in result.stdout + result.stderr


def test_history_shows_every_sync_with_its_correlation_ids(
    run_cli: RunCli, emulator: RunningEmulator, tmp_path: Path
) -> None:
    first = document(run_cli("--output", "json").stdout)
    run_cli()
    state = str(tmp_path / "state")

    as_json = run_cli("history", "--state-dir", state, "--all", "--output", "json", base=False)
    quiet_hidden = run_cli("history", "--state-dir", state, "--output", "json", base=False)
    text = run_cli("history", "--state-dir", state, "--all", base=False)
    only_chat = run_cli(
        "history", "--state-dir", state, "--package", CHAT_ID, "--output", "json", base=False
    )
    limited = run_cli(
        "history", "--state-dir", state, "--limit", "1", "--output", "json", base=False
    )

    assert as_json.code == text.code == only_chat.code == 0
    entries = document(as_json.stdout)["entries"]
    assert len(entries) == 6
    # By default the second sync, in which nothing happened, hides its unchanged rows.
    assert len(document(quiet_hidden.stdout)["entries"]) == 3
    assert entries[0]["status"] == "unchanged"  # newest first
    created = {e["correlationId"] for e in entries if e["status"] == "created"}
    assert created == {p["correlationId"] for p in first["packages"]}
    assert {e["path"] for e in document(only_chat.stdout)["entries"]} == {"chat-moderation"}
    assert len(document(limited.stdout)["entries"]) == 1
    for correlation in created:
        assert correlation in text.stdout


def test_every_log_event_of_a_package_carries_the_sync_fields(run_cli: RunCli) -> None:
    result = run_cli()

    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    created = [e for e in events if e["event"] == "package.created"]
    assert len(created) == 3
    for event in created:
        assert {
            "commit",
            "path",
            "package_id",
            "status",
            "revision_name",
            "revision_id",
            "correlation_id",
            "trigger",
        } <= event.keys()
    assert any(e["event"] == "sync.finished" for e in events)


def test_the_api_key_never_reaches_stdout_stderr_or_the_ledger(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    emulator.store.force_error(CHAT_ID, status=403, code="FAAS-403", message="denied")
    outputs = [
        run_cli("--output", fmt, "--log-level", "debug") for fmt in ("text", "json", "markdown")
    ]
    outputs.append(run_cli("--dry-run", "--log-level", "debug"))
    outputs.append(run_cli("history", "--state-dir", str(tmp_path / "state"), base=False))

    for output in outputs:
        assert API_KEY not in output.stdout
        assert API_KEY not in output.stderr
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes()


def test_a_warm_sync_does_not_even_read_the_files_of_unchanged_directories(
    run_cli: RunCli,
    emulator: RunningEmulator,
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli().code == 0
    repo.write("webhooks/functions/heartbeat.js", "export default () => 1;\n")
    repo.commit("Change one package")
    sources: list[Repository] = []
    original = pipeline.open_source

    def counting(*args: Any) -> Repository:
        source: Repository = original(*args)
        sources.append(source)
        return source

    monkeypatch.setattr(pipeline, "open_source", counting)

    result = run_cli("--output", "json")

    assert result.code == 0
    statuses = {p["path"]: p["status"] for p in document(result.stdout)["packages"]}
    assert statuses == {
        "chat-moderation": "unchanged",
        "presence-tracker": "unchanged",
        "webhooks": "created",
    }
    # The changed package's manifest and its two code files; nothing of the other two.
    assert [source.blobs_read for source in sources] == [3]

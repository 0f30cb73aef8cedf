"""The daemon as a real subprocess: every trigger leads to the same sync, and the probes and
metrics say what happened. The emulator runs in this process, so the tests read its store."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID

pytestmark = pytest.mark.slow

FUNCTION = {
    "name": "Profanity Filter",
    "type": "BEFORE_PUBLISH",
    "language": "JAVASCRIPT",
    "sortOrder": 0,
    "code": "export default (request) => request.ok(); // edited in the Portal",
    "config": {},
}
QUIET = ("--interval", "60", "--resync-interval", "600")  # only the trigger under test fires


def revision_names(emulator: RunningEmulator, package_id: str = CHAT_ID) -> list[str]:
    return [revision["name"] for revision in emulator.store.revisions(package_id)]


def edit_chat_package(repo: GitRepo, marker: str) -> str:
    """Change one function of chat-moderation and commit; returns the new commit's sha."""
    path = repo.root / "chat-moderation" / "audit-log.js"
    path.write_text(path.read_text() + f"\n// {marker}\n")
    return repo.commit(f"Edit the audit log: {marker}")


def test_readiness_is_503_until_a_full_sync_succeeds_and_then_200(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    repo.write("broken/package.yaml", "name: [unclosed\n").commit("Add a broken package")
    daemon = start_daemon(repo.root, *QUIET)

    def failed_once() -> dict[str, object] | None:
        answer = daemon.get("/readyz")
        body: dict[str, object] = answer.json()
        return body if answer.status_code == 503 and body["failingPackages"] else None

    body = wait_until(failed_once, "/readyz to report the broken package")
    assert body["ready"] is False
    assert body["failingPackages"] == ["broken"]
    assert body["commit"] is None

    fixed = repo.remove("broken").commit("Remove the broken package")
    daemon.wait_ready()

    body = daemon.get("/readyz").json()
    assert body == {
        "ready": True,
        "reason": "ok",
        "commit": fixed,
        "lastSuccess": body["lastSuccess"],
        "consecutiveFailures": 0,
        "failingPackages": [],
        "failingDeployments": [],
        "lastError": None,
        "syncing": False,
    }
    assert body["lastSuccess"]
    assert daemon.get("/healthz").status_code == 200


def test_a_commit_to_the_watched_repo_creates_a_revision_and_moves_the_metrics(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    daemon = start_daemon(repo.root, *QUIET)
    daemon.wait_ready()
    before = daemon.metrics()

    sha = edit_chat_package(repo, "first edit")

    wait_until(lambda: sha[:12] in revision_names(emulator), "the revision of the new commit")
    wait_until(lambda: daemon.events("sync.finished", commit=sha), "the sync to be logged")
    [finished] = daemon.events("sync.finished", commit=sha)
    assert finished["trigger"] == "watch"
    assert (finished["created"], finished["unchanged"], finished["failed"]) == (1, 2, 0)
    [created] = daemon.events("package.created", commit=sha)
    assert created["path"] == "chat-moderation"
    assert created["correlation_id"]

    after = daemon.metrics()
    assert before['faas_gitops_syncs_total{result="success"}'] == 1
    assert after['faas_gitops_syncs_total{result="success"}'] == 2
    assert after['faas_gitops_syncs_total{result="failure"}'] == 0
    assert before["faas_gitops_revisions_created_total"] == 3
    assert after["faas_gitops_revisions_created_total"] == 4
    assert after["faas_gitops_sync_duration_seconds_count"] == 2
    # 201 or 200, as the emulator's mode answers creates.
    posts = next(
        key
        for key in after
        if key.startswith('faas_gitops_api_requests_total{method="POST",status="2')
    )
    assert (before.get(posts, 0), after[posts]) == (3, 4)
    assert after['faas_gitops_api_requests_total{method="GET",status="200"}'] > 0
    assert after["faas_gitops_api_retries_total"] == 0
    assert (
        after["faas_gitops_last_success_timestamp_seconds"]
        >= (before["faas_gitops_last_success_timestamp_seconds"])
    )
    assert after["faas_gitops_packages_tracked"] == 3
    assert after[f'faas_gitops_commit_info{{commit="{sha}",ref="main"}}'] == 1
    assert after['faas_gitops_triggers_total{reason="watch"}'] >= 1
    assert after["faas_gitops_consecutive_failures"] == 0
    assert [entry.trigger for entry in daemon.ledger() if entry.commit == sha] == ["watch"] * 3


def test_a_git_sync_style_symlink_swap_creates_a_revision(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    root = tmp_path / "git-sync-root"
    (root / ".worktrees").mkdir(parents=True)

    def worktree(name: str) -> Path:
        destination = root / ".worktrees" / name
        subprocess.run(
            ["git", "clone", "--quiet", str(repo.root), str(destination)],
            env=repo.env,
            check=True,
        )
        return destination

    first = worktree(repo.head()[:12])
    link = root / "repo"
    link.symlink_to(first)
    daemon = start_daemon(link, *QUIET)
    daemon.wait_ready()

    sha = edit_chat_package(repo, "swapped in")
    second = worktree(sha[:12])
    temporary = root / ".tmp-link"
    temporary.symlink_to(second)
    temporary.replace(link)  # what git-sync does: an atomic rename over the link

    wait_until(lambda: sha[:12] in revision_names(emulator), "the revision of the swapped commit")
    wait_until(lambda: daemon.events("sync.finished", commit=sha, trigger="watch"), "its log")


def test_a_remote_repository_is_cloned_and_picked_up_by_polling(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    first = repo.head()
    daemon = start_daemon(f"file://{repo.root}", "--interval", "0.5", "--resync-interval", "600")
    daemon.wait_ready()
    assert daemon.get("/readyz").json()["commit"] == first
    assert first[:12] in revision_names(emulator)

    sha = edit_chat_package(repo, "pushed")

    wait_until(lambda: sha[:12] in revision_names(emulator), "the polled commit's revision")
    wait_until(lambda: daemon.events("sync.finished", commit=sha, trigger="poll"), "its log")
    assert list((daemon.state_dir / "mirrors").glob("*.git")), "the mirror lives in --state-dir"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_the_webhook_syncs_only_with_a_valid_signature(
    start_daemon: StartDaemon, repo: GitRepo, tmp_path: Path
) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text("s3cret-webhook-value\n")  # the trailing newline is not the secret
    daemon = start_daemon(repo.root, *QUIET, "--webhook-secret-file", str(secret_file))
    daemon.wait_ready()
    body = b'{"ref": "refs/heads/main"}'

    missing = daemon.post("/hooks/sync", body)
    bad = daemon.post("/hooks/sync", body, {"X-Hub-Signature-256": sign(b"not-the-secret", body)})
    tampered = daemon.post(
        "/hooks/sync", body + b" ", {"X-Hub-Signature-256": sign(b"s3cret-webhook-value", body)}
    )

    assert [missing.status_code, bad.status_code, tampered.status_code] == [401, 401, 401]
    assert missing.json()["accepted"] is False
    assert daemon.events("trigger.received", reason="webhook") == []
    assert len(daemon.events("sync.finished")) == 1
    assert daemon.metrics()['faas_gitops_webhook_requests_total{result="unauthorized"}'] == 3

    good = daemon.post(
        "/hooks/sync", body, {"X-Hub-Signature-256": sign(b"s3cret-webhook-value", body)}
    )

    assert (good.status_code, good.json()) == (202, {"accepted": True})
    wait_until(lambda: daemon.events("sync.finished", trigger="webhook"), "the webhook's sync")
    assert len(daemon.events("trigger.received", reason="webhook")) == 1
    triggers = {entry.trigger for entry in daemon.ledger()}
    assert triggers == {"startup", "webhook"}
    assert "s3cret-webhook-value" not in daemon.log_text()


def test_the_resync_corrects_a_revision_made_by_hand(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    daemon = start_daemon(repo.root, "--interval", "60", "--resync-interval", "1")
    daemon.wait_ready()
    sha = repo.head()
    emulator.store.add_revision(CHAT_ID, "hand-made", [FUNCTION], "changed in the Portal")

    wait_until(
        lambda: len(revision_names(emulator)) == 3,
        "a revision correcting the hand-made one",
    )

    assert revision_names(emulator) == [sha[:12], "hand-made", f"{sha[:12]}-2"]
    wait_until(lambda: daemon.events("drift.corrected"), "the drift.corrected event")
    [corrected] = daemon.events("drift.corrected")
    assert (corrected["path"], corrected["package_id"]) == ("chat-moderation", CHAT_ID)
    assert daemon.metrics()["faas_gitops_drift_corrections_total"] == 1
    wait_until(lambda: daemon.events("sync.finished", trigger="resync"), "the resync's log")


def test_moving_back_to_the_good_commit_already_synced_clears_the_failure(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    good = repo.head()
    daemon = start_daemon(repo.root, *QUIET)
    daemon.wait_ready()
    repo.write("broken/package.yaml", "name: [unclosed\n").commit("Add a broken package")

    def failing() -> dict[str, object] | None:
        body: dict[str, object] = daemon.get("/readyz").json()
        return body if body["failingPackages"] else None

    wait_until(failing, "/readyz to report the broken package")

    repo.git("reset", "--hard", "--quiet", good)  # back to a commit the daemon synced already

    def cleared() -> dict[str, object] | None:
        body: dict[str, object] = daemon.get("/readyz").json()
        return body if not body["failingPackages"] and body["consecutiveFailures"] == 0 else None

    body = wait_until(cleared, "the failure to clear on the good commit")
    assert body["commit"] == good
    assert body["lastError"] is None

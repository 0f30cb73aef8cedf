"""The status page in a real headless Chromium, against a real daemon syncing a repo on the
emulator: every package with its revision and correlation ID, a broken package shown as failed,
a new commit on screen after the page refreshes itself, all under the page's strict CSP.
``/api/status`` says the same as JSON, and neither shows a secret."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import DaemonProcess, StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import API_KEY

pytestmark = pytest.mark.slow

QUIET = ("--interval", "60", "--resync-interval", "600")
#: Where to keep a screenshot of the page (the README's picture); unset: none is taken.
SCREENSHOT_ENV = "FAAS_GITOPS_STATUS_SCREENSHOT"


def broken_repo(repo: GitRepo) -> GitRepo:
    """The sample packages plus one whose manifest misses its functions."""
    repo.write("broken-pkg/package.yaml", "name: broken-pkg\npackageId: nope\n")
    repo.commit("Add a package with a bad manifest")
    return repo


def newest_sync(daemon: DaemonProcess, commit: str) -> list[Any]:
    """The rows of the sync of ``commit`` once it finished (the journal shows it as it goes)."""
    rows = [entry for entry in daemon.ledger() if entry.commit == commit]
    return rows if rows and all(entry.complete for entry in rows) else []


def test_the_page_lists_every_package_shows_the_failed_one_and_follows_a_new_commit(
    start_daemon: StartDaemon,
    emulator: RunningEmulator,
    repo: GitRepo,
    browser: Any,
    tmp_path: Path,
) -> None:
    broken_repo(repo)
    daemon = start_daemon(repo.root, *QUIET)
    first = repo.head()
    entries = wait_until(lambda: newest_sync(daemon, first), "the first sync in the ledger")
    by_path = {entry.path: entry for entry in entries}
    assert by_path["broken-pkg"].status == "failed"

    page = browser.new_page(viewport={"width": 1500, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    answer = page.goto(daemon.url + "/")
    assert answer is not None
    assert answer.status == 200
    assert "default-src 'none'" in answer.headers["content-security-policy"]

    for entry in entries:
        row = page.locator(f'#packages tr[data-path="{entry.path}"]')
        text = row.inner_text()
        if entry.status == "failed":
            assert "failing" in (row.get_attribute("class") or "")
            assert "failed" in text
            assert entry.error is not None
            assert entry.error.split(":")[0] in text
        else:
            assert entry.revision_name is not None
            assert entry.correlation_id is not None
            assert entry.revision_name in text
            assert entry.correlation_id in text
            assert "failing" not in (row.get_attribute("class") or "")
    assert page.locator("#packages tbody tr").count() == len(entries)
    assert (
        "chat-moderation" in page.locator('#packages tr[data-path="chat-moderation"]').inner_text()
    )

    path = repo.root / "chat-moderation" / "audit-log.js"
    path.write_text(path.read_text() + "\n// a new commit for the page\n")
    second = repo.commit("Edit the audit log")
    wait_until(lambda: newest_sync(daemon, second), "the second sync in the ledger")
    page.wait_for_function(
        "sha => document.querySelector('[data-fact=commit] code')?.title === sha",
        arg=second,
        timeout=15_000,
    )
    chat = page.locator('#packages tr[data-path="chat-moderation"]').inner_text()
    assert second[:12] in chat  # the new revision is named after the new commit
    syncs = page.locator("#syncs tbody tr")
    assert syncs.count() >= 2  # a failing package also brings retries
    assert second[:12] in syncs.first.inner_text()
    assert "failed" in syncs.first.inner_text()  # broken-pkg still fails at the new commit
    assert "updated" in page.locator("#live").inner_text()  # refreshed by its own script
    assert problems == []  # nothing blocked by the CSP, no script error

    html = page.content()
    assert API_KEY not in html
    if target := os.environ.get(SCREENSHOT_ENV):
        page.screenshot(path=target, full_page=True)
    else:
        page.screenshot(path=str(tmp_path / "status-page.png"), full_page=True)


def test_api_status_is_the_same_rows_as_json_without_secrets(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text("very-secret-hook\n")
    daemon = start_daemon(repo.root, *QUIET, "--webhook-secret-file", str(secret_file))
    daemon.wait_ready()
    document = daemon.get("/api/status").json()
    assert document["ready"] is True
    assert document["commit"] == repo.head()
    assert document["lastSync"]["ok"] is True
    assert [p["path"] for p in document["packages"]] == [
        "chat-moderation",
        "presence-tracker",
        "webhooks",
    ]
    chat = document["packages"][0]
    assert chat["status"] == "created"
    assert chat["revisionName"].startswith(repo.head()[:12])
    assert chat["correlationId"]
    [sync] = document["syncs"]
    assert sync["trigger"] == "startup"
    assert sync["counts"]["created"] == 3
    text = daemon.get("/api/status").text + daemon.get("/").text
    assert API_KEY not in text
    assert "very-secret-hook" not in text


def test_names_from_git_are_escaped_on_the_page(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    shutil.copytree(repo.root / "webhooks", repo.root / "<b>x</b>")
    repo.commit("A directory name with markup")
    daemon = start_daemon(repo.root, *QUIET)
    wait_until(lambda: newest_sync(daemon, repo.head()), "the sync in the ledger")
    html = daemon.get("/").text
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_sync_that_stops_before_running_is_listed_with_its_one_line_error(
    start_daemon: StartDaemon, emulator: RunningEmulator, repo: GitRepo
) -> None:
    repo.write("faas-gitops.yaml", "environments:\n  staging:\n    keysetId: nope\n")
    repo.commit("A typo in the environments")
    daemon = start_daemon(repo.root, *QUIET)

    def stopped() -> list[Any]:
        syncs = daemon.get("/api/status").json()["syncs"]
        return [s for s in syncs if s["kind"] == "failed-tick"]

    [tick, *_] = wait_until(stopped, "a failed tick on /api/status")
    assert tick["trigger"] == "startup"
    assert "faas-gitops.yaml" in tick["fatalError"]
    assert "\n" not in tick["fatalError"]
    assert tick["commit"] == repo.head()
    html = daemon.get("/").text
    assert "stopped before running" in html
    assert daemon.get("/packages/chat-moderation").status_code == 404  # never synced


def test_the_daemon_warns_when_an_unsigned_webhook_listens_beyond_loopback(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    private = start_daemon(repo.root, *QUIET)
    public = start_daemon(repo.root, *QUIET, "--listen", "0.0.0.0:0")
    [warning] = wait_until(lambda: public.events("daemon.webhook_unsigned"), "the warning")
    assert warning["level"] == "warning"
    assert "--webhook-secret-file" in warning["detail"]
    assert private.events("daemon.webhook_unsigned") == []

"""Notifications sent by a real ``--sync-once`` against the emulator, to local receivers.

Each target gets a receiver on 127.0.0.1 (a webhook that checks the signature, a Slack hook,
a GitHub statuses endpoint), so what arrives is what a real receiver would see.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.state import Ledger
from tests.gitrepo import GitRepo
from tests.harness import WEBHOOKS_ID, Run, RunCli
from tests.notify.notify_receivers import Receiver, always, serve

WEBHOOK_SECRET = "whsec-9f8e7d6c5b4a-do-not-print"
GITHUB_TOKEN = "ghp_0123456789abcdefSECRETtoken"
PUBLIC_URL = "https://faas-gitops.example.com/"
COMMIT_URL = "https://github.com/acme/functions/commit/{sha}"


@dataclass
class Receivers:
    webhook: Receiver
    slack: Receiver
    github: Receiver
    args: tuple[str, ...]


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Receivers]:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "webhook").write_text(WEBHOOK_SECRET + "\n")
    (secrets / "github").write_text(GITHUB_TOKEN + "\n")
    with (
        serve(Receiver(always(204, b""))) as webhook,
        serve(Receiver(always(200, b"ok"))) as slack,
        serve(Receiver(always(201, b"{}"))) as github,
    ):
        args = (
            "--notify-webhook", webhook.url + "/events",
            "--notify-secret-file", str(secrets / "webhook"),
            "--notify-slack", slack.url + "/services/T000/B000/XXXX",
            "--github-repo", "acme/functions",
            "--github-token-file", str(secrets / "github"),
            "--github-api-url", github.url,
            "--public-url", PUBLIC_URL,
            "--commit-url", COMMIT_URL,
        )  # fmt: skip
        yield Receivers(webhook, slack, github, args)


def assert_no_secret(run: Run, state: Path) -> None:
    for secret in (WEBHOOK_SECRET, GITHUB_TOKEN, "XXXX"):
        assert secret not in run.stdout
        assert secret not in run.stderr
    for file in state.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert WEBHOOK_SECRET.encode() not in data, file
            assert GITHUB_TOKEN.encode() not in data, file


@pytest.mark.slow
def test_a_sync_once_notifies_every_target_of_what_it_created(
    run_cli: RunCli, receivers: Receivers, repo: GitRepo, emulator: RunningEmulator, state: Path
) -> None:
    run = run_cli(*receivers.args)
    assert run.code == 0, run.stderr
    commit = repo.head()

    # Webhook: one signed POST per created revision, with the documented body.
    events = receivers.webhook.requests
    assert len(events) == 3
    with Ledger(state) as ledger:
        recorded = {e.path: e for e in ledger.history()}
    for request in events:
        expected = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-faas-gitops-signature-256"] == "sha256=" + expected
        assert request.path == "/events"
        body = request.json()
        assert set(body) == {
            "event", "commit", "ref", "package", "revisionName", "revisionId",
            "correlationId", "error", "at", "deliveryId", "commitUrl", "pageUrl",
        }  # fmt: skip
        assert body["deliveryId"] == request.headers["x-faas-gitops-delivery"]
        assert request.headers["x-faas-gitops-event"] == body["event"] == "revision-created"
        assert request.headers["user-agent"] == "faas-gitops-notify"
        assert body["commit"] == commit
        assert body["ref"] == "main"  # the branch HEAD is on, never "HEAD"
        assert body["commitUrl"] == COMMIT_URL.replace("{sha}", commit)
        assert body["pageUrl"] == PUBLIC_URL + "packages/" + body["package"]["path"]
        entry = recorded[body["package"]["path"]]
        assert body["package"]["packageId"] == entry.package_id
        assert body["revisionId"] == entry.revision_id
        assert body["correlationId"] == entry.correlation_id
        assert body["error"] is None
    assert {e.json()["package"]["name"] for e in events} == {
        "chat-moderation", "presence-tracker", "webhooks",
    }  # fmt: skip

    # Slack: one message for the sync, not one per package.
    assert len(receivers.slack.requests) == 1
    message = receivers.slack.requests[0].json()
    assert "3 changed" in message["text"]
    assert (
        f"<{COMMIT_URL.replace('{sha}', commit)}|{commit[:12]}>"
        in message["blocks"][0]["text"]["text"]
    )

    # GitHub: pending when the sync started, then success with the counts.
    statuses = [(r.path, r.json()) for r in receivers.github.requests]
    assert [s["state"] for _, s in statuses] == ["pending", "success"]
    for path, status in statuses:
        assert path == f"/repos/acme/functions/statuses/{commit}"
        assert status["context"] == "faas-gitops"
        assert status["target_url"] == PUBLIC_URL.rstrip("/")
    assert statuses[1][1]["description"] == "3 created"
    assert all(
        r.headers["authorization"] == f"Bearer {GITHUB_TOKEN}" for r in receivers.github.requests
    )
    assert_no_secret(run, state)


@pytest.mark.slow
def test_a_failed_package_is_a_failure_status_a_failed_event_and_a_slack_alert(
    run_cli: RunCli, receivers: Receivers, emulator: RunningEmulator, state: Path
) -> None:
    emulator.store.force_error(WEBHOOKS_ID)
    run = run_cli(*receivers.args)
    assert run.code == 1

    by_event: dict[str, list[dict[str, Any]]] = {}
    for request in receivers.webhook.requests:
        body = request.json()
        by_event.setdefault(body["event"], []).append(body)
    assert sorted(by_event) == ["package-failed", "revision-created"]
    (failure,) = by_event["package-failed"]
    assert failure["package"]["path"] == "webhooks"
    assert "FAAS-403" in failure["error"]
    assert len(by_event["revision-created"]) == 2

    assert len(receivers.slack.requests) == 1
    assert "1 failed" in receivers.slack.requests[0].json()["text"]
    states = [r.json()["state"] for r in receivers.github.requests]
    assert states == ["pending", "failure"]
    assert "1 failed" in receivers.github.requests[1].json()["description"]
    assert_no_secret(run, state)


@pytest.mark.slow
def test_the_first_good_run_after_a_failed_one_is_recovered_once_on_every_event_target(
    run_cli: RunCli, receivers: Receivers, emulator: RunningEmulator, state: Path
) -> None:
    emulator.store.force_error(WEBHOOKS_ID)
    assert run_cli(*receivers.args).code == 1  # a CI job that failed
    emulator.store.clear_forced_errors()

    assert run_cli(*receivers.args).code == 0  # the next job, in another process
    assert run_cli(*receivers.args).code == 0  # and the one after

    recovered = [r.json() for r in receivers.webhook.requests if r.json()["event"] == "recovered"]
    assert len(recovered) == 1
    assert (recovered[0]["ref"], recovered[0]["failedSyncs"]) == ("main", 1)
    assert recovered[0]["lastError"] == "1 package(s) failed"
    assert recovered[0]["pageUrl"] == PUBLIC_URL.rstrip("/")
    slack = [r.json()["text"] for r in receivers.slack.requests]
    assert len(slack) == 2  # the failure, then "recovered, 1 changed" (webhooks created now)
    assert slack[1].startswith("faas-gitops: recovered, 1 changed on main @ ")
    finals = [
        (r.json()["state"], r.json()["description"])
        for r in receivers.github.requests
        if r.json()["state"] != "pending"
    ]
    assert finals == [
        ("failure", "2 created, 1 failed"),
        ("success", "1 created, 2 unchanged"),
        ("success", "3 unchanged"),
    ]


@pytest.mark.slow
def test_a_second_run_of_the_same_commit_does_not_announce_the_same_revisions_again(
    run_cli: RunCli, receivers: Receivers, state: Path
) -> None:
    assert run_cli(*receivers.args).code == 0
    assert run_cli(*receivers.args).code == 0  # nothing changed: nothing to announce
    assert len(receivers.webhook.requests) == 3
    assert len(receivers.slack.requests) == 1
    # The status moves on with the new description; pending for the same commit is not resent.
    states = [(r.json()["state"], r.json()["description"]) for r in receivers.github.requests]
    assert states == [
        ("pending", "syncing main"),
        ("success", "3 created"),
        ("success", "3 unchanged"),
    ]


@pytest.mark.slow
def test_a_sync_that_cannot_start_sends_sync_failed(
    run_cli: RunCli, receivers: Receivers, state: Path
) -> None:
    run = run_cli(*receivers.args, "--ref", "no-such-branch")
    assert run.code == 2
    assert run.stderr.count("faas-gitops: error:") == 1
    (request,) = receivers.webhook.requests
    body = request.json()
    assert body["event"] == "sync-failed"
    assert "no-such-branch" in body["error"]
    assert body["package"] is None
    assert receivers.github.requests == []  # no commit GitHub could know
    assert len(receivers.slack.requests) == 1


@pytest.mark.slow
def test_a_dead_receiver_never_fails_the_sync(
    run_cli: RunCli, tmp_path: Path, emulator: RunningEmulator
) -> None:
    with serve(Receiver(always(500, b"down"))) as broken:
        run = run_cli("--notify-webhook", broken.url + "/events")
    assert run.code == 0
    assert "3 created" in run.stdout
    assert len(broken.requests) >= 3  # tried (and retried) but never in the sync's way


def test_a_missing_token_file_is_one_line_and_exit_2_before_any_sync(
    run_cli: RunCli, tmp_path: Path, emulator: RunningEmulator
) -> None:
    run = run_cli("--github-repo", "acme/functions", "--github-token-file", str(tmp_path / "nope"))
    assert run.code == 2
    assert run.stderr.count("\n") == 1
    assert "--github-token-file" in run.stderr
    assert emulator.requests == []

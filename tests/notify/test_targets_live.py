"""Each notification target against a local receiver on loopback: what arrives, and how."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from urllib.parse import unquote

from faas_gitops.models import DeployStatus
from faas_gitops.notify import (
    SIGNATURE_HEADER,
    GitHubStatusTarget,
    MemorySentLog,
    Notifier,
    SlackTarget,
    Target,
    WebhookTarget,
)
from tests.notify.notify_receivers import Receiver, always, serve
from tests.notify.notify_support import (
    FAST,
    SHA,
    Counts,
    created,
    deployed,
    failed,
    sync_result,
    unchanged,
)


async def notify_once(targets: list[Target], counts: Counts, *results: object) -> bool:
    notifier = Notifier(targets, MemorySentLog(), policy=FAST, on_result=counts)
    try:
        await notifier.sync_started(SHA, "main", environments=["prod"])
        for result in results:
            await notifier.sync_finished(result)  # type: ignore[arg-type]
        return await notifier.drain(10)
    finally:
        await notifier.aclose()


def test_a_signed_webhook_gets_one_post_per_event_with_a_valid_signature() -> None:
    secret = b"s3cret-signing-key"
    counts = Counts()
    with serve(Receiver(always(204, b""))) as hook:
        target = WebhookTarget(hook.url + "/events", secret)
        sync = sync_result(created("a"), failed("b"), unchanged("c"))
        assert asyncio.run(notify_once([target], counts, sync))
    by_event = {r.json()["event"]: r for r in hook.requests}  # sent concurrently: any order
    assert sorted(by_event) == ["package-failed", "revision-created"]
    for request in hook.requests:
        expected = "sha256=" + hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        assert request.headers[SIGNATURE_HEADER.lower()] == expected
        assert request.path == "/events"
        assert request.headers["content-type"] == "application/json"
    assert by_event["revision-created"].json()["package"] == {
        "path": "a",
        "packageId": "id-a",
        "name": "name-a",
    }
    assert by_event["package-failed"].json()["error"] == "manifest: bad function type"
    assert counts == {("webhook", "sent"): 2}


def test_an_unsigned_webhook_carries_no_signature_header() -> None:
    with serve(Receiver(always(200))) as hook:
        assert asyncio.run(
            notify_once([WebhookTarget(hook.url)], Counts(), sync_result(created("a")))
        )
    [request] = hook.requests
    assert SIGNATURE_HEADER.lower() not in request.headers


def test_slack_gets_one_message_per_sync_that_changed_something_and_none_otherwise() -> None:
    counts = Counts()
    with serve(Receiver(always(200, b"ok"))) as slack:
        busy = sync_result(created("a"), created("b"), failed("c<script>"))
        quiet = sync_result(unchanged("a"), unchanged("b"), sha="f" * 40)
        assert asyncio.run(
            notify_once([SlackTarget(slack.url + "/services/T/B/X")], counts, quiet, busy)
        )
    [message] = slack.requests
    doc = message.json()
    assert "2 changed, 1 failed" in doc["text"]
    texts = [block["text"]["text"] for block in doc["blocks"]]
    assert len(texts) == 4  # the summary, then one line per event
    assert any("name-a" in t and "v1" in t and "corr-a" in t for t in texts)
    assert any("c&lt;script&gt;" in t and "bad function type" in t for t in texts)
    assert counts == {("slack", "sent"): 1}


def test_github_gets_pending_then_success_on_the_commit_with_the_bearer_token() -> None:
    counts = Counts()
    with serve(Receiver(always(201, b"{}"))) as github:
        target = GitHubStatusTarget(
            "acme/functions.v2",
            b"ghp_tokenvalue123",
            github.url + "/api/v3",
            "https://faas.example/",
        )
        sync = sync_result(created("a"), unchanged("b", deployed("prod")))
        assert asyncio.run(notify_once([target], counts, sync))
    paths = {unquote(r.path) for r in github.requests}
    assert paths == {f"/api/v3/repos/acme/functions.v2/statuses/{SHA}"}
    assert all(r.headers["authorization"] == "Bearer ghp_tokenvalue123" for r in github.requests)
    by_context: dict[str, list[dict[str, str]]] = {}
    for request in github.requests:  # contexts go concurrently, each one in order
        by_context.setdefault(request.json()["context"], []).append(request.json())
    states = {context: [d["state"] for d in docs] for context, docs in by_context.items()}
    assert states == {
        "faas-gitops": ["pending", "success"],
        "faas-gitops/prod": ["pending", "success"],
    }
    final = by_context["faas-gitops"][1]
    assert final["description"] == "1 created, 1 unchanged"
    assert final["target_url"] == "https://faas.example/"
    assert counts == {("github", "sent"): 4}


def test_github_reports_failure_for_a_failed_package_and_a_failed_deployment() -> None:
    with serve(Receiver(always(201, b"{}"))) as github:
        target = GitHubStatusTarget("acme/fx", "tok-abcdef", github.url)
        sync = sync_result(failed("a"), unchanged("b", deployed("prod", DeployStatus.FAILED)))
        assert asyncio.run(notify_once([target], Counts(), sync))
    finals = {
        r.json()["context"]: r.json() for r in github.requests if r.json()["state"] != "pending"
    }
    assert finals["faas-gitops"]["state"] == "failure"
    assert finals["faas-gitops"]["description"] == "1 failed, 1 unchanged; 1 deploy failed"
    assert finals["faas-gitops/prod"]["state"] == "failure"
    assert "target_url" not in finals["faas-gitops"]
    assert all(len(doc["description"]) <= 140 for doc in finals.values())


def test_a_sync_that_raised_sends_sync_failed_and_a_github_failure() -> None:
    async def scenario(targets: list[Target]) -> None:
        notifier = Notifier(targets, MemorySentLog(), policy=FAST)
        await notifier.sync_started(SHA, "main")
        await notifier.sync_failed(
            SHA, "main", "GET /v2/faas/packages: 401 unauthorized " + "x" * 200
        )
        assert await notifier.drain(10)
        await notifier.aclose()

    with serve(Receiver(always(201, b"{}"))) as github, serve(Receiver(always(200))) as hook:
        asyncio.run(
            scenario(
                [GitHubStatusTarget("acme/fx", "tok-abcdef", github.url), WebhookTarget(hook.url)]
            )
        )
    assert [r.json()["state"] for r in github.requests] == ["pending", "failure"]
    assert len(github.requests[1].json()["description"]) == 140
    [event] = hook.requests
    assert event.json()["event"] == "sync-failed"
    assert event.json()["package"] is None

"""``recovered``: told once, by the first run that ends well after failing ones, whichever
process it is (a one-shot CI job, a restarted daemon), because the failing spell is kept in the
notification log of the state dir. Real notifiers, a loopback webhook."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from faas_gitops.models import SyncResult
from faas_gitops.notify import Links, MemorySentLog, Notifier, SentLog, SqliteSentLog, WebhookTarget
from tests.notify.notify_receivers import Receiver, always, serve
from tests.notify.notify_support import FAST, SHA, created, failed, sync_result, unchanged

OTHER = "f" * 40


def ok(sha: str = SHA) -> SyncResult:
    return sync_result(unchanged("a"), sha=sha)


def bad(sha: str = SHA) -> SyncResult:
    return sync_result(failed("a"), sha=sha)


async def one_run(url: str, log: SentLog, *runs: SyncResult | str) -> None:
    """One process's runs (a string: a run that raised with that error), then drained."""
    async with Notifier([WebhookTarget(url)], log, policy=FAST) as notifier:
        for run in runs:
            if isinstance(run, str):
                await notifier.sync_failed(SHA, "main", run)
            else:
                await notifier.sync_finished(run)
        assert await notifier.drain(10)


def kinds(hook: Receiver) -> list[str]:
    return [r.json()["event"] for r in hook.requests]


def recovered(hook: Receiver) -> list[dict[str, Any]]:
    return [r.json() for r in hook.requests if r.json()["event"] == "recovered"]


def test_the_first_good_run_after_failing_ones_is_recovered_once_and_says_since_and_why() -> None:
    with serve(Receiver(always(204, b""))) as hook:
        asyncio.run(
            one_run(hook.url, MemorySentLog(), bad(), "API down", bad(OTHER), ok(OTHER), ok(OTHER))
        )
    [event] = recovered(hook)
    assert (event["commit"], event["ref"], event["package"], event["error"]) == (
        OTHER,
        "main",
        None,
        None,
    )
    assert event["failedSyncs"] == 3
    assert event["lastError"] == "1 package(s) failed"
    assert event["failingSince"].endswith("Z")


def test_a_good_run_with_nothing_failing_before_it_tells_nothing() -> None:
    with serve(Receiver(always(204, b""))) as hook:
        asyncio.run(one_run(hook.url, MemorySentLog(), ok(), ok(OTHER)))
    assert hook.requests == []


def test_a_later_process_sharing_the_state_dir_tells_recovered_and_only_one_does(
    tmp_path: Path,
) -> None:
    with serve(Receiver(always(204, b""))) as hook:
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), "GET /v2/faas/packages: 503"))
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), ok()))  # the next CI job
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), ok()))  # and the one after
    assert kinds(hook) == ["sync-failed", "recovered"]
    assert recovered(hook)[0]["lastError"] == "GET /v2/faas/packages: 503"


def test_a_dry_run_neither_fails_nor_recovers(tmp_path: Path) -> None:
    with serve(Receiver(always(204, b""))) as hook:
        dry_bad = replace(bad(), dry_run=True)
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), dry_bad, ok()))
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), bad(), replace(ok(), dry_run=True)))
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), ok()))
    assert [k for k in kinds(hook) if k != "package-failed"] == ["recovered"]


def test_a_commit_that_fails_again_after_recovering_is_announced_again(tmp_path: Path) -> None:
    with serve(Receiver(always(204, b""))) as hook:
        log = SqliteSentLog(tmp_path)
        asyncio.run(one_run(hook.url, log, "API down", "API down", ok()))
        first = kinds(hook)
        asyncio.run(one_run(hook.url, SqliteSentLog(tmp_path), "API down", ok()))
        second = kinds(hook)[len(first) :]
    # Each run's two deliveries go out concurrently: their order on the wire is not guaranteed.
    assert sorted(first) == sorted(second) == ["recovered", "sync-failed"]


def test_every_event_links_its_commit_and_its_package_page_when_configured() -> None:
    links = Links("https://github.com/acme/fx/commit/{sha}", "https://faas.example/")

    async def scenario(url: str) -> None:
        async with Notifier([WebhookTarget(url)], MemorySentLog(), policy=FAST, links=links) as n:
            await n.sync_finished(sync_result(created("svc/chat room")))
            await n.sync_failed("", "main", "--ref main: not found")
            assert await n.drain(10)

    with serve(Receiver(always(204, b""))) as hook:
        asyncio.run(scenario(hook.url))
    by_kind = {r.json()["event"]: r.json() for r in hook.requests}
    assert by_kind["revision-created"]["commitUrl"] == f"https://github.com/acme/fx/commit/{SHA}"
    assert by_kind["revision-created"]["pageUrl"] == "https://faas.example/packages/svc/chat%20room"
    # No commit GitHub could know, and no package: the status page itself.
    assert by_kind["sync-failed"]["commitUrl"] is None
    assert by_kind["sync-failed"]["pageUrl"] == "https://faas.example/"

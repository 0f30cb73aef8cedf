"""A release that did not ship (frozen, held), one that failed, and what stays silent: the
events, the Slack line and the GitHub states, rendered without a network, then sent to a local
receiver."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from faas_gitops.models import DeploymentOutcome, DeployStatus, SyncResult
from faas_gitops.notify import (
    EventKind,
    Finished,
    GitHubStatusTarget,
    MemorySentLog,
    Notifier,
    SlackTarget,
    WebhookTarget,
    events_of,
)
from faas_gitops.notify.github import overall, per_environment
from tests.notify.notify_receivers import Receiver, always, serve
from tests.notify.notify_support import FAST, SHA, Counts, created, sync_result, unchanged

NOTE = "frozen in faas-gitops.yaml"
HOLD = "held since 2026-12-07T09:30Z: rolled back to v1.3.0 from v1.4.0"


def frozen(env: str = "production", wanted: str = "v1.4.0") -> DeploymentOutcome:
    return DeploymentOutcome(
        env,
        498765,
        DeployStatus.FROZEN,
        revision_name=wanted,
        revision_id="rev-" + wanted,
        previous_revision_name="v1.3.0",
        previous_deployment_id="dep-13",
        note=NOTE,
    )


def row(env: str, status: DeployStatus, **extra: object) -> DeploymentOutcome:
    return DeploymentOutcome(env, 7, status, revision_name="v1.4.0", **extra)  # type: ignore[arg-type]


def github_finals(sync: SyncResult, started: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    target = GitHubStatusTarget("acme/fx", "tok-abcdef")
    log = MemorySentLog()
    target.started(sync.commit, "main", started, log.claim)
    out = target.finished(Finished(sync.commit, "main", events_of(sync), result=sync), log.claim)
    return {doc["context"]: doc for doc in (json.loads(o.letter.body) for o in out)}


# ---------------------------------------------------------------------------- events
def test_a_frozen_release_is_a_frozen_event_naming_where_what_runs_what_waits_and_why() -> None:
    [event] = events_of(sync_result(unchanged("chat", frozen())))

    assert event.kind is EventKind.FROZEN
    doc = event.to_json()
    assert {k: doc[k] for k in ("event", "environment", "keysetId", "note")} == {
        "event": "frozen",
        "environment": "production",
        "keysetId": 498765,
        "note": NOTE,
    }
    assert (doc["previousRevisionName"], doc["revisionName"], doc["revisionId"]) == (
        "v1.3.0",
        "v1.4.0",
        "rev-v1.4.0",
    )
    assert doc["error"] is None


def test_a_frozen_release_is_announced_once_per_waiting_revision_not_per_commit() -> None:
    first = events_of(sync_result(unchanged("chat", frozen())))
    later_commit = events_of(sync_result(unchanged("chat", frozen()), sha="f" * 40))
    next_release = events_of(sync_result(unchanged("chat", frozen(wanted="v1.5.0"))))

    assert first[0].key == later_commit[0].key
    assert first[0].key != next_release[0].key


@pytest.mark.parametrize(
    "status",
    [
        DeployStatus.HELD,
        DeployStatus.ORPHANED,
        DeployStatus.SKIPPED,
        DeployStatus.IN_SYNC,
        DeployStatus.WOULD_DEPLOY,
        DeployStatus.WOULD_PRUNE,
    ],
)
def test_held_orphaned_skipped_and_planned_deployments_are_no_event(status: DeployStatus) -> None:
    assert events_of(sync_result(unchanged("chat", row("production", status, note="why")))) == []


def test_a_dry_run_of_a_frozen_environment_is_no_event() -> None:
    dry = replace(sync_result(unchanged("chat", frozen())), dry_run=True)

    assert events_of(dry) == []


def test_a_prune_is_a_pruned_event_naming_what_was_stopped() -> None:
    pruned = DeploymentOutcome(
        "staging", 412345, DeployStatus.PRUNED, previous_revision_name="v0.9.0", correlation_id="c"
    )

    [event] = events_of(sync_result(unchanged("gone", pruned)))

    assert (event.kind, event.ran_before, event.correlation_id) == (
        EventKind.PRUNED,
        "v0.9.0",
        "c",
    )


# ----------------------------------------------------------------------------- GitHub
def test_a_frozen_environment_is_pending_with_the_freeze_in_its_description() -> None:
    sync = sync_result(
        created("chat"), unchanged("geo", frozen(), row("staging", DeployStatus.DEPLOYED))
    )

    finals = github_finals(sync)

    assert finals["faas-gitops/production"]["state"] == "pending"
    assert finals["faas-gitops/production"]["description"] == f"{NOTE}: 1 frozen"
    assert finals["faas-gitops/staging"]["state"] == "success"
    assert finals["faas-gitops"]["state"] == "pending"
    assert finals["faas-gitops"]["description"] == "1 created, 1 unchanged; 1 frozen"


def test_a_held_environment_is_pending_too_never_success() -> None:
    held = row("production", DeployStatus.HELD, previous_revision_name="v1.3.0", note=HOLD)

    assert per_environment(sync_result(unchanged("chat", held))) == {
        "production": ("pending", f"{HOLD}: 1 held")
    }
    assert overall(sync_result(unchanged("chat", held)))[0] == "pending"


def test_a_failed_deployment_fails_the_whole_sync_even_beside_a_frozen_one() -> None:
    sync = sync_result(unchanged("chat", frozen(), row("staging", DeployStatus.FAILED)))

    assert not sync.ok  # the run exits 1
    assert overall(sync) == ("failure", "1 unchanged; 1 deploy failed, 1 frozen")
    finals = github_finals(sync)
    assert finals["faas-gitops"]["state"] == "failure"
    assert finals["faas-gitops/staging"]["state"] == "failure"
    assert finals["faas-gitops/production"]["state"] == "pending"


def test_orphaned_rows_make_no_context_and_do_not_colour_the_sync() -> None:
    orphan = DeploymentOutcome(
        "keyset:777", 777, DeployStatus.ORPHANED, previous_revision_name="v0.1", note="stop it"
    )
    sync = sync_result(unchanged("gone", orphan))

    finals = github_finals(sync)

    assert set(finals) == {"faas-gitops"}
    assert finals["faas-gitops"]["state"] == "success"


def test_an_environment_left_untouched_is_success_even_when_another_is_frozen() -> None:
    sync = sync_result(unchanged("chat", frozen()))

    finals = github_finals(sync, started=("production", "staging"))

    assert finals["faas-gitops/staging"] == {
        "state": "success",
        "context": "faas-gitops/staging",
        "description": "no changes",
    }
    assert finals["faas-gitops/production"]["state"] == "pending"


# ------------------------------------------------------------------------------ Slack
def test_slack_counts_a_frozen_release_apart_and_says_from_to_and_why() -> None:
    sync = sync_result(created("chat"), unchanged("geo", frozen()))
    target = SlackTarget("https://hooks.slack.com/services/T/B/X")

    [out] = target.finished(
        Finished(SHA, "main", events_of(sync), result=sync), MemorySentLog().claim
    )

    doc = json.loads(out.letter.body)
    assert "1 changed, 1 frozen" in doc["text"]
    lines = [b["text"]["text"] for b in doc["blocks"]]
    line = next(text for text in lines if text.startswith(":snowflake: frozen"))
    assert "on *production*" in line
    assert "`v1.3.0` → `v1.4.0`" in line
    assert f"> {NOTE}" in line


# ------------------------------------------------------------------- over the loopback
def test_a_frozen_release_reaches_a_webhook_as_one_frozen_event_and_github_as_pending() -> None:
    async def scenario(targets: list[object], *results: SyncResult) -> None:
        notifier = Notifier(targets, MemorySentLog(), policy=FAST, on_result=Counts())  # type: ignore[arg-type]
        await notifier.sync_started(SHA, "v1.4.0", environments=["production"])
        for result in results:
            await notifier.sync_finished(result)
        assert await notifier.drain(10)
        await notifier.aclose()

    sync = sync_result(unchanged("chat", frozen()))
    with serve(Receiver(always(204, b""))) as hook, serve(Receiver(always(201, b"{}"))) as github:
        targets = [WebhookTarget(hook.url), GitHubStatusTarget("acme/fx", "tok-abc", github.url)]
        asyncio.run(scenario(targets, sync, sync))  # the same commit synced twice

    assert [r.json()["event"] for r in hook.requests] == ["frozen"]
    assert hook.requests[0].headers["x-faas-gitops-event"] == "frozen"
    states = [(r.json()["context"], r.json()["state"]) for r in github.requests]
    assert sorted(states) == [
        ("faas-gitops", "pending"),
        ("faas-gitops", "pending"),
        ("faas-gitops/production", "pending"),
        ("faas-gitops/production", "pending"),
    ]  # "syncing", then the freeze: never success

"""Notifications at least once: what a receiver missed while it was down reaches it on a later
run, with the delivery id it would have had the first time, until ``--notify-retry-for``.

Real ``faas-gitops --sync-once`` runs against the emulator, to loopback receivers that are
down (nothing listens: connection refused) for one run and back, on the same address, for the
next.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.notify import DeliveryPolicy, Notifier, SqliteSentLog, WebhookTarget
from faas_gitops.notify import notifier as notifier_module
from tests.e2e.hardening.hardening_support import SyncCli
from tests.gitrepo import GitRepo
from tests.notify.notify_receivers import Receiver, always, closed_port_url, sequence, serve
from tests.notify.notify_support import Counts, created, sync_result

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

GITHUB_TOKEN = "ghp_atLeastOnceTokenNeverStored"
#: A dead receiver gives up within a second in these tests (the default policy takes 30 s).
QUICK = DeliveryPolicy(deadline=0.5, attempt_timeout=0.5, base_delay=0.01, max_delay=0.05)


@pytest.fixture(autouse=True)
def quick_deliveries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifier_module, "DeliveryPolicy", lambda: QUICK)


@pytest.fixture
def github_token_file(tmp_path: Path) -> Path:
    path = tmp_path / "github-token"
    path.write_text(GITHUB_TOKEN + "\n")
    return path


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def outbox(state: Path) -> list[tuple[str, str]]:
    """(delivery id, target kind) of every notification still waiting, oldest first."""
    conn = sqlite3.connect(state / "notifications.sqlite3")
    try:
        rows = conn.execute("SELECT delivery_id, kind FROM outbox ORDER BY queued_at").fetchall()
    finally:
        conn.close()
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.fixture
def down_urls() -> tuple[str, str]:
    """A webhook URL and a GitHub API URL where nothing listens yet."""
    return closed_port_url(), closed_port_url().removesuffix("/hook")


def test_events_a_receiver_missed_while_down_reach_it_next_run_with_the_same_delivery_id(  # noqa: PLR0917 - fixtures
    hardened_cli: SyncCli,
    emulator: RunningEmulator,
    repo: GitRepo,
    tmp_path: Path,
    github_token_file: Path,
    down_urls: tuple[str, str],
) -> None:
    hook_url, github_url = down_urls
    args = (
        "--notify-webhook", hook_url,
        "--github-repo", "acme/functions",
        "--github-token-file", str(github_token_file),
        "--github-api-url", github_url,
    )  # fmt: skip
    state = tmp_path / "state"

    first = hardened_cli(emulator, repo, *args)

    assert first.code == 0, first.stderr  # a receiver that is down fails no sync
    waiting = outbox(state)
    # Three events; of GitHub's pending and success for the commit only the newer waits.
    assert sorted(kind for _, kind in waiting) == ["github", *["webhook"] * 3]
    assert GITHUB_TOKEN.encode() not in (state / "notifications.sqlite3").read_bytes()

    with (
        serve(Receiver(always(204, b"")), port=port_of(hook_url)) as hook,
        serve(Receiver(always(201, b"{}")), port=port_of(github_url)) as github,
    ):
        second = hardened_cli(emulator, repo, *args)

    assert second.code == 0, second.stderr
    events = [r.json() for r in hook.requests]
    assert sorted(e["event"] for e in events) == ["revision-created"] * 3
    assert {e["commit"] for e in events} == {repo.head()}
    expected = {delivery for delivery, kind in waiting if kind == "webhook"}
    assert {r.headers["x-faas-gitops-delivery"] for r in hook.requests} == expected
    assert {e["deliveryId"] for e in events} == expected
    assert github.requests
    for request in github.requests:
        assert request.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
        assert request.headers["x-faas-gitops-delivery"]
    assert outbox(state) == []

    with serve(Receiver(always(204, b"")), port=port_of(hook_url)) as hook_again:
        third = hardened_cli(emulator, repo, *args)
    assert third.code == 0
    assert hook_again.requests == []  # delivered once is delivered: never sent again


def test_every_attempt_of_an_event_in_every_run_carries_one_delivery_id(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    with serve(Receiver(sequence(503, 503, 503, 503, 503, 503, 503, 503, 503, 503))) as hook:
        url = hook.url + "/events"
        first = hardened_cli(emulator, repo, "--notify-webhook", url)
        tried = {r.headers["x-faas-gitops-delivery"] for r in hook.requests}
        hook.reply = always(204, b"")
        hook.requests.clear()
        second = hardened_cli(emulator, repo, "--notify-webhook", url)

    assert (first.code, second.code) == (0, 0)
    assert len(tried) == 3  # one id per event, however often each was tried
    assert {r.headers["x-faas-gitops-delivery"] for r in hook.requests} == tried
    assert len(hook.requests) == 3


def test_a_notification_older_than_retry_for_is_dropped_and_logged_not_sent(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    hook_url = closed_port_url()
    assert hardened_cli(emulator, repo, "--notify-webhook", hook_url).code == 0
    assert len(outbox(tmp_path / "state")) == 3

    with serve(Receiver(always(204, b"")), port=port_of(hook_url)) as hook:
        run = hardened_cli(emulator, repo, "--notify-webhook", hook_url, "--notify-retry-for", "0")

    assert run.code == 0, run.stderr
    assert hook.requests == []
    assert "notifications dropped" in run.stderr
    assert '"count": 3' in run.stderr
    assert outbox(tmp_path / "state") == []


def test_a_dry_run_keeps_nothing_for_a_later_run(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    hook_url = closed_port_url()
    dry = hardened_cli(
        emulator, repo, "--notify-webhook", hook_url, "--dry-run", "--ref", "no-such-branch"
    )
    assert dry.code == 2  # a sync-failed event, which the receiver could not take

    assert not (tmp_path / "state" / "notifications.sqlite3").exists()
    with serve(Receiver(always(204, b"")), port=port_of(hook_url)) as hook:
        real = hardened_cli(emulator, repo, "--notify-webhook", hook_url)
    assert real.code == 0, real.stderr
    assert sorted(r.json()["event"] for r in hook.requests) == ["revision-created"] * 3


def test_dropped_notifications_are_counted_per_target(tmp_path: Path) -> None:
    """``on_result(kind, "dropped")`` is what the daemon's notifications_total counts."""
    counts = Counts()
    hook_url = closed_port_url()

    async def run(retry_for: float) -> None:
        async with Notifier(
            [WebhookTarget(hook_url)],
            SqliteSentLog(tmp_path),
            policy=QUICK,
            on_result=counts,
            retry_for=retry_for,
        ) as notifier:
            await notifier.sync_finished(sync_result(created("a"), created("b")))
            assert await notifier.drain(5)

    asyncio.run(run(retry_for=3600))
    assert counts == {("webhook", "failed"): 2}
    asyncio.run(run(retry_for=0))  # the same events again: claimed, so only the queued ones
    assert counts[("webhook", "dropped")] == 2
    assert counts[("webhook", "duplicate")] == 2

"""The notifier's promises: retries, never blocking a sync, once per event, no secret leaks."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from faas_gitops.errors import ConfigError
from faas_gitops.notify import (
    SIGNATURE_HEADER,
    DeliveryPolicy,
    Finished,
    GitHubStatusTarget,
    MemorySentLog,
    Notifier,
    SlackTarget,
    SqliteSentLog,
    Target,
    WebhookTarget,
    build_notifier,
    build_targets,
    events_of,
    read_secret_file,
    sign,
)
from tests.notify.notify_receivers import Receiver, always, closed_port_url, sequence, serve
from tests.notify.notify_support import FAST, SHA, Counts, created, failed, sync_result


def test_a_delivery_answered_500_is_retried_until_it_succeeds() -> None:
    counts = Counts()

    async def scenario(url: str) -> None:
        async with Notifier(
            [WebhookTarget(url)], MemorySentLog(), policy=FAST, on_result=counts
        ) as notifier:
            await notifier.sync_finished(sync_result(created("a")))
            assert await notifier.drain(10)

    with serve(Receiver(sequence(500, 503, 200))) as hook:
        asyncio.run(scenario(hook.url))
    assert len(hook.requests) == 3
    assert len({r.headers["x-faas-gitops-delivery"] for r in hook.requests}) == 1
    assert counts == {("webhook", "sent"): 1}


def test_a_refused_delivery_is_not_retried() -> None:
    counts = Counts()

    async def scenario(url: str) -> None:
        async with Notifier(
            [WebhookTarget(url)], MemorySentLog(), policy=FAST, on_result=counts
        ) as notifier:
            await notifier.sync_finished(sync_result(created("a")))
            assert await notifier.drain(10)

    with serve(Receiver(always(400))) as hook:
        asyncio.run(scenario(hook.url))
    assert len(hook.requests) == 1
    assert counts == {("webhook", "failed"): 1}


@pytest.mark.slow
def test_a_receiver_that_never_answers_blocks_neither_the_sync_nor_drain() -> None:
    counts = Counts()
    hold = threading.Event()

    async def scenario(hook: Receiver) -> None:
        policy = DeliveryPolicy(deadline=30, attempt_timeout=30)
        notifier = Notifier(
            [WebhookTarget(hook.url)], MemorySentLog(), policy=policy, on_result=counts
        )
        await notifier.sync_finished(sync_result(created("a")))
        # The call has returned although the receiver has not answered (it cannot: it is held).
        await asyncio.to_thread(hook.arrived.wait, 10)
        assert counts == {}
        assert await notifier.drain(0.2) is False
        await notifier.aclose()

    with serve(Receiver(always(200), hold=hold)) as hook:
        asyncio.run(scenario(hook))
    assert len(hook.requests) == 1
    assert counts == {("webhook", "failed"): 1}


@pytest.mark.slow
def test_a_dead_receiver_is_given_up_at_the_deadline() -> None:
    counts = Counts()

    async def scenario() -> bool:
        policy = DeliveryPolicy(deadline=0.3, attempt_timeout=0.2, base_delay=0.02, max_delay=0.05)
        async with Notifier(
            [WebhookTarget(closed_port_url())], MemorySentLog(), policy=policy, on_result=counts
        ) as notifier:
            await notifier.sync_finished(sync_result(created("a")))
            return await notifier.drain(10)

    assert asyncio.run(scenario()) is True
    assert counts == {("webhook", "failed"): 1}


@pytest.mark.slow
def test_a_restarted_notifier_sharing_the_sent_log_does_not_resend(tmp_path: Path) -> None:
    counts = Counts()

    async def run_once(url: str, github_url: str) -> None:
        targets: list[Target] = [
            WebhookTarget(url),
            SlackTarget(url + "/slack"),
            GitHubStatusTarget("acme/fx", "tok-abcdef", github_url),
        ]
        async with Notifier(
            targets, SqliteSentLog(tmp_path), policy=FAST, on_result=counts
        ) as notifier:
            await notifier.sync_started(SHA, "main")
            await notifier.sync_finished(sync_result(created("a"), failed("b")))
            assert await notifier.drain(10)

    with serve(Receiver(always(200))) as hook, serve(Receiver(always(201))) as github:
        asyncio.run(run_once(hook.url, github.url))
        first = (len(hook.requests), len(github.requests))
        asyncio.run(run_once(hook.url, github.url))
    assert first == (3, 2)  # two events + one Slack message; pending + success
    assert (len(hook.requests), len(github.requests)) == first
    assert counts[("webhook", "duplicate")] == 2
    assert counts[("slack", "duplicate")] == 2
    assert counts[("github", "duplicate")] == 2
    assert (tmp_path / "notifications.sqlite3").exists()


def test_a_newer_status_of_the_same_context_replaces_a_pending_still_being_retried() -> None:
    def reply(request: object) -> tuple[int, bytes]:
        return (500, b"{}") if b'"pending"' in request.body else (201, b"{}")  # type: ignore[attr-defined]

    async def scenario(url: str) -> None:
        policy = DeliveryPolicy(deadline=60, attempt_timeout=5, base_delay=5, max_delay=5)
        target = GitHubStatusTarget("acme/fx", "tok-abcdef", url)
        async with Notifier([target], MemorySentLog(), policy=policy) as notifier:
            await notifier.sync_started(SHA, "main")
            await notifier.sync_finished(sync_result(created("a")))
            assert await notifier.drain(10)

    with serve(Receiver(reply)) as github:
        asyncio.run(scenario(github.url))
    assert [r.json()["state"] for r in github.requests] == ["pending", "success"]


@pytest.mark.slow
@pytest.mark.usefixtures("unfiltered_logs")
def test_no_secret_reaches_a_log_line_or_an_error(tmp_path: Path) -> None:
    token, secret = "ghp_TOPSECRETtoken", "whsec-TOPSECRET"
    (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "secret").write_text(secret + "\n")
    dead = closed_port_url()
    webhook = dead.replace("http://", "http://user:pw-TOPSECRET@") + "?key=TOPSECRET"
    slack = dead + "/services/T0/B0/TOPSECRET"

    async def scenario(github_url: str) -> None:
        targets = build_targets(
            webhooks=[webhook],
            secret_file=tmp_path / "secret",
            slack=slack,
            github_repo="acme/fx",
            github_token_file=tmp_path / "token",
            github_api_url=github_url,
        )
        assert all("TOPSECRET" not in repr(t) for t in targets)
        policy = DeliveryPolicy(deadline=0.3, attempt_timeout=0.2, base_delay=0.02, max_delay=0.05)
        notifier = build_notifier(targets, state_dir=tmp_path / "state", policy=policy)
        assert notifier is not None
        await notifier.sync_started(SHA, "main")
        await notifier.sync_finished(sync_result(created("a"), failed("b")))
        assert await notifier.drain(10)
        await notifier.aclose()

    with capture_logs() as logs, serve(Receiver(always(500))) as github:
        asyncio.run(scenario(github.url))
    assert any(entry.get("target") == "slack" for entry in logs)
    assert any(entry.get("target") == "github" for entry in logs)
    assert all("TOPSECRET" not in str(entry) for entry in logs)
    assert len(github.requests) >= 2


def test_a_missing_or_empty_secret_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--github-token-file .*/nope does not exist$"):
        read_secret_file(tmp_path / "nope", what="--github-token-file")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        read_secret_file(tmp_path / "empty")
    (tmp_path / "two").write_text("TOPSECRET\nTOPSECRET2\n")
    with pytest.raises(ConfigError) as info:
        read_secret_file(tmp_path / "two")
    assert "TOPSECRET" not in str(info.value)


def test_bad_target_settings_are_refused_with_the_flag_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--github-repo"):
        build_targets(github_repo="acme", github_token_file=tmp_path / "t")
    with pytest.raises(ConfigError, match="go together"):
        build_targets(github_repo="acme/fx")
    with pytest.raises(ConfigError, match="needs at least one --notify-webhook"):
        build_targets(secret_file=tmp_path / "s")
    assert build_notifier(build_targets(), state_dir=tmp_path) is None


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"], ids=["none", "lf", "crlf"])
def test_the_signing_key_is_the_secret_files_content_without_its_trailing_newline(
    tmp_path: Path, ending: str
) -> None:
    (tmp_path / "secret").write_text("whsec-abc" + ending, newline="")
    [target] = build_targets(webhooks=["https://hooks.example/x"], secret_file=tmp_path / "secret")
    [request] = target.finished(
        Finished(SHA, "main", events_of(sync_result(created("a"))), result=None),
        MemorySentLog().claim,
    )
    assert request.headers[SIGNATURE_HEADER] == sign(b"whsec-abc", request.letter.body)

"""The notification parts that need no network: URL masking, the sent log, target rendering."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from faas_gitops.notify import (
    Finished,
    GitHubStatusTarget,
    Links,
    MemorySentLog,
    SentLog,
    SlackTarget,
    SqliteSentLog,
    events_of,
    mask_url,
)
from faas_gitops.notify.events import recovered_event
from faas_gitops.notify.outgoing import Target
from faas_gitops.notify.webhook import SIGNATURE_HEADER, WebhookTarget, sign
from faas_gitops.state.sent import Failing
from tests.notify.notify_support import SHA, created, failed, sync_result, unchanged


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/x", "https://hooks.example/x"),
        ("https://u:p@hooks.example/x", "https://***@hooks.example/x"),
        ("https://hooks.example/x?token=abc#f", "https://hooks.example/x?***#***"),
        ("http://127.0.0.1:8080/h", "http://127.0.0.1:8080/h"),
        ("not a url:99999", "***"),
        ("https://h:99999/x", "***"),
    ],
)
def test_a_url_is_shown_without_userinfo_or_query(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_slack_url_is_shown_as_its_host_only() -> None:
    target = SlackTarget("https://hooks.slack.com/services/T0/B0/abcdef")
    assert target.shown_url == "https://hooks.slack.com/***"
    assert "abcdef" not in repr(target)


@pytest.mark.parametrize("make", [MemorySentLog, "sqlite"])
def test_a_key_is_claimed_once_even_by_racing_threads(make: object, tmp_path: Path) -> None:
    log: SentLog = SqliteSentLog(tmp_path) if make == "sqlite" else MemorySentLog()
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(log.claim("k"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert log.claim("other") is True
    log.close()


def test_a_failing_spell_is_ended_by_one_of_two_processes_sharing_the_log(tmp_path: Path) -> None:
    ended: list[Failing | None] = []

    def succeed(log: SentLog) -> None:
        with log.batch():  # as the notifier notes it: in the claims' transaction
            ended.append(log.note_success())

    with SqliteSentLog(tmp_path) as ci_job, SqliteSentLog(tmp_path) as daemon:
        first = ci_job.note_failure("API down")
        again = daemon.note_failure("still down")
        threads = [threading.Thread(target=succeed, args=(log,)) for log in (ci_job, daemon)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert (again.since, again.syncs, again.error) == (first.since, 2, "still down")
    assert sorted(ended, key=lambda spell: spell is None) == [again, None]


def test_the_sqlite_sent_log_remembers_claims_across_openings(tmp_path: Path) -> None:
    with SqliteSentLog(tmp_path) as first:
        assert first.claim("webhook:1|revision-created|abc|a|")
    with SqliteSentLog(tmp_path) as second:
        assert not second.claim("webhook:1|revision-created|abc|a|")
        assert second.claim("webhook:1|revision-created|abc|b|")


def test_a_sent_log_file_that_is_not_a_database_is_moved_aside_and_a_new_log_made(
    tmp_path: Path,
) -> None:
    """Notifications never fail a sync: the damaged file is kept (aside), a new log is used."""
    (tmp_path / "notifications.sqlite3").write_text("not sqlite at all, but long enough " * 40)
    with SqliteSentLog(tmp_path) as log:
        assert not log.fallback
        assert log.claim("k")
    [aside] = tmp_path.glob("notifications.sqlite3.damaged-*")
    assert aside.read_text() == "not sqlite at all, but long enough " * 40


def test_a_sent_log_written_before_it_had_an_application_id_keeps_its_claims(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / "notifications.sqlite3")
    conn.execute("CREATE TABLE sent (key TEXT PRIMARY KEY, claimed_at REAL NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO sent VALUES ('webhook:1|sync-failed|abc||', ?)", (time.time(),))
    conn.commit()
    conn.close()

    with SqliteSentLog(tmp_path) as log:
        assert not log.claim("webhook:1|sync-failed|abc||")
        assert log.claim("webhook:1|sync-failed|def||")


def test_someone_elses_database_as_sent_log_is_left_alone_and_claims_kept_in_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notifications.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()

    with SqliteSentLog(tmp_path) as log:
        assert log.fallback
        assert log.claim("k")
        assert not log.claim("k")

    conn = sqlite3.connect(path)
    try:
        assert [row[0] for row in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]
    finally:
        conn.close()


def render_github(
    target: GitHubStatusTarget, sync: Finished, commit: str = SHA
) -> list[dict[str, str]]:
    log = MemorySentLog()
    started = target.started(commit, "main", ["prod", "dev"], log.claim)
    finished = target.finished(sync, log.claim)
    return [json.loads(out.letter.body) for out in [*started, *finished]]


def test_a_sync_that_died_resolves_every_pending_environment_as_failed() -> None:
    target = GitHubStatusTarget("acme/fx", "tok-abcdef")
    sync = Finished(SHA, "main", (), error="API down")
    docs = render_github(target, sync)
    finals = {d["context"]: d["state"] for d in docs if d["state"] != "pending"}
    assert finals == {
        "faas-gitops": "failure",
        "faas-gitops/dev": "failure",
        "faas-gitops/prod": "failure",
    }


def test_github_is_not_told_about_something_that_is_not_a_commit() -> None:
    target = GitHubStatusTarget("acme/fx", "tok-abcdef")
    assert render_github(target, Finished("", "main", (), error="ref not found"), commit="") == []


def test_an_unchanged_resync_of_a_commit_posts_no_second_identical_status() -> None:
    target = GitHubStatusTarget("acme/fx", "tok-abcdef")
    log = MemorySentLog()
    quiet = sync_result(unchanged("a"))
    rounds = []
    for _ in range(3):
        out = target.started(SHA, "main", [], log.claim)
        out += target.finished(Finished(SHA, "main", events_of(quiet), result=quiet), log.claim)
        rounds.append(len(out))
    assert rounds == [2, 0, 0]


def test_a_package_failing_again_on_the_same_commit_is_not_announced_twice_on_slack() -> None:
    target = SlackTarget("https://hooks.slack.com/services/T/B/X")
    log = MemorySentLog()
    first = sync_result(failed("a"), created("b"))
    again = sync_result(failed("a"), unchanged("b"))
    assert (
        len(target.finished(Finished(SHA, "main", events_of(first), result=first), log.claim)) == 1
    )
    assert target.finished(Finished(SHA, "main", events_of(again), result=again), log.claim) == []


def test_a_huge_sync_stays_within_slacks_block_limit() -> None:
    target = SlackTarget("https://hooks.slack.com/services/T/B/X")
    sync = sync_result(*(created(f"p{i:03}") for i in range(120)))
    [out] = target.finished(
        Finished(SHA, "main", events_of(sync), result=sync), MemorySentLog().claim
    )
    blocks = json.loads(out.letter.body)["blocks"]
    assert len(blocks) <= 50
    assert "80 more" in blocks[-1]["text"]["text"]


def test_slack_links_the_commit_the_page_and_each_package_and_tells_recovered_apart() -> None:
    links = Links("https://github.com/acme/fx/commit/{sha}", "https://faas.example")
    sync = sync_result(created("chat"))
    spell = Failing(time.time() - 600, 4, "GET /v2/faas/packages: 503 <html>")
    events = [links.stamp(recovered_event(sync, spell)), *map(links.stamp, events_of(sync))]
    finished = Finished(
        SHA, "main", events, result=sync, commit_url=links.commit(SHA), page_url=links.page()
    )

    [out] = SlackTarget("https://hooks.slack.com/services/T/B/X").finished(
        finished, MemorySentLog().claim
    )

    texts = [block["text"]["text"] for block in json.loads(out.letter.body)["blocks"]]
    assert texts[0].startswith(":white_check_mark: *recovered, 1 changed* on `main` @ ")
    assert f"<https://github.com/acme/fx/commit/{SHA}|{SHA[:12]}>" in texts[0]
    assert texts[0].endswith("<https://faas.example|status page>")
    assert texts[1] == (
        ":white_check_mark: recovered after 4 failed run(s)\n"
        "> last error: GET /v2/faas/packages: 503 &lt;html&gt;"
    )
    assert texts[2].startswith(
        ":white_check_mark: created *<https://faas.example/packages/chat|name-chat>* (`chat`)"
    )


def test_what_the_outbox_keeps_holds_no_url_and_no_credential_and_sends_again_whole() -> None:
    """The letter is what is stored; the URL, the token and the signature are added per run
    (``Outgoing.credentials``), so a rotated secret signs a queued event again."""
    url = "https://hooks.example/h?token=hook-url-secret"
    sync = Finished(SHA, "main", events_of(sync_result(created("a"))))
    targets: list[Target] = [
        WebhookTarget(url, b"webhook-secret"),
        SlackTarget("https://hooks.slack.com/services/T0/B0/slack-url-secret"),
        GitHubStatusTarget("acme/fx", "ghp-token-secret", "https://api.example"),
    ]
    for target in targets:
        made = target.finished(sync, lambda _: True)
        assert made, target.kind
        for out in made:
            kept = out.queued(1.0)
            stored = repr(kept)
            for secret in ("hook-url-secret", "slack-url-secret", "ghp-token-secret", "sha256="):
                assert secret not in stored, (target.kind, secret)
            assert (kept.kind, kept.target, kept.queued_at) == (target.kind, target.ident, 1.0)
            again = target.redeliver(kept)
            assert (again.url, again.letter.body, again.headers) == (
                out.url,
                out.letter.body,
                out.headers,
            )
    rotated = WebhookTarget(url, b"rotated")
    (out,) = targets[0].finished(sync, lambda _: True)
    resent = rotated.redeliver(out.queued(2.0))
    assert resent.headers[SIGNATURE_HEADER] == sign(b"rotated", out.letter.body)
    assert out.headers[SIGNATURE_HEADER] == sign(b"webhook-secret", out.letter.body)

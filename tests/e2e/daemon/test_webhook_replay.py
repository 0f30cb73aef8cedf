"""A captured webhook replayed against a real daemon: the signature proves GitHub sent the body
once, so the same signed body with a new or no ``X-GitHub-Delivery`` wakes no second sync within
the replay window, while a new push (a new body) still does, and an unsigned daemon's plain
``POST /hooks/sync`` (a manual trigger on loopback) keeps syncing every time. The window itself
is checked on ``RecentBodies`` with a clock the test moves."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from faas_gitops.daemon.replay import RecentBodies
from tests.e2e.daemon.daemon_support import DaemonProcess, StartDaemon, wait_until
from tests.gitrepo import GitRepo

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

SECRET = "replay-hook-secret"
QUIET = ("--interval", "60", "--resync-interval", "600")
WEBHOOK_TRIGGERS = 'faas_gitops_triggers_total{reason="webhook"}'
DUPLICATES = 'faas_gitops_webhook_requests_total{result="duplicate"}'


def signed(body: bytes, delivery: str | None = None) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return headers


def push_body(repo: GitRepo, before: str = "0" * 40) -> bytes:
    return (
        f'{{"ref": "refs/heads/main", "before": "{before}", "after": "{repo.head()}"}}'
    ).encode()


@pytest.fixture
def signed_daemon(start_daemon: StartDaemon, repo: GitRepo, tmp_path: Path) -> DaemonProcess:
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text(SECRET + "\n")
    daemon = start_daemon(repo.root, *QUIET, "--webhook-secret-file", str(secret_file))
    daemon.wait_ready()
    return daemon


def test_a_signed_body_replayed_with_a_new_or_no_delivery_id_wakes_no_second_sync(
    signed_daemon: DaemonProcess, repo: GitRepo
) -> None:
    body = push_body(repo)
    first = signed_daemon.post("/hooks/sync", body, signed(body, "delivery-1"))
    assert (first.status_code, first.json()) == (202, {"accepted": True})
    wait_until(lambda: signed_daemon.metrics()[WEBHOOK_TRIGGERS] == 1, "the webhook trigger")

    for delivery in ("delivery-2", None, "delivery-1"):
        again = signed_daemon.post("/hooks/sync", body, signed(body, delivery))
        assert (again.status_code, again.json()) == (
            200,
            {"accepted": False, "duplicate": True},
        ), delivery
        assert again.headers["x-content-type-options"] == "nosniff"
    metrics = signed_daemon.metrics()
    assert metrics[WEBHOOK_TRIGGERS] == 1
    assert metrics[DUPLICATES] == 3

    # A new push is a new body: it syncs as before.
    newer = push_body(repo, before=repo.head())
    fresh = signed_daemon.post("/hooks/sync", newer, signed(newer))
    assert fresh.status_code == 202
    wait_until(lambda: signed_daemon.metrics()[WEBHOOK_TRIGGERS] == 2, "the second trigger")


def test_a_forged_body_is_not_remembered_so_the_real_one_still_syncs(
    signed_daemon: DaemonProcess, repo: GitRepo
) -> None:
    body = push_body(repo)
    forged = signed_daemon.post("/hooks/sync", body, {"X-Hub-Signature-256": "sha256=" + "0" * 64})
    real = signed_daemon.post("/hooks/sync", body, signed(body))
    assert (forged.status_code, real.status_code) == (401, 202)
    wait_until(lambda: signed_daemon.metrics()[WEBHOOK_TRIGGERS] == 1, "the webhook trigger")


def test_without_a_secret_the_same_plain_post_triggers_every_time(
    start_daemon: StartDaemon, repo: GitRepo
) -> None:
    daemon = start_daemon(repo.root, *QUIET)  # loopback: a manual `curl -X POST` trigger
    daemon.wait_ready()
    answers = [daemon.post("/hooks/sync", b"").status_code for _ in range(3)]
    assert answers == [202, 202, 202]
    wait_until(lambda: daemon.metrics()[WEBHOOK_TRIGGERS] == 3, "three webhook triggers")
    assert daemon.metrics()[DUPLICATES] == 0


# --------------------------------------------------------------------------- the window
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_body_is_a_duplicate_within_the_window_and_wakes_once_more_after_it() -> None:
    clock = Clock()
    bodies = RecentBodies(window=600, clock=clock)
    bodies.remember(b"push")
    clock.now += 599
    assert bodies.seen(b"push")
    assert not bodies.seen(b"another push")
    clock.now += 1
    assert not bodies.seen(b"push")  # the residual risk: one more sync per window
    assert len(bodies) == 0


def test_a_repeat_does_not_extend_its_own_window() -> None:
    clock = Clock()
    bodies = RecentBodies(window=600, clock=clock)
    bodies.remember(b"push")
    for _ in range(5):
        clock.now += 100
        assert bodies.seen(b"push")  # replays inside the window: answered, not remembered
    clock.now += 100
    assert not bodies.seen(b"push")


def test_memory_is_bounded_and_the_oldest_body_goes_first() -> None:
    clock = Clock()
    bodies = RecentBodies(window=600, size=3, clock=clock)
    for number in range(5):
        clock.now += 1
        bodies.remember(f"push {number}".encode())
    assert len(bodies) == 3
    assert [bodies.seen(f"push {n}".encode()) for n in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]

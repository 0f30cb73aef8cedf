"""The daemon's parts in-process: the wake-up mailbox, the probes and webhook of the HTTP app,
what the watcher watches, and the small rules (backoff, listen address, drift counting)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from faas_gitops.daemon import Daemon, parse_listen, retry_delay, stuck_after
from faas_gitops.daemon.metrics import Metrics
from faas_gitops.daemon.server import MAX_WEBHOOK_BYTES, LoopState, create_app, signature_valid
from faas_gitops.daemon.triggers import RepoWatcher, Wake, Wakeup, watch_plan
from faas_gitops.errors import ConfigError
from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.settings import ApiSettings, GitSettings, LoopSettings, Settings
from tests.gitrepo import GitRepo

SECRET = b"hook-secret-value"


# --------------------------------------------------------------------------- Wakeup
def test_triggers_collapse_into_one_wakeup_whose_reason_is_the_latest() -> None:
    async def scenario() -> list[Wake | None]:
        wakeup = Wakeup()
        wakeup.set("watch")
        wakeup.set("poll")
        first = await wakeup.wait()
        wakeup.set("retry")
        wakeup.close()
        return [first, await wakeup.wait()]

    assert asyncio.run(scenario()) == [Wake("poll", force=False), None]


def test_a_forced_trigger_keeps_its_force_when_a_later_trigger_collapses_it() -> None:
    async def scenario() -> Wake | None:
        wakeup = Wakeup()
        wakeup.set("webhook", force=True)
        wakeup.set("watch")
        return await wakeup.wait()

    assert asyncio.run(scenario()) == Wake("watch", force=True)


def test_a_resync_stays_full_when_a_later_trigger_collapses_it() -> None:
    async def scenario() -> Wake | None:
        wakeup = Wakeup()
        wakeup.set("resync", full=True)
        wakeup.set("poll")
        return await wakeup.wait()

    assert asyncio.run(scenario()) == Wake("poll", force=True, full=True)


def test_a_closed_wakeup_refuses_triggers() -> None:
    wakeup = Wakeup()
    wakeup.close()
    assert wakeup.set("webhook", force=True) is False
    assert wakeup.closed


# --------------------------------------------------------------------------- small rules
@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),  # noqa: S104 - parsed, never bound
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_listen_addresses_are_host_and_port(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8080", ":8080", "host:", "host:http", "host:70000"])
def test_a_listen_address_without_host_and_port_is_a_config_error(listen: str) -> None:
    with pytest.raises(ConfigError, match="--listen"):
        parse_listen(listen)


def test_retries_back_off_exponentially_up_to_the_interval() -> None:
    assert [retry_delay(n, cap=30) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert retry_delay(3, cap=0.5) == 0.5


def settings(tmp_path: Path, **loop: object) -> Settings:
    return Settings(
        git=GitSettings(repo=str(tmp_path)),
        api=ApiSettings(key="sk-unit-test-key"),
        loop=LoopSettings.model_validate(loop),
        state_dir=tmp_path / "state",
    )


def test_a_sync_counts_as_stuck_after_a_fetch_timeout_plus_twenty_api_timeouts(
    tmp_path: Path,
) -> None:
    assert stuck_after(settings(tmp_path)) == 900


# --------------------------------------------------------------------------- HTTP app
class Client:
    """Calls the ASGI app in-process (httpx's ASGI transport; no server, no thread)."""

    def __init__(self, app: Starlette) -> None:
        self._app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url="http://daemon") as http:
                return await http.request(method, path, **kwargs)

        return asyncio.run(call())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


def client(state: LoopState, *, secret: bytes | None = SECRET) -> tuple[Client, list[str]]:
    calls: list[str] = []

    def on_webhook() -> bool:
        calls.append("webhook")
        return state.accepting

    app = create_app(state, Metrics(), on_webhook, webhook_secret=secret)
    return Client(app), calls


def signed(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def test_readyz_is_503_before_the_first_success_and_after_too_many_failures() -> None:
    state = LoopState(unready_after=2, stuck_after=60)
    http, _ = client(state)

    assert http.get("/readyz").status_code == 503
    assert http.get("/readyz").json()["reason"] == "no full sync has succeeded yet"

    state.synced_once, state.commit = True, "a" * 40
    state.last_success = datetime(2026, 1, 2, tzinfo=UTC)
    assert http.get("/readyz").status_code == 200

    state.consecutive_failures, state.failing_packages = 1, ["chat"]
    assert http.get("/readyz").status_code == 200

    state.consecutive_failures = 2
    answer = http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failingPackages"] == ["chat"]
    assert answer.json()["commit"] == "a" * 40
    assert answer.json()["lastSuccess"] == "2026-01-02T00:00:00+00:00"


def test_healthz_fails_when_the_loop_died_or_a_sync_runs_past_the_deadline() -> None:
    now = [1000.0]
    alive = [True]
    state = LoopState(
        unready_after=3, stuck_after=60, loop_alive=lambda: alive[0], clock=lambda: now[0]
    )
    http, _ = client(state)
    assert http.get("/healthz").status_code == 200

    state.sync_started = 990.0
    assert http.get("/healthz").status_code == 200
    now[0] = 1051.0
    assert http.get("/healthz").status_code == 503

    state.sync_started = None
    alive[0] = False
    assert http.get("/healthz").status_code == 503


def test_the_webhook_needs_a_valid_signature_when_a_secret_is_set() -> None:
    http, calls = client(LoopState(unready_after=3, stuck_after=60))
    body = b'{"zen": "Keep it logically awesome."}'

    assert http.post("/hooks/sync", content=body).status_code == 401
    assert http.post("/hooks/sync", content=body, headers=signed(body, b"other")).status_code == 401
    weird = {"X-Hub-Signature-256": "sha256=\u00e9t\u00e9".encode("latin-1")}
    assert http.post("/hooks/sync", content=body, headers=weird).status_code == 401
    assert calls == []

    answer = http.post("/hooks/sync", content=body, headers=signed(body))
    assert (answer.status_code, answer.json()) == (202, {"accepted": True})
    assert calls == ["webhook"]


def test_the_webhook_refuses_bodies_over_one_mebibyte_before_checking_anything() -> None:
    http, calls = client(LoopState(unready_after=3, stuck_after=60))
    body = b"x" * (MAX_WEBHOOK_BYTES + 1)

    assert http.post("/hooks/sync", content=body, headers=signed(body)).status_code == 413
    assert calls == []


def test_without_a_secret_any_post_triggers_and_while_stopping_none_does() -> None:
    state = LoopState(unready_after=3, stuck_after=60)
    http, calls = client(state, secret=None)

    assert http.post("/hooks/sync").status_code == 202
    state.accepting = False
    assert http.post("/hooks/sync").status_code == 503
    assert calls == ["webhook"]


def test_metrics_are_prometheus_text_from_a_private_registry() -> None:
    http, _ = client(LoopState(unready_after=3, stuck_after=60))
    answer = http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'faas_gitops_syncs_total{result="success"} 0.0' in answer.text
    assert "python_gc" not in answer.text  # the global registry's collectors are not ours


def test_signatures_are_checked_against_the_exact_body() -> None:
    body = b"payload"
    header = signed(body)["X-Hub-Signature-256"]
    assert signature_valid(SECRET, body, header)
    assert not signature_valid(SECRET, body + b"\n", header)
    assert not signature_valid(SECRET, body, header.removeprefix("sha256="))
    assert not signature_valid(SECRET, body, None)


# --------------------------------------------------------------------------- drift counting
def result(commit: str, *statuses: tuple[str, Status]) -> SyncResult:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return SyncResult(
        commit=commit,
        ref="HEAD",
        dry_run=False,
        outcomes=tuple(Outcome(path=path, status=status) for path, status in statuses),
        started_at=moment,
        finished_at=moment,
    )


def test_only_creates_for_packages_already_in_sync_at_the_same_commit_count_as_drift(
    tmp_path: Path,
) -> None:
    daemon = Daemon(settings(tmp_path))
    count = daemon.tick.count_drift

    assert count(result("c1", ("a", Status.CREATED), ("b", Status.FAILED))) == 0
    # Same commit: "a" was in sync, so a create means someone changed it; "b" merely recovers.
    assert count(result("c1", ("a", Status.CREATED), ("b", Status.CREATED))) == 1
    # A new commit: creates are the commit's own changes.
    assert count(result("c2", ("a", Status.CREATED), ("b", Status.UNCHANGED))) == 0
    assert count(result("c2", ("a", Status.UNCHANGED), ("b", Status.CREATED))) == 1


# --------------------------------------------------------------------------- the watcher
def test_a_plain_repository_is_watched_through_its_git_dir_only(repo: GitRepo) -> None:
    plan = watch_plan(str(repo.root))
    assert plan.link is None
    assert plan.git_dirs == ((repo.root / ".git").resolve(),)
    watched = {path for watch_set in plan.sets() for path in watch_set.paths}
    assert watched == {(repo.root / ".git").resolve(), (repo.root / ".git" / "refs").resolve()}


def test_a_linked_worktree_is_watched_through_its_own_and_the_common_git_dir(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.git("worktree", "add", "--detach", str(tmp_path / "wt"))
    plan = watch_plan(str(tmp_path / "wt"))
    common = (repo.root / ".git").resolve()
    assert plan.git_dirs == ((common / "worktrees" / "wt").resolve(), common)


def test_a_symlink_or_a_missing_repo_is_watched_through_the_link_directory(
    repo: GitRepo, tmp_path: Path
) -> None:
    link = tmp_path / "links" / "repo"
    link.parent.mkdir()
    missing = watch_plan(str(link))
    assert (missing.link, missing.git_dirs) == (link, ())
    assert [s.paths for s in missing.sets()] == [(link.parent,)]

    link.symlink_to(repo.root)
    plan = watch_plan(str(link))
    assert plan.link == link
    assert plan.target == repo.root.resolve()
    [link_set, *_] = plan.sets()
    assert (link_set.paths, link_set.recursive, link_set.reaim) == ((link.parent,), False, True)


@pytest.mark.slow
def test_the_watcher_reports_a_commit(repo: GitRepo) -> None:
    async def scenario() -> bool:
        changed = asyncio.Event()
        watcher = RepoWatcher(str(repo.root), changed.set)
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.3)  # let the inotify watches be placed
        await asyncio.to_thread(repo.write("README.md", "edited\n").commit, "Edit")
        try:
            await asyncio.wait_for(changed.wait(), timeout=10)
        finally:
            watcher.stop()
            await asyncio.wait_for(task, timeout=10)
        return changed.is_set()

    assert asyncio.run(scenario()) is True


@pytest.mark.slow
def test_working_tree_edits_that_are_not_commits_do_not_wake_the_watcher(repo: GitRepo) -> None:
    async def scenario() -> bool:
        changed = asyncio.Event()
        watcher = RepoWatcher(str(repo.root), changed.set)
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.3)
        await asyncio.to_thread(repo.write, "README.md", "edited, not committed\n")
        await asyncio.sleep(0.5)
        watcher.stop()
        await asyncio.wait_for(task, timeout=10)
        return changed.is_set()

    assert asyncio.run(scenario()) is False

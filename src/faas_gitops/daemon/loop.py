"""Daemon mode: run the very same ``sync_once()`` whenever something may have changed.

One asyncio loop holds everything: the sync loop (the only place that syncs, one sync at a
time), the triggers that wake it (``triggers.RepoWatcher`` for a local ``--repo``, a poll tick
every ``--interval``, a drift resync every ``--resync-interval``, ``POST /hooks/sync``, and a
retry with capped exponential backoff after a failed sync) and the HTTP server (``daemon.server``
under uvicorn, hardened by ``daemon.listener``). Triggers collapse in a size-1 ``Wakeup``; a watch
or poll wake-up that finds nothing changed does nothing, a webhook, resync or retry always syncs.
"Nothing changed" compares ``daemon.identity.watched_identity``: the synced commit, the tags on
it, the branch HEAD is on and the configuration branch's commit, so a tag on an already-synced
commit or a moved configuration branch syncs like a new commit does. One wake-up (``daemon.tick``)
resolves the ref once and syncs that very commit.

Each sync's ``/healthz`` deadline is the base allowance plus the deployment stage's bound for
the packages x environments it may touch (``daemon.policy.stuck_after``), worked out when the
sync starts.

One ``Session`` lives as long as the daemon, so the state cache (revisions by id, package
trees in sync), the package cache and the API connection pool are shared by every sync; so
does one ``Repository`` (held by ``daemon.tick``), fetched before each sync (``fetch()`` follows
a git-sync link swap). An
ordinary sync skips package directories unchanged since their last successful sync; the
resync is a *full* sync that asks the API about every package, which is what finds drift.

Shutdown is ordered (kopf, uvicorn): the first SIGTERM/SIGINT stops the triggers (the webhook
answers 503), lets the sync in flight finish for up to ``--shutdown-timeout`` seconds (its
creates complete and the ledger records them), then cancels it, stops the server and returns 0.
A second signal exits at once with ``128 + signal number`` (143 for SIGTERM, 130 for SIGINT),
the shell's convention for "killed by a signal". ``--max-failures N`` returns 1 after N
consecutive failed syncs, like git-sync's ``--max-failures``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from typing import Any

import prometheus_client
import structlog

from faas_gitops import logs
from faas_gitops.daemon.access import StatusToken, read_status_token, warn_if_open
from faas_gitops.daemon.listener import (
    ConnectionGuard,
    HttpServer,
    bind_socket,
    build_server,
    install_fd_exhaustion_handler,
    is_loopback,
)
from faas_gitops.daemon.metrics import Metrics
from faas_gitops.daemon.policy import read_webhook_secret, retry_delay, stuck_after
from faas_gitops.daemon.server import LoopState, create_app
from faas_gitops.daemon.status_source import PageSources, ledger_package, ledger_status
from faas_gitops.daemon.statuspage import PackagePage, StatusSnapshot
from faas_gitops.daemon.tick import Tick
from faas_gitops.daemon.triggers import RepoWatcher, Wake, Wakeup
from faas_gitops.errors import ConfigError
from faas_gitops.notify import Notifier
from faas_gitops.reconcile.notifying import notifier_for
from faas_gitops.reconcile.session import Session
from faas_gitops.settings import Settings
from faas_gitops.source.mirror import safe_url

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1  # --max-failures reached
EXIT_USAGE = 2  # --listen unusable, webhook secret or status token unreadable
#: Triggers logged at debug level: the poll tick fires every --interval and usually finds nothing.
_QUIET_REASONS = frozenset({"poll"})


class Daemon:
    """Triggers, the sync loop, the failure budget and the ordered shutdown."""

    def __init__(self, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.wakeup = Wakeup()
        self.state = LoopState(
            unready_after=settings.loop.unready_after, stuck_after=stuck_after(settings)
        )
        self.tick = Tick(settings, self.state, self.metrics)
        self.exit_code = EXIT_OK
        self._stop = asyncio.Event()
        self._signals = 0
        self._last_full_at = time.monotonic()
        self._retry: asyncio.TimerHandle | None = None
        self._current: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: RepoWatcher | None = None
        self.notifier: Notifier | None = None  # built once at start, closed at shutdown
        self.status_token: StatusToken | None = None  # read once at start

    # ----------------------------------------------------------------------- lifecycle
    async def run(self) -> int:
        settings = self.settings
        try:
            secret = read_webhook_secret(settings)
            self.status_token = read_status_token(settings.loop.status_token_file)
            self.notifier = notifier_for(settings, on_result=self.metrics.count_notification)
            self.tick.notifier = self.notifier
            sock = bind_socket(settings.loop.listen)
        except ConfigError as exc:
            sys.stderr.write(f"faas-gitops: error: {logs.redact(str(exc))}\n")
            return EXIT_USAGE
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            async with Session.open(settings, observers=(self.metrics.observe_api,)) as session:
                self.tick.remember_from(session)
                return await self._serve(loop, sock, secret)
        finally:
            if self.notifier is not None:
                await self.notifier.drain(min(5.0, settings.loop.shutdown_timeout))
                await self.notifier.aclose()

    async def _serve(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, secret: bytes | None
    ) -> int:
        settings = self.settings
        app = create_app(
            self.state,
            self.metrics,
            self._on_webhook,
            webhook_secret=secret,
            status=self._status,
            package=self._package,
            status_token=self.status_token,
        )
        install_fd_exhaustion_handler(loop)
        guard = ConnectionGuard(metrics=self.metrics)
        server = build_server(app, guard)
        server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        sync_loop = self._spawn(self._sync_loop(), "sync-loop")
        self.state.loop_alive = lambda: not sync_loop.done()
        self._start_triggers()
        host, port = sock.getsockname()[:2]
        log.info(
            "daemon.started",
            listen=f"{host}:{port}",
            repo=safe_url(settings.git.repo),
            ref=settings.git.ref,
            path=settings.git.path or None,
            mode="poll" if settings.git.is_remote else "watch",
            interval_s=settings.loop.interval,
            resync_interval_s=settings.loop.resync_interval,
            webhook_signed=secret is not None,
            status_token=self.status_token is not None,
            dry_run=settings.dry_run,
        )
        if secret is None and not is_loopback(str(host)):
            log.warning(
                "daemon.webhook_unsigned",
                listen=f"{host}:{port}",
                detail="anyone who can reach this address can trigger syncs with POST "
                "/hooks/sync: set --webhook-secret-file, or listen on 127.0.0.1",
            )
        warn_if_open(str(host), port, loopback=is_loopback(str(host)), token=self.status_token)
        self._trigger("startup", force=True, full=True)  # drift made while we were down
        stop_waiter = asyncio.create_task(self._stop.wait())
        await asyncio.wait({stop_waiter, sync_loop}, return_when=asyncio.FIRST_COMPLETED)
        stop_waiter.cancel()
        if sync_loop.done() and not sync_loop.cancelled() and sync_loop.exception() is not None:
            log.error("daemon.loop_crashed", error=logs.redact(repr(sync_loop.exception())))
            self.exit_code = EXIT_FAILED
        abandoned = await self._shutdown(sync_loop, server, server_task)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        log.info("daemon.stopped", exit_code=self.exit_code, abandoned_sync=abandoned)
        if abandoned:
            # The cancelled sync may still own a worker thread (git), which asyncio.run would
            # wait for; nothing of ours is half-written (the ledger is written on this thread).
            os._exit(self.exit_code)
        return self.exit_code

    def _status(self) -> StatusSnapshot:
        """The status page's rows (called in a worker thread per request)."""
        return ledger_status(
            self._page_sources(),
            self.state,
            ref=self.tick.ref_name,
            seen_commit=self.tick.seen_commit,
            failing_since=self.tick.failing_since,
        )

    def _package(self, path: str) -> PackagePage | None:
        """One package's page (called in a worker thread per request)."""
        return ledger_package(self._page_sources(), path, plans=self.tick.plans)

    def _page_sources(self) -> PageSources:
        """Built per request: each sync replaces the names it read from the manifests."""
        settings = self.settings
        return PageSources(settings.state_dir, self.state.package_names, settings.commit_url)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.append(task)
        return task

    def _start_triggers(self) -> None:
        settings = self.settings
        if not settings.git.is_remote:
            self._watcher = RepoWatcher(settings.git.repo, self._on_watch)
            self._spawn(self._watcher.run(), "watcher")
        # A remote is fetched on every tick; a local repo is re-read in case events were missed
        # (network file systems, a watcher restarting after a swap).
        self._spawn(self._every(settings.loop.interval, "poll"), "poll")
        self._spawn(self._resync_timer(), "resync")

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals > 1:
            code = 128 + signum
            log.warning("daemon.forced_exit", signal=name, exit_code=code)
            os._exit(code)
        log.info("daemon.stopping", signal=name)
        self._request_stop()

    def _request_stop(self) -> None:
        self.state.accepting = False
        self.wakeup.close()
        if self._watcher is not None:
            self._watcher.stop()
        if self._retry is not None:
            self._retry.cancel()
        self._stop.set()

    async def _shutdown(
        self, sync_loop: asyncio.Task[None], server: HttpServer, server_task: asyncio.Task[None]
    ) -> bool:
        """Stop triggers, give the sync in flight its grace period, stop serving.

        Returns True when the sync had to be cancelled (the grace period ran out).
        """
        self._request_stop()
        for task in self._tasks:
            if task is not sync_loop:
                task.cancel()
        abandoned = False
        if not sync_loop.done():
            done, _ = await asyncio.wait({sync_loop}, timeout=self.settings.loop.shutdown_timeout)
            if not done:
                abandoned = self._current is not None and not self._current.done()
                log.warning(
                    "daemon.shutdown_timeout",
                    timeout_s=self.settings.loop.shutdown_timeout,
                    detail="cancelling the sync in flight; creates already answered are kept "
                    "and the next start adopts them",
                )
                if self._current is not None:
                    self._current.cancel()
                sync_loop.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await server_task
        if not abandoned:
            self.tick.close()  # an abandoned sync may still be reading the repository
        return abandoned

    # ----------------------------------------------------------------------- triggers
    def _trigger(self, reason: str, *, force: bool = False, full: bool = False) -> bool:
        if self.wakeup.closed:
            return False
        self.metrics.triggers.labels(reason=reason).inc()
        level = log.debug if reason in _QUIET_REASONS else log.info
        level("trigger.received", reason=reason)
        return self.wakeup.set(reason, force=force, full=full)

    def _on_watch(self) -> None:
        self._trigger("watch")

    def _on_webhook(self) -> bool:
        return self._trigger("webhook", force=True)

    async def _every(self, seconds: float, reason: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            self._trigger(reason)

    async def _resync_timer(self) -> None:
        """A full sync when none has run for ``--resync-interval``.

        Counted from the last full sync, not from a fixed tick, so a resync that was collapsed
        into another full sync is not followed by a second one right away.
        """
        interval = self.settings.loop.resync_interval
        while True:
            remaining = self._last_full_at + interval - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)
                continue
            self._last_full_at = time.monotonic()
            self._trigger("resync", full=True)

    def _schedule_retry(self) -> None:
        delay = retry_delay(self.state.consecutive_failures, self.settings.loop.interval)
        loop = asyncio.get_running_loop()
        self._retry = loop.call_later(delay, lambda: self._trigger("retry", force=True))
        log.info("sync.retry_scheduled", delay_s=delay, failures=self.state.consecutive_failures)

    # ----------------------------------------------------------------------- the sync loop
    async def _sync_loop(self) -> None:
        """The one place that syncs: wait for a wake-up, sync, repeat until closed."""
        while True:
            wake = await self.wakeup.wait()
            if wake is None:
                return
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
            self._current = asyncio.create_task(self._sync(wake), name=f"sync-{wake.reason}")
            # wait(), not await: cancelling this loop at shutdown must not cancel the sync;
            # the shutdown decides that separately, after the grace period.
            await asyncio.wait({self._current})
            self._current = None

    async def _sync(self, wake: Wake) -> None:
        started = time.monotonic()
        self.state.stuck_after = stuck_after(self.settings)  # until the deployments are counted
        self.state.sync_started = started
        if wake.full:
            self._last_full_at = started
        try:
            failed = await self.tick.run(wake, started)
        finally:
            self.state.sync_started = None
        if failed:
            self._after_failure()

    def _after_failure(self) -> None:
        limit = self.settings.loop.max_failures
        if limit is not None and self.state.consecutive_failures >= limit:
            log.error("daemon.max_failures", failures=self.state.consecutive_failures, limit=limit)
            self.exit_code = EXIT_FAILED
            self._request_stop()
            return
        if self.tick.refused:  # a signature does not heal on a timer: the next commit syncs
            log.info("sync.retry_waits_for_git", failures=self.state.consecutive_failures)
            return
        self._schedule_retry()


def run_daemon(settings: Settings) -> int:
    """Run until stopped; the exit code is documented in the module docstring and the README."""
    # ``*_created`` series double /metrics for a timestamp nobody graphs; this is our process.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    return asyncio.run(Daemon(settings).run())

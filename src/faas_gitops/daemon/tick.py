"""One daemon wake-up: fetch, resolve the ref once, skip what is already synced, or sync it.

The commit is resolved exactly once per wake-up (``identity.resolve_watched``); the same
``CommitInfo`` decides "already synced", is announced (GitHub ``pending``) and is what
``sync_once`` syncs, so a commit landing in between cannot make the three disagree.

After the sync, its result is recorded where the probes, the status page, the metrics and the
notifications read it. Whether the failure budget is spent, and when to retry, is the loop's
business: ``Tick.run`` only says whether the sync failed.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog

from faas_gitops import logs
from faas_gitops.daemon.drift import DriftTracker
from faas_gitops.daemon.identity import (
    BranchAdvisor,
    WatchedIdentity,
    deploy_scope,
    environment_configs,
    named_by_new_tag,
    resolve_watched,
)
from faas_gitops.daemon.metrics import Metrics
from faas_gitops.daemon.page.plans import PendingPlans
from faas_gitops.daemon.policy import stuck_after
from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.triggers import Wake
from faas_gitops.errors import FaasGitopsError
from faas_gitops.models import CommitInfo, DeployStatus, Status, SyncResult
from faas_gitops.notify import Notifier
from faas_gitops.reconcile.run import sync_once
from faas_gitops.reconcile.session import Session
from faas_gitops.reconcile.trust import Untrusted
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.state.ticks import record_failed_tick

log = structlog.get_logger(__name__)


class Tick:
    """Runs the daemon's syncs, one at a time, and keeps what the next one must know."""

    def __init__(self, settings: Settings, state: LoopState, metrics: Metrics) -> None:
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.session: Session | None = None
        self.notifier: Notifier | None = None
        self._last_ok: WatchedIdentity | None = None  # of the last successful sync
        # Of the commit --verify-signatures refused: synced again only when forced (webhook),
        # or once git changes; a timer retry cannot make its signature good.
        self._refused: WatchedIdentity | None = None
        self._advisor = BranchAdvisor()
        self._known_paths = 0  # packages of the last sync: what --prune may act on
        self._drift = DriftTracker()
        self._repository: Repository | None = None
        # For the status page: the newest commit resolved, the branch it was found on, when
        # the current run of failures began, and the plans of revisions still to be made.
        self.seen_commit: str | None = None
        self._branch: str | None = None
        self.failing_since: datetime | None = None
        self.plans = PendingPlans()

    def remember_from(self, session: Session) -> None:
        """Start from the record, so a restarted daemon knows what was already in sync.

        The last synced identity is not restored: the ledger has its commit but not the tags
        and configuration commit it was synced with, and the startup sync runs regardless.
        """
        self.session = session
        if session.ledger is not None:
            self._drift = DriftTracker(session.ledger.in_sync_commits())

    def close(self) -> None:
        """Close the repository (not while an abandoned sync may still be reading it)."""
        if self._repository is not None:
            self._repository.close()

    async def run(self, wake: Wake, started: float) -> bool:
        """Sync if ``wake`` asks to or git changed; True when a sync ran and failed."""
        settings = self.settings
        commit: CommitInfo | None = None
        identity: WatchedIdentity | None = None
        try:
            repository = await asyncio.to_thread(self._fetched_repository)
            resolved = await asyncio.to_thread(resolve_watched, repository, settings)
            identity = resolved.identity
            self.seen_commit = identity.commit or self.seen_commit
            self._branch = identity.branch
            if not wake.force and identity in (self._last_ok, self._refused):
                self.metrics.syncs_skipped.inc()
                log.debug("sync.skipped", reason=wake.reason, commit=identity.commit)
                return False
            to_sync = named_by_new_tag(resolved.to_sync(), identity, self._last_ok)
            self.state.stuck_after = await asyncio.to_thread(self.before_sync, repository, identity)
            commit = to_sync
            await self._announce_start(to_sync)
            result = await sync_once(
                settings,
                repository=repository,
                commit=to_sync,
                trigger=wake.reason,
                session=self.session,
                full=wake.full,
            )
        except Untrusted as exc:  # nothing written: unready with its line until git changes
            self._refuse(identity, str(exc))
            await self._errored(str(exc), started, commit, wake.reason)
            return True
        except FaasGitopsError as exc:
            self._refuse(None)
            await self._errored(str(exc), started, commit, wake.reason)
            return True
        except Exception as exc:  # the daemon keeps serving; the error is counted
            log.exception("sync.crashed")
            self._refuse(None)
            await self._errored(f"{type(exc).__name__}: {exc}", started, commit, wake.reason)
            return True
        self._refuse(None)  # the commit verified (or nothing is verified)
        return await self._finished(result, started, identity)

    @property
    def ref_name(self) -> str | None:
        """The ref by name for people: ``--ref``, else the branch HEAD was found on."""
        return self.settings.git.ref or self._branch

    @property
    def refused(self) -> bool:
        """Whether the last sync was refused by ``--verify-signatures`` (no timer retry)."""
        return self._refused is not None

    def _refuse(self, identity: WatchedIdentity | None, reason: str | None = None) -> None:
        """Remember the refused commit (and the reason ``/readyz`` gives), or forget it."""
        self._refused = identity
        self.state.refused = reason if identity is not None else None

    def _fetched_repository(self) -> Repository:
        """The daemon's one repository, opened on first use and brought up to date each time
        (a mirror is fetched; a swapped git-sync link is followed)."""
        if self._repository is None:
            self._repository = Repository.open(self.settings.git, self.settings.state_dir)
        else:
            self._repository.fetch()
        return self._repository

    def before_sync(self, repository: Repository, identity: WatchedIdentity) -> float:
        """Blocking git reads before a sync: the branch advice; returns its stuck deadline."""
        settings = self.settings
        configs = environment_configs(repository, identity, settings.git.path)
        self._advisor.check(identity, settings, configs)
        scope = deploy_scope(repository, identity, settings, configs)
        packages = scope.packages
        if settings.deploy.prune and scope.environments:
            packages += self._known_paths  # the removed ones are among the last sync's
        return stuck_after(settings, packages=packages, environments=scope.environments)

    async def _announce_start(self, commit: CommitInfo) -> None:
        """GitHub ``pending`` (and the like) for the commit about to sync."""
        if self.notifier is not None:
            envs = self.settings.deploy.environments
            await self.notifier.sync_started(commit.sha, commit.ref, environments=envs)

    async def _finished(
        self, result: SyncResult, started: float, identity: WatchedIdentity | None = None
    ) -> bool:
        drift_paths = self._drift.observe(result)
        self.plans.observe(result)
        if self.notifier is not None:
            await self.notifier.sync_finished(result, drift_paths=drift_paths)
        failed = [o.path for o in result.outcomes if o.status is Status.FAILED]
        state = self.state
        if result.ok:
            state.consecutive_failures = 0
            state.synced_once = True
            state.commit = result.commit
            state.last_success = datetime.now(UTC)
            state.last_error = None
            self.failing_since = None
            # The identity read before the sync; the sync synced that very commit, so it is
            # what is remembered (a commit landing meanwhile is the next wake-up's).
            same = identity is not None and identity.commit == result.commit
            self._last_ok = identity if same else None
        else:
            state.consecutive_failures += 1
            state.last_error = result.failure_line
            self.failing_since = self.failing_since or datetime.now(UTC)
            # What failed is now what the daemon reports: a move back to the last good commit
            # must sync (cheaply, it is warm) so the failure clears, not be skipped as known.
            self._last_ok = None
        state.failing_packages = failed
        state.failing_deployments = [
            f"{o.path}@{d.environment}"
            for o in result.outcomes
            for d in o.deployments
            if d.status is DeployStatus.FAILED
        ]
        state.package_names = {o.path: o.name for o in result.outcomes if o.name}
        self._known_paths = len(result.outcomes)
        self.metrics.record_sync(
            result,
            duration=time.monotonic() - started,
            drift=len(drift_paths),
            failures=state.consecutive_failures,
        )
        return not result.ok

    async def _errored(
        self, error: str, started: float, commit: CommitInfo | None = None, trigger: str = "sync"
    ) -> None:
        self._record_failed_tick(error, commit, trigger)
        self.failing_since = self.failing_since or datetime.now(UTC)
        if self.notifier is not None:
            # Before the ref resolved it is known only as it was given.
            sha, ref = (commit.sha, commit.ref) if commit else ("", self.settings.git.ref)
            await self.notifier.sync_failed(sha, ref or "HEAD", logs.redact(error))
        self.state.consecutive_failures += 1
        self.state.last_error = logs.redact(error)
        self._last_ok = None  # as in ``_finished``: the next wake-up must sync to clear it
        log.error("sync.failed", error=error, failures=self.state.consecutive_failures)
        self.metrics.record_error(
            duration=time.monotonic() - started, failures=self.state.consecutive_failures
        )

    def _record_failed_tick(self, error: str, commit: CommitInfo | None, trigger: str) -> None:
        """The ledger's row for a wake-up that stopped before a sync ran (``state.ticks``);
        never a second failure: a ledger that cannot take it is logged and left alone."""
        ledger = self.session.ledger if self.session is not None else None
        if ledger is None:
            return
        try:
            record_failed_tick(
                ledger,
                at=datetime.now(UTC),
                commit=commit.sha if commit else self.seen_commit,
                ref=commit.ref if commit else (self.ref_name or "HEAD"),
                trigger=trigger,
                error=logs.redact(error),
            )
        except Exception as exc:  # noqa: BLE001 - the sync's own error is what matters
            log.warning("sync.failed_tick_not_recorded", error=logs.redact(str(exc)))

    def count_drift(self, result: SyncResult) -> int:
        return len(self._drift.observe(result))


__all__ = ["Tick"]

"""What outlives one sync: the API client and the state stores.

``--sync-once`` opens a session for its one sync; the daemon opens one for its whole life, so
the connection pool and the caches serve every wake-up. Built in exactly one place
(``Session.open``), so nothing passes half-built clients around. The repository is not part of
it: ``--sync-once`` opens one for its sync, the daemon keeps one open and fetches it before each
sync (``Repository.fetch`` follows a git-sync symlink swapped to a new worktree).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import structlog

from faas_gitops import logs
from faas_gitops.api import ApiClient, Observer, RetryPolicy
from faas_gitops.errors import FaasGitopsError
from faas_gitops.settings import Settings
from faas_gitops.state.cache import StateCache
from faas_gitops.state.horizon import prune_state
from faas_gitops.state.ledger import Ledger

if TYPE_CHECKING:
    from faas_gitops.source.verify import SignatureVerifier

log = structlog.get_logger(__name__)

#: A daemon's session lives for weeks; its ledger is pruned when it starts and then daily.
PRUNE_EVERY_S = 24 * 3600.0


@dataclass(slots=True)
class Session:
    settings: Settings
    api: ApiClient
    cache: StateCache
    ledger: Ledger | None  # None for a dry run: it records nothing and needs no state dir
    verifier: SignatureVerifier | None = None  # --verify-signatures; None when off
    _pruned_at: float | None = field(default=None, init=False)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        observers: Sequence[Observer] = (),
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AsyncIterator[Session]:
        """Everything one or many syncs need, closed in reverse order on the way out."""
        # The keys first: unusable ones are a ConfigError before any file or request.
        verifier = _verifier(settings)
        async with AsyncExitStack() as stack:
            dry = settings.dry_run
            cache = StateCache(None if dry else settings.state_dir, settings.api.url)
            stack.callback(cache.close)
            ledger = None if dry else Ledger(settings.state_dir)
            if ledger is not None:
                stack.callback(ledger.close)
            api = await stack.enter_async_context(
                ApiClient.open(settings.api, observers=observers, transport=transport, retry=retry)
            )
            yield cls(settings, api, cache, ledger, verifier)

    async def prune_history(self) -> None:
        """Apply ``--history-days`` after a sync, at most once a day per session.

        In a worker thread (a big ledger takes a while, and the daemon's probes must not wait),
        and never a reason for the sync to fail: a ledger that cannot be pruned now is pruned
        by a later sync.
        """
        days = self.settings.history_days
        if self.ledger is None or days <= 0:
            return
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        before = datetime.now(UTC) - timedelta(days=days)
        try:
            pruned = await asyncio.to_thread(prune_state, self.ledger, before)
        except (sqlite3.Error, FaasGitopsError) as exc:
            log.warning("ledger.prune_failed", error=logs.redact(str(exc)))
            return
        if pruned.rows:
            log.info(
                "ledger.pruned",
                before=before.isoformat(),
                syncs=pruned.ledger.syncs,
                outcomes=pruned.ledger.outcomes,
                deployments=pruned.ledger.deployments,
                cached=sum(pruned.cache.values()),
                notifications=pruned.notifications,
            )


def _verifier(settings: Settings) -> SignatureVerifier | None:
    """``--verify-signatures``' verifier; ``None`` when off (the default) without loading the
    verification code (gpg, ssh-keygen, git's signature parsing) that a sync then never runs."""
    if settings.verify.mode == "off":
        return None
    from faas_gitops.source.verify import verifier_for  # noqa: PLC0415 - only when asked for

    return verifier_for(settings.verify)

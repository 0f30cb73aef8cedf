"""What outlives one sync: the API client and the state stores.

``--sync-once`` opens a session for its one sync; the daemon opens one for its whole life, so
the connection pool and the caches serve every wake-up. Built in exactly one place
(``Session.open``), so nothing passes half-built clients around. The repository is opened per
sync: under git-sync the checkout path is a symlink swapped to a new worktree on every commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from faas_gitops.api import ApiClient, Observer, RetryPolicy
from faas_gitops.settings import Settings
from faas_gitops.state.cache import StateCache
from faas_gitops.state.ledger import Ledger


@dataclass(slots=True)
class Session:
    settings: Settings
    api: ApiClient
    cache: StateCache
    ledger: Ledger | None  # None for a dry run: it records nothing and needs no state dir

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
            yield cls(settings, api, cache, ledger)

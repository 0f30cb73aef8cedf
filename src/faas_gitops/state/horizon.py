"""``--history-days`` applied to the whole state dir: one horizon for every store.

The ledger keeps what its questions still need (``state.retention``); the cache forgets rows no
sync used since the horizon (``state.cache_file.prune_cache``: it only saves requests); the
notification log forgets claims older than it (``state.sent.prune_sent``). A store that does
not exist yet is left alone (pruning creates nothing); a damaged cache or log is skipped: its
own opener reports or replaces it when it is next used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from faas_gitops.state.cache_file import CACHE, prune_cache
from faas_gitops.state.db import Connection, Damaged, StoreSpec, open_store
from faas_gitops.state.ledger import Ledger
from faas_gitops.state.retention import Pruned
from faas_gitops.state.sent import SENT_LOG, prune_sent


@dataclass(frozen=True, slots=True)
class StatePruned:
    """What one pruning of the state dir removed, per store."""

    ledger: Pruned
    cache: dict[str, int]  # rows by table: revisions, packages, deployments
    notifications: int

    @property
    def rows(self) -> int:
        return self.ledger.rows + sum(self.cache.values()) + self.notifications


def prune_state(ledger: Ledger, before: datetime) -> StatePruned:
    """Forget what is older than ``before`` in the ledger and in the stores beside it."""
    directory = ledger.path.parent
    kept_ledger = ledger.prune(before)
    cache: dict[str, int] = {}
    with _opened(directory, CACHE) as db:
        if db is not None:
            cache = prune_cache(db.conn, before)
    notifications = 0
    with _opened(directory, SENT_LOG) as db:
        if db is not None:
            notifications = prune_sent(db.conn, before)
    return StatePruned(kept_ledger, cache, notifications)


@contextmanager
def _opened(directory: Path, spec: StoreSpec) -> Iterator[Connection | None]:
    """The store if its file exists and is usable, else ``None``; closed on the way out."""
    if not (directory / spec.filename).is_file():
        yield None
        return
    try:
        db = open_store(directory, spec)
    except Damaged:
        yield None
        return
    try:
        yield db
    finally:
        db.close()

"""Everything faas-gitops remembers in the state directory, behind one SQLite opener.

``Ledger`` is the record (journaled as things happen; ``Ledger.open_readonly`` for readers);
``StateCache`` holds what only saves requests (revision functions, package trees as last in
sync, deployment ids); ``state.sent`` remembers which notifications went out. ``prune_state``
applies ``--history-days`` to all of them.
"""

from faas_gitops.state.cache import StateCache, SyncedPackage
from faas_gitops.state.cache_file import CACHE_FILENAME
from faas_gitops.state.history import LedgerEntry
from faas_gitops.state.horizon import StatePruned, prune_state
from faas_gitops.state.ledger import (
    APPLICATION_ID,
    LEDGER_FILENAME,
    Ledger,
    LedgerReader,
    PendingWrite,
)

__all__ = [
    "APPLICATION_ID",
    "CACHE_FILENAME",
    "LEDGER_FILENAME",
    "Ledger",
    "LedgerEntry",
    "LedgerReader",
    "PendingWrite",
    "StateCache",
    "StatePruned",
    "SyncedPackage",
    "prune_state",
]

"""Everything faas-gitops remembers in the state directory, behind one SQLite opener.

``Ledger`` is the record (journaled as things happen); ``StateCache`` holds what only saves
requests (revision functions, package trees as last in sync, deployment ids).
"""

from faas_gitops.state.cache import CACHE_FILENAME, StateCache, SyncedPackage
from faas_gitops.state.history import LedgerEntry
from faas_gitops.state.ledger import APPLICATION_ID, LEDGER_FILENAME, Ledger, PendingWrite

__all__ = [
    "APPLICATION_ID",
    "CACHE_FILENAME",
    "LEDGER_FILENAME",
    "Ledger",
    "LedgerEntry",
    "PendingWrite",
    "StateCache",
    "SyncedPackage",
]

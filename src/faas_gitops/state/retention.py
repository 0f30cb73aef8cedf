"""How long the ledger keeps its rows: ``--history-days``, never what a question still needs.

A daemon with 1,000 packages and the default 10-minute drift resync records 144,000 outcome
rows a day, nearly all ``unchanged``; unpruned, the ledger grows by gigabytes a year and every
"newest row per package" query slows with it. So rows of syncs that started before the horizon
go, except the rows the record's questions still return:

- a ``pending`` create (the journal must still settle it);
- the newest outcome of every path (overall, of real syncs, of finished real syncs) and its
  newest outcome with a revision id (``status``, the daemon's drift memory, the status page);
- the newest deployment row of every path and environment (overall and of each step):
  what runs where;
- the newest finished real sync (per ref, and of a clean one per ref): where a restarted
  daemon starts from.

A sync row goes once none of its rows is left. Pruning is one transaction: readers in other
processes see the ledger before or after it, never half of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from faas_gitops.state.db import transaction

_OLD_SYNCS = "SELECT id FROM syncs WHERE started_at < :cutoff"

_KEPT_OUTCOMES = """
    SELECT max(id) FROM outcomes GROUP BY path
    UNION SELECT max(id) FROM outcomes WHERE revision_id IS NOT NULL GROUP BY path
    UNION SELECT max(o.id) FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id
          WHERE s.dry_run = 0 GROUP BY o.path
    UNION SELECT max(o.id) FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id
          WHERE s.dry_run = 0 AND s.completed = 1 GROUP BY o.path
"""

_KEPT_DEPLOYMENTS = """
    SELECT max(id) FROM deployments GROUP BY path, environment
    UNION SELECT max(id) FROM deployments GROUP BY path, environment, step
"""

_KEPT_SYNCS = """
    SELECT max(id) FROM syncs WHERE dry_run = 0 AND completed = 1
    UNION SELECT max(id) FROM syncs WHERE dry_run = 0 AND completed = 1 GROUP BY ref
    UNION SELECT max(id) FROM syncs
          WHERE dry_run = 0 AND completed = 1 AND failed = 0 AND fatal_error IS NULL GROUP BY ref
"""


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pruning removed."""

    syncs: int
    outcomes: int
    deployments: int

    @property
    def rows(self) -> int:
        return self.syncs + self.outcomes + self.deployments


def prune(conn: sqlite3.Connection, cutoff: str) -> Pruned:
    """Remove what started before ``cutoff`` (``to_utc_text``) and no question needs.

    The caller holds the connection's lock; this runs in one ``BEGIN IMMEDIATE`` transaction.
    """
    params = {"cutoff": cutoff}
    with transaction(conn):
        outcomes = conn.execute(
            f"DELETE FROM outcomes WHERE sync_id IN ({_OLD_SYNCS}) AND status != 'pending'"  # noqa: S608 - constant SQL
            f" AND id NOT IN ({_KEPT_OUTCOMES})",
            params,
        ).rowcount
        deployments = conn.execute(
            f"DELETE FROM deployments WHERE sync_id IN ({_OLD_SYNCS})"  # noqa: S608 - constant SQL
            f" AND id NOT IN ({_KEPT_DEPLOYMENTS})",
            params,
        ).rowcount
        syncs = conn.execute(
            f"DELETE FROM syncs WHERE id IN ({_OLD_SYNCS}) AND id NOT IN ({_KEPT_SYNCS})"  # noqa: S608 - constant SQL
            " AND NOT EXISTS (SELECT 1 FROM outcomes AS o WHERE o.sync_id = syncs.id)"
            " AND NOT EXISTS (SELECT 1 FROM deployments AS d WHERE d.sync_id = syncs.id)",
            params,
        ).rowcount
    return Pruned(syncs=syncs, outcomes=outcomes, deployments=deployments)

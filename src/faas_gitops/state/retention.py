"""How long the ledger keeps its rows: ``--history-days``, never what a question still needs.

A daemon with 1,000 packages and the default 10-minute drift resync records 144,000 outcome
rows a day, nearly all ``unchanged``; unpruned, the ledger grows by gigabytes a year and every
"newest row per package" query slows with it. So rows of syncs that started before the horizon
go, except the rows the record's questions still return:

- a ``pending`` create (the journal must still settle it);
- the newest outcome of every path (overall, of real syncs, of finished real syncs) and its
  newest outcome with a revision id (``status``, the daemon's drift memory, the status page);
- the newest deployment row of every path and environment (overall and of each step);
- what runs where, with the correlation IDs that explain it: per path and environment the
  newest ``result`` that left a revision running (``deployed`` or ``in-sync``) and the newest
  ``deployed`` one (the sync that put a revision there), each with every row of its sync for
  that path and environment (the steps: ``create``, ``start``, ``rolling-update``,
  ``running``...); per path the newest ``created``/``adopted`` row, and that of every revision
  still running (which may be older than the package's newest);
- the newest finished real sync (per ref, and of a clean one per ref): where a restarted
  daemon starts from; and the newest sync of all, dry or not (the history's first line).

A sync row goes once none of its rows is left. The deletes are one transaction: readers in
other processes see the ledger before or after them, never half of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from faas_gitops.state.db import StoreSpec, open_store, transaction

_OLD_SYNCS = "SELECT id FROM syncs WHERE started_at < :cutoff"

# Per path and environment, the results that say what runs there: the newest that knew what
# ran (a frozen, held or failed result names it as its previous revision: the views fall back
# to it when a newer result could not read it), the newest that left a revision running, and
# the newest that deployed one (an in-sync result's revision was put there by an earlier sync,
# whose rows hold the deploy's correlation IDs); the last two of real syncs only. (The first
# is the one ``HistoryQueries._running_deployments`` falls back to, whatever the sync.)
_KEEP_RUNNING = """
    WITH results AS (
        SELECT d.id, d.path, d.environment, d.status, s.dry_run
        FROM deployments AS d JOIN syncs AS s ON s.id = d.sync_id
        WHERE d.step = 'result'
          AND (d.status IN ('deployed', 'in-sync') OR d.previous_revision_name IS NOT NULL)
    )
    INSERT OR IGNORE INTO running (id)
    SELECT id FROM (
        SELECT max(id) AS id FROM results GROUP BY path, environment
        UNION SELECT max(id) FROM results WHERE dry_run = 0 AND status IN ('deployed', 'in-sync')
            GROUP BY path, environment
        UNION SELECT max(id) FROM results WHERE dry_run = 0 AND status = 'deployed'
            GROUP BY path, environment
    ) WHERE id IS NOT NULL
"""

# One pass over outcomes (joined to their syncs) for all four "newest per path" questions.
_KEEP_OUTCOMES = """
    WITH newest AS (
        SELECT max(o.id) AS any_row,
               max(CASE WHEN o.revision_id IS NOT NULL THEN o.id END) AS with_revision,
               max(CASE WHEN s.dry_run = 0 THEN o.id END) AS real_sync,
               max(CASE WHEN s.dry_run = 0 AND s.completed = 1 THEN o.id END) AS finished,
               max(CASE WHEN s.dry_run = 0 AND o.status IN ('created', 'adopted')
                        THEN o.id END) AS made
        FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id GROUP BY o.path
    )
    INSERT OR IGNORE INTO kept_outcomes (id)
    SELECT id FROM (
        SELECT any_row AS id FROM newest UNION SELECT with_revision FROM newest
        UNION SELECT real_sync FROM newest UNION SELECT finished FROM newest
        UNION SELECT made FROM newest
    ) WHERE id IS NOT NULL
"""

# The creation of each revision still running. Rows that made a revision are few, so a plain
# scan (NOT INDEXED: walking outcomes_by_path would visit every row through the index) that
# probes the running revisions' list beats any grouping of the whole table.
_KEEP_RUNNING_REVISIONS = """
    INSERT OR IGNORE INTO kept_outcomes (id)
    SELECT max(o.id) FROM outcomes AS o NOT INDEXED CROSS JOIN syncs AS s
    WHERE o.status IN ('created', 'adopted') AND s.id = o.sync_id AND s.dry_run = 0
      AND (o.path, o.revision_id) IN (
          SELECT path, revision_id FROM deployments
          WHERE id IN (SELECT id FROM running) AND revision_id IS NOT NULL
      )
    GROUP BY o.path, o.revision_id
"""

# The newest row per path, environment and step is also the newest per path and environment.
# (A NULL must never reach these INTEGER PRIMARY KEY columns: SQLite would make it a new id.)
_KEEP_DEPLOYMENTS = """
    INSERT OR IGNORE INTO kept_deployments (id)
    SELECT max(id) FROM deployments GROUP BY path, environment, step
"""

# Those results and every row of their sync for the same path and environment. The sync's rows
# lie between its first and last deployment row: a range of deployments_by_path, not a walk
# through all of the sync's rows (``+`` keeps the planner off deployments_by_sync for that).
_KEEP_RUNNING_STEPS = """
    WITH bounds AS (
        SELECT r.path, r.environment, r.sync_id,
               (SELECT min(f.id) FROM deployments AS f WHERE f.sync_id = r.sync_id) AS first,
               (SELECT max(f.id) FROM deployments AS f WHERE f.sync_id = r.sync_id) AS last
        FROM deployments AS r WHERE r.id IN (SELECT id FROM running)
    )
    INSERT OR IGNORE INTO kept_deployments (id)
    SELECT d.id FROM bounds AS b JOIN deployments AS d
        ON d.path = b.path AND d.environment = b.environment AND d.id BETWEEN b.first AND b.last
    WHERE +d.sync_id = b.sync_id
"""

_KEEP_SYNCS = """
    INSERT OR IGNORE INTO kept_syncs (id)
    SELECT id FROM (
        SELECT max(id) AS id FROM syncs
        UNION SELECT max(id) FROM syncs WHERE dry_run = 0 AND completed = 1
        UNION SELECT max(id) FROM syncs WHERE dry_run = 0 AND completed = 1 GROUP BY ref
        UNION SELECT max(id) FROM syncs
              WHERE dry_run = 0 AND completed = 1 AND failed = 0 AND fatal_error IS NULL
              GROUP BY ref
    ) WHERE id IS NOT NULL
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


def prune(directory: Path, spec: StoreSpec, cutoff: str) -> Pruned:
    """Remove what started before ``cutoff`` (``to_utc_text``) and no question needs.

    On a connection of its own (the ledger's ``spec``, through the one opener): what to keep is
    computed from a read snapshot (WAL: no lock, other processes and this one's ledger object go
    on writing), then the deletes take the write lock for their own short transaction. Rows
    written in between are newer than every candidate, so the kept set can only be larger than
    needed, never too small.
    """
    db = open_store(directory, spec)
    conn = db.conn
    try:
        # Every delete below is of an old sync's rows: with none (a young state dir, as on a
        # CI runner), computing what to keep (~30 ms at 1,000 packages) would decide nothing.
        old = conn.execute(f"SELECT EXISTS ({_OLD_SYNCS})", {"cutoff": cutoff}).fetchone()[0]
        if not old:
            return Pruned(syncs=0, outcomes=0, deployments=0)
        for table in ("running", "kept_outcomes", "kept_deployments", "kept_syncs"):
            conn.execute(f"CREATE TEMP TABLE {table} (id INTEGER PRIMARY KEY)")
        conn.execute("BEGIN")  # one read snapshot for the kept sets
        for statement in (
            _KEEP_RUNNING,
            _KEEP_OUTCOMES,
            _KEEP_RUNNING_REVISIONS,
            _KEEP_DEPLOYMENTS,
            _KEEP_RUNNING_STEPS,
            _KEEP_SYNCS,
        ):
            conn.execute(statement)
        conn.execute("COMMIT")
        return _delete(conn, {"cutoff": cutoff})
    finally:
        db.close()


def _delete(conn: sqlite3.Connection, params: dict[str, str]) -> Pruned:
    with transaction(conn):
        outcomes = conn.execute(
            f"DELETE FROM outcomes WHERE sync_id IN ({_OLD_SYNCS}) AND status != 'pending'"  # noqa: S608 - constant SQL
            " AND id NOT IN (SELECT id FROM kept_outcomes)",
            params,
        ).rowcount
        deployments = conn.execute(
            f"DELETE FROM deployments WHERE sync_id IN ({_OLD_SYNCS})"  # noqa: S608 - constant SQL
            " AND id NOT IN (SELECT id FROM kept_deployments)",
            params,
        ).rowcount
        syncs = conn.execute(
            f"DELETE FROM syncs WHERE id IN ({_OLD_SYNCS})"  # noqa: S608 - constant SQL
            " AND id NOT IN (SELECT id FROM kept_syncs)"
            " AND NOT EXISTS (SELECT 1 FROM outcomes AS o WHERE o.sync_id = syncs.id)"
            " AND NOT EXISTS (SELECT 1 FROM deployments AS d WHERE d.sync_id = syncs.id)",
            params,
        ).rowcount
    return Pruned(syncs=syncs, outcomes=outcomes, deployments=deployments)

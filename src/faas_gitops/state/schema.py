"""The ledger's schema history. ``LEDGER_MIGRATIONS[i]`` takes version ``i`` to ``i + 1``.

Append only: a released migration is never edited, so every old ledger upgrades the same way.
"""

from __future__ import annotations

LEDGER_MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE syncs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        commit_sha    TEXT    NOT NULL,
        ref           TEXT    NOT NULL,
        dry_run       INTEGER NOT NULL,
        trigger_name  TEXT    NOT NULL,
        started_at    TEXT    NOT NULL,
        finished_at   TEXT    NOT NULL,
        total         INTEGER NOT NULL,
        created       INTEGER NOT NULL,
        unchanged     INTEGER NOT NULL,
        would_create  INTEGER NOT NULL,
        failed        INTEGER NOT NULL,
        fatal_error   TEXT
    );
    CREATE TABLE outcomes (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id        INTEGER NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
        path           TEXT    NOT NULL,
        package_id     TEXT,
        status         TEXT    NOT NULL,
        revision_name  TEXT,
        revision_id    TEXT,
        correlation_id TEXT,
        error          TEXT
    );
    CREATE INDEX outcomes_by_sync ON outcomes (sync_id);
    CREATE INDEX outcomes_by_path ON outcomes (path, sync_id);
    CREATE INDEX outcomes_by_package_id ON outcomes (package_id, sync_id);
    CREATE INDEX syncs_by_ref ON syncs (ref, id);
    """,
    # 1 -> 2: the journal (pending rows, adopted, syncs that are still running or were killed),
    # manifest names for people, and deployment steps.
    """
    ALTER TABLE syncs ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE syncs ADD COLUMN completed INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE outcomes ADD COLUMN name TEXT;
    ALTER TABLE outcomes ADD COLUMN digest TEXT;
    ALTER TABLE outcomes ADD COLUMN lookup_correlation_id TEXT;
    CREATE INDEX outcomes_pending ON outcomes (status) WHERE status = 'pending';
    CREATE INDEX outcomes_by_name ON outcomes (name, sync_id);
    CREATE TABLE deployments (
        id                     INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id                INTEGER NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
        path                   TEXT    NOT NULL,
        package_id             TEXT,
        environment            TEXT    NOT NULL,
        keyset_id              INTEGER NOT NULL,
        step                   TEXT    NOT NULL,
        status                 TEXT    NOT NULL,
        revision_name          TEXT,
        revision_id            TEXT,
        deployment_id          TEXT,
        previous_deployment_id TEXT,
        previous_revision_name TEXT,
        correlation_id         TEXT,
        error                  TEXT,
        recorded_at            TEXT    NOT NULL
    );
    CREATE INDEX deployments_by_sync ON deployments (sync_id);
    CREATE INDEX deployments_by_environment ON deployments (environment, sync_id);
    CREATE INDEX deployments_by_path ON deployments (path, environment, id)
    """,
    # 2 -> 3: a deployment row's human reason (frozen until, held since, skipped why) and
    # whether a pin chose its revision.
    """
    ALTER TABLE deployments ADD COLUMN note TEXT;
    ALTER TABLE deployments ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
    """,
    # 3 -> 4: who signed the synced commit (--verify-signatures): the key's fingerprint, an
    # OpenPGP 40-hex or an SSH SHA256:...; NULL when nothing was verified.
    """
    ALTER TABLE syncs ADD COLUMN verified_by TEXT;
    """,
    # 4 -> 5: syncs that stopped before running (a configuration typo, the API down), one
    # line each, for the status page (``state.ticks``).
    """
    CREATE TABLE failed_ticks (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        at           TEXT    NOT NULL,
        commit_sha   TEXT,
        ref          TEXT    NOT NULL,
        trigger_name TEXT    NOT NULL,
        error        TEXT    NOT NULL
    );
    CREATE INDEX failed_ticks_by_at ON failed_ticks (at)
    """,
    # 5 -> 6: indexes for ``history`` (state/timeline.py): a sync's deployment results by
    # status (is this sync quiet?) without reading every row, and any recorded correlation ID
    # found without a scan (``history --correlation-id``). Partial: most rows carry none.
    """
    CREATE INDEX deployments_by_sync_step ON deployments (sync_id, step, status);
    CREATE INDEX deployments_by_correlation ON deployments (correlation_id)
        WHERE correlation_id IS NOT NULL;
    CREATE INDEX outcomes_by_correlation ON outcomes (correlation_id)
        WHERE correlation_id IS NOT NULL;
    CREATE INDEX outcomes_by_lookup_correlation ON outcomes (lookup_correlation_id)
        WHERE lookup_correlation_id IS NOT NULL
    """,
)

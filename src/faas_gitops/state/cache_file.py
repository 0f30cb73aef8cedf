"""The cache's file, ``<state-dir>/cache.sqlite3``: its schema history, opening it, and what
others ask of it without a ``StateCache`` (retention, the ledger's first-run check).

A file that is really damaged (or is not a faas-gitops cache) is moved aside, only if no other
process has it open, and rebuilt; if it cannot be, the caller works from memory: losing the
cache costs requests, never correctness.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import structlog

from faas_gitops.errors import ConfigError
from faas_gitops.state.db import (
    Connection,
    Damaged,
    StoreSpec,
    open_or_move_aside,
    open_store,
    transaction,
)

log = structlog.get_logger(__name__)

CACHE_FILENAME = "cache.sqlite3"

#: Marks the file as a faas-gitops cache (``PRAGMA application_id``; ASCII "FGC1").
CACHE_APPLICATION_ID = 0x46474331

CACHE = StoreSpec(
    CACHE_FILENAME,
    CACHE_APPLICATION_ID,
    (
        # 0 -> 1: revision functions by id, package directories as last in sync, and the
        # deployment ids last seen per package and keyset.
        """
        CREATE TABLE revisions (
            api_url TEXT NOT NULL, revision_id TEXT NOT NULL, functions TEXT NOT NULL,
            PRIMARY KEY (api_url, revision_id)
        );
        CREATE TABLE packages (
            api_url TEXT NOT NULL, path TEXT NOT NULL, tree_id TEXT NOT NULL, package_id TEXT,
            revision_id TEXT, revision_name TEXT, name TEXT, PRIMARY KEY (api_url, path)
        );
        CREATE TABLE deployments (
            api_url TEXT NOT NULL, package_id TEXT NOT NULL, keyset_id INTEGER NOT NULL,
            deployment_id TEXT NOT NULL, PRIMARY KEY (api_url, package_id, keyset_id)
        )
        """,
        # 1 -> 2: when a sync last used each row (unix seconds), so retention can forget what
        # none used for longer than --history-days. Rows already there count as seen now.
        """
        ALTER TABLE revisions ADD COLUMN seen_at REAL;
        ALTER TABLE packages ADD COLUMN seen_at REAL;
        ALTER TABLE deployments ADD COLUMN seen_at REAL;
        UPDATE revisions SET seen_at = (julianday('now') - 2440587.5) * 86400.0;
        UPDATE packages SET seen_at = (julianday('now') - 2440587.5) * 86400.0;
        UPDATE deployments SET seen_at = (julianday('now') - 2440587.5) * 86400.0
        """,
        # 2 -> 3: the release stage's last read of a package's deployments (every keyset at
        # once, with the counters it was read under) replaces one deployment id per keyset,
        # which had to be fetched again to be believed.
        """
        DROP TABLE deployments;
        CREATE TABLE deployments (
            api_url TEXT NOT NULL, package_id TEXT NOT NULL, observed TEXT NOT NULL,
            seen_at REAL, PRIMARY KEY (api_url, package_id)
        )
        """,
    ),
    "cache",
)


def open_cache(directory: Path) -> Connection | None:
    """The cache file; a damaged one (or one that is not a faas-gitops cache) is moved aside
    (if unused) and rebuilt, else none."""
    return open_or_move_aside(
        directory,
        CACHE,
        event="cache.unusable",
        without="this run works without the cache (more requests, the same result)",
        damaged=lambda exc: "not a faas-gitops cache" in str(exc),
    )


def remembers_syncs(directory: Path) -> bool:
    """Whether ``directory`` holds a cache that remembers a package in sync (so syncs ran here
    before). Reads only: creates nothing, takes no write lock; a cache it cannot read says no."""
    if not (directory / CACHE_FILENAME).is_file():
        return False
    try:
        db = open_store(directory, CACHE, readonly=True)
    except (Damaged, ConfigError):
        return False
    try:
        return db.conn.execute("SELECT 1 FROM packages LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        db.close()


def prune_cache(conn: sqlite3.Connection, before: datetime) -> dict[str, int]:
    """Forget rows no sync used since ``before`` (they only ever saved requests); the rows
    removed, by table.

    The revision a remembered package is in sync with stays while that package does (a warm
    sync never reads it, a full one will), so dropping rows costs a later run requests at most.
    """
    cutoff = (before.timestamp(),)
    with transaction(conn):  # committed on the way out of the block
        return {
            table: conn.execute(sql, cutoff).rowcount
            for table, sql in (
                ("packages", "DELETE FROM packages WHERE seen_at < ?"),
                (
                    "revisions",
                    "DELETE FROM revisions WHERE seen_at < ? AND NOT EXISTS (SELECT 1 FROM"
                    " packages AS p WHERE p.api_url = revisions.api_url"
                    " AND p.revision_id = revisions.revision_id)",
                ),
                ("deployments", "DELETE FROM deployments WHERE seen_at < ?"),
            )
        }

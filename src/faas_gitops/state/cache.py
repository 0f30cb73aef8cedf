"""What a sync may remember between runs, in ``<state-dir>/cache.sqlite3``.

Two things, both pure optimisations that a fresh CI runner simply does without:

* **revision functions by id**: revisions are immutable, so once a revision's functions were
  fetched (or created by us) they never need fetching again;
* **the last synced state of each package directory**: its git tree id and the revision it was
  in sync with. A directory whose tree id has not changed since a successful sync needs no API
  call at all (the warm shortcut); a full sync (``--full-sync``, the daemon's drift resync)
  ignores it and asks the API;
* **what the release stage last read of each package's deployments**, with the revision
  list's counters it was read under (an opaque text the release stage writes and reads, see
  ``deploy/observe.py``): trusted only while the counters agree.

Entries are keyed by API URL too, so one state dir used against two APIs (the emulator and the
real one) never mixes them. Writes are buffered and flushed in one transaction per batch. A file
that is really damaged is moved aside (only if no other process has it open) and rebuilt; if it
cannot be, this run works from memory: losing the cache costs requests, never correctness.

Every row carries ``seen_at``, refreshed (at most hourly, with the next flush) whenever a sync
uses it, so ``--history-days`` can forget what no sync used for longer than the horizon: the
revisions of packages long gone, the directories removed from git (``prune_cache``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import structlog

from faas_gitops.errors import ConfigError
from faas_gitops.models import FunctionSpec, Outcome, PackageRef, Status
from faas_gitops.state.db import (
    Connection,
    Damaged,
    StoreSpec,
    move_aside_if_unused,
    open_store,
    transaction,
)

log = structlog.get_logger(__name__)

_K = TypeVar("_K")

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

#: A row's ``seen_at`` older than this is refreshed when a sync uses the row; younger, it is
#: left alone, so a sync that uses every row writes none of them.
TOUCH_AFTER_S = 3600.0


@dataclass(frozen=True, slots=True)
class SyncedPackage:
    """A package directory as it was when it was last known to be in sync."""

    tree_id: str
    package_id: str | None
    revision_id: str | None
    revision_name: str | None
    name: str | None = None  # the manifest's name, for people


def _encode(functions: Sequence[FunctionSpec]) -> str:
    return json.dumps([fn.to_api() for fn in functions], separators=(",", ":"))


def _decode(text: str) -> tuple[FunctionSpec, ...]:
    return tuple(
        FunctionSpec(
            name=item["name"],
            type=item["type"],
            code=item["code"],
            language=item["language"],
            sort_order=item["sortOrder"],
            config=item["config"],
        )
        for item in json.loads(text)
    )


class StateCache:
    """Revision functions and package sync state; an in-memory layer over an optional file.

    ``StateCache(None, url)`` is memory only (dry runs, tests); the daemon keeps one for its
    whole life so the memory layer also saves the file reads.
    """

    def __init__(self, state_dir: Path | None, api_url: str) -> None:
        self._api_url = api_url
        self._lock = threading.Lock()
        self._revisions: dict[str, tuple[FunctionSpec, ...]] = {}
        self._pending_revisions: dict[str, tuple[FunctionSpec, ...]] = {}
        self._packages: dict[str, SyncedPackage] | None = None
        self._pending_packages: dict[str, SyncedPackage | None] = {}
        self._observed: dict[str, str] | None = None
        self._pending_observed: dict[str, str | None] = {}
        self._observed_seen: dict[str, float] = {}
        # When the file says each row was last used, and the rows used since that are stale.
        self._revision_seen: dict[str, float] = {}
        self._package_seen: dict[str, float] = {}
        self._touched_revisions: set[str] = set()
        self._touched_packages: set[str] = set()
        self._touched_observed: set[str] = set()
        self._db: Connection | None = None
        if state_dir is not None:
            self._db = _open(Path(state_dir))
        self._conn: sqlite3.Connection | None = self._db.conn if self._db else None

    # ---- revisions (the RevisionCache protocol) ------------------------------------------
    def get(self, revision_id: str) -> tuple[FunctionSpec, ...] | None:
        with self._lock:
            found = self._revisions.get(revision_id)
            if found is not None or self._conn is None:
                self._use(self._revision_seen, revision_id, self._touched_revisions)
                return found
            row = self._conn.execute(
                "SELECT functions, seen_at FROM revisions WHERE api_url = ? AND revision_id = ?",
                (self._api_url, revision_id),
            ).fetchone()
            if row is None:
                return None
            functions = _decode(row[0])
            self._revisions[revision_id] = functions
            self._revision_seen[revision_id] = row[1] or 0.0
            self._use(self._revision_seen, revision_id, self._touched_revisions)
            return functions

    def put(self, revision_id: str, functions: Sequence[FunctionSpec]) -> None:
        with self._lock:
            if revision_id in self._revisions:
                self._use(self._revision_seen, revision_id, self._touched_revisions)
                return
            frozen = tuple(functions)
            self._revisions[revision_id] = frozen
            self._pending_revisions[revision_id] = frozen

    # ---- package state ---------------------------------------------------------------------
    def synced(self, path: str) -> SyncedPackage | None:
        with self._lock:
            return self._load_packages().get(path)

    def synced_packages(self) -> dict[str, SyncedPackage]:
        """Every package directory known to be in sync, by path (a copy)."""
        with self._lock:
            return dict(self._load_packages())

    def remember(self, refs: Iterable[PackageRef], outcomes: Iterable[Outcome]) -> None:
        """After a real sync: in-sync packages are remembered, failed ones forgotten."""
        by_path = {ref.path: ref for ref in refs}
        with self._lock:
            known = self._load_packages()
            for outcome in outcomes:
                package = by_path.get(outcome.path)
                state: SyncedPackage | None = None
                if (
                    package is not None
                    and package.tree_id
                    and outcome.status
                    in (
                        Status.CREATED,
                        Status.ADOPTED,
                        Status.UNCHANGED,
                    )
                ):
                    state = SyncedPackage(
                        package.tree_id,
                        outcome.package_id,
                        outcome.revision_id,
                        outcome.revision_name,
                        outcome.name,
                    )
                if known.get(outcome.path) == state:
                    self._use(self._package_seen, outcome.path, self._touched_packages)
                    continue
                if state is None:
                    known.pop(outcome.path, None)
                else:
                    known[outcome.path] = state
                self._pending_packages[outcome.path] = state

    def _load_packages(self) -> dict[str, SyncedPackage]:
        if self._packages is None:
            self._packages = {}
            if self._conn is not None:
                rows = self._conn.execute(
                    "SELECT path, tree_id, package_id, revision_id, revision_name, name, seen_at"
                    " FROM packages WHERE api_url = ?",
                    (self._api_url,),
                ).fetchall()
                self._packages = {row[0]: SyncedPackage(*row[1:6]) for row in rows}
                self._package_seen = {row[0]: row[6] or 0.0 for row in rows}
        return self._packages

    @staticmethod
    def _use(seen: dict[_K, float], key: _K, touched: set[_K]) -> None:
        """A row read from the file was used: refresh its ``seen_at`` if it is stale."""
        stamp = seen.get(key)
        if stamp is not None and time.time() - stamp > TOUCH_AFTER_S:
            touched.add(key)

    # ---- persistence -----------------------------------------------------------------------
    def flush(self) -> None:
        """Write what this sync learned (and which stale rows it used), in one transaction."""
        with self._lock:
            if self._conn is None or not (
                self._pending_revisions
                or self._pending_packages
                or self._touched_revisions
                or self._touched_packages
                or self._pending_observed
                or self._touched_observed
            ):
                return
            now = time.time()
            try:
                with transaction(self._conn):
                    self._write(self._conn, now)
            except sqlite3.Error as exc:
                log.warning("cache.write_failed", error=str(exc))
            else:
                for rid in (*self._pending_revisions, *self._touched_revisions):
                    self._revision_seen[rid] = now
                for path in (*self._pending_packages, *self._touched_packages):
                    self._package_seen[path] = now
                for package_id in (*self._pending_observed, *self._touched_observed):
                    self._observed_seen[package_id] = now
            self._pending_revisions.clear()
            self._pending_packages.clear()
            self._pending_observed.clear()
            self._touched_revisions.clear()
            self._touched_packages.clear()
            self._touched_observed.clear()

    def _write(self, conn: sqlite3.Connection, now: float) -> None:
        url = self._api_url
        conn.executemany(
            "INSERT OR IGNORE INTO revisions (api_url, revision_id, functions, seen_at)"
            " VALUES (?, ?, ?, ?)",
            [(url, rid, _encode(fns), now) for rid, fns in self._pending_revisions.items()],
        )
        for path, state in self._pending_packages.items():
            if state is None:
                conn.execute("DELETE FROM packages WHERE api_url = ? AND path = ?", (url, path))
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO packages (api_url, path, tree_id, package_id,"
                    " revision_id, revision_name, name, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (url, path, state.tree_id, state.package_id, state.revision_id,
                     state.revision_name, state.name, now),
                )  # fmt: skip
        conn.executemany(
            "DELETE FROM deployments WHERE api_url = ? AND package_id = ?",
            [(url, pid) for pid, text in self._pending_observed.items() if text is None],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO deployments (api_url, package_id, observed, seen_at)"
            " VALUES (?, ?, ?, ?)",
            [(url, pid, text, now) for pid, text in self._pending_observed.items() if text],
        )
        for table, key, touched in (
            ("revisions", "revision_id = ?", [(rid,) for rid in self._touched_revisions]),
            ("packages", "path = ?", [(path,) for path in self._touched_packages]),
            ("deployments", "package_id = ?", [(pid,) for pid in self._touched_observed]),
        ):
            conn.executemany(
                f"UPDATE {table} SET seen_at = ? WHERE api_url = ? AND {key}",  # noqa: S608 - constant SQL
                [(now, url, *row) for row in touched],
            )

    # ---- deployments (the release stage's memory) ----------------------------------------
    def observed(self, package_id: str) -> str | None:
        """The release stage's last read of the package's deployments (its own text)."""
        with self._lock:
            found = self._load_observed().get(package_id)
            if found is not None:
                self._use(self._observed_seen, package_id, self._touched_observed)
            return found

    def remember_observed(self, package_id: str, observed: str | None) -> None:
        """Keep a read (written with the next flush); ``None`` forgets the package's."""
        with self._lock:
            known = self._load_observed()
            if known.get(package_id) == observed:
                return
            if observed is None:
                known.pop(package_id, None)
            else:
                known[package_id] = observed
            self._pending_observed[package_id] = observed

    def _load_observed(self) -> dict[str, str]:
        """Every package's read, in one query the first time one is asked for."""
        if self._observed is None:
            self._observed = {}
            if self._conn is not None:
                rows = self._conn.execute(
                    "SELECT package_id, observed, seen_at FROM deployments WHERE api_url = ?",
                    (self._api_url,),
                ).fetchall()
                self._observed = {row[0]: row[1] for row in rows}
                self._observed_seen = {row[0]: row[2] or 0.0 for row in rows}
        return self._observed

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._conn = None


def _open(directory: Path) -> Connection | None:
    """The cache file; a damaged one is moved aside (if unused) and rebuilt, else none."""
    for attempt in (1, 2):
        try:
            return open_store(directory, CACHE)
        except (Damaged, ConfigError) as exc:
            if isinstance(exc, ConfigError) and "not a faas-gitops cache" not in str(exc):
                raise
            aside = move_aside_if_unused(directory, CACHE) if attempt == 1 else None
            log.warning(
                "cache.unusable",
                path=str(directory / CACHE_FILENAME),
                error=str(exc),
                moved_to=str(aside) if aside else None,
            )
            if aside is None:
                return None
    return None


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

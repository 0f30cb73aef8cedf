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
real one) never mixes them. Writes are buffered and flushed in one transaction per batch. The
file itself (schema, opening, a damaged one moved aside, pruning) is ``state.cache_file``.

Every row carries ``seen_at``, refreshed (at most hourly, with the next flush) whenever a sync
uses it, so ``--history-days`` can forget what no sync used for longer than the horizon: the
revisions of packages long gone, the directories removed from git (``cache_file.prune_cache``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from faas_gitops.models import FunctionSpec, Outcome, PackageRef, Status
from faas_gitops.state.cache_file import open_cache
from faas_gitops.state.db import Connection, transaction

log = structlog.get_logger(__name__)

_K = TypeVar("_K")

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
            self._db = open_cache(Path(state_dir))
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

"""What a sync may remember between runs, in ``<state-dir>/cache.sqlite3``.

Two things, both pure optimisations that a fresh CI runner simply does without:

* **revision functions by id**: revisions are immutable, so once a revision's functions were
  fetched (or created by us) they never need fetching again;
* **the last synced state of each package directory**: its git tree id and the revision it was
  in sync with. A directory whose tree id has not changed since a successful sync needs no API
  call at all (the warm shortcut); a full sync (``--full-sync``, the daemon's drift resync)
  ignores it and asks the API.

Entries are keyed by API URL too, so one state dir used against two APIs (the emulator and the
real one) never mixes them. Writes are buffered and flushed in one transaction per sync. If the
file is unusable, the cache is dropped and rebuilt: losing it costs requests, never correctness.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from faas_gitops.models import DesiredPackage, FunctionSpec, Outcome, Status

log = structlog.get_logger(__name__)

CACHE_FILENAME = "cache.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS revisions (
    api_url TEXT NOT NULL, revision_id TEXT NOT NULL, functions TEXT NOT NULL,
    PRIMARY KEY (api_url, revision_id)
);
CREATE TABLE IF NOT EXISTS packages (
    api_url TEXT NOT NULL, path TEXT NOT NULL, tree_id TEXT NOT NULL, package_id TEXT,
    revision_id TEXT, revision_name TEXT, PRIMARY KEY (api_url, path)
);
"""


@dataclass(frozen=True, slots=True)
class SyncedPackage:
    """A package directory as it was when it was last known to be in sync."""

    tree_id: str
    package_id: str | None
    revision_id: str | None
    revision_name: str | None


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
        self._conn: sqlite3.Connection | None = None
        if state_dir is not None:
            self._conn = self._open(state_dir / CACHE_FILENAME)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection | None:
        for attempt in (1, 2):
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
            except (sqlite3.Error, OSError) as exc:
                log.warning("cache.unusable", path=str(path), error=str(exc), attempt=attempt)
                if attempt == 1 and path.is_file():
                    path.unlink(missing_ok=True)  # a cache is disposable: start over
                    continue
                return None
            return conn
        return None

    # ---- revisions (the RevisionCache protocol) ------------------------------------------
    def get(self, revision_id: str) -> tuple[FunctionSpec, ...] | None:
        with self._lock:
            found = self._revisions.get(revision_id)
            if found is not None or self._conn is None:
                return found
            row = self._conn.execute(
                "SELECT functions FROM revisions WHERE api_url = ? AND revision_id = ?",
                (self._api_url, revision_id),
            ).fetchone()
            if row is None:
                return None
            functions = _decode(row[0])
            self._revisions[revision_id] = functions
            return functions

    def put(self, revision_id: str, functions: Sequence[FunctionSpec]) -> None:
        with self._lock:
            if revision_id in self._revisions:
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

    def remember(self, packages: Iterable[DesiredPackage], outcomes: Iterable[Outcome]) -> None:
        """After a real sync: in-sync packages are remembered, failed ones forgotten."""
        by_path = {package.path: package for package in packages}
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
                        Status.UNCHANGED,
                    )
                ):
                    state = SyncedPackage(
                        package.tree_id,
                        outcome.package_id,
                        outcome.revision_id,
                        outcome.revision_name,
                    )
                if known.get(outcome.path) == state:
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
                    "SELECT path, tree_id, package_id, revision_id, revision_name "
                    "FROM packages WHERE api_url = ?",
                    (self._api_url,),
                )
                self._packages = {row[0]: SyncedPackage(*row[1:]) for row in rows}
        return self._packages

    # ---- persistence -----------------------------------------------------------------------
    def flush(self) -> None:
        """Write what this sync learned, in one transaction."""
        with self._lock:
            if self._conn is None or not (self._pending_revisions or self._pending_packages):
                return
            url = self._api_url
            try:
                with self._conn:
                    self._conn.executemany(
                        "INSERT OR IGNORE INTO revisions VALUES (?, ?, ?)",
                        [(url, rid, _encode(fns)) for rid, fns in self._pending_revisions.items()],
                    )
                    for path, state in self._pending_packages.items():
                        if state is None:
                            self._conn.execute(
                                "DELETE FROM packages WHERE api_url = ? AND path = ?", (url, path)
                            )
                        else:
                            self._conn.execute(
                                "INSERT OR REPLACE INTO packages VALUES (?, ?, ?, ?, ?, ?)",
                                (
                                    url,
                                    path,
                                    state.tree_id,
                                    state.package_id,
                                    state.revision_id,
                                    state.revision_name,
                                ),
                            )
            except sqlite3.Error as exc:
                log.warning("cache.write_failed", error=str(exc))
            self._pending_revisions.clear()
            self._pending_packages.clear()

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

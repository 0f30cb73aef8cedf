"""The state cache: remembered across processes, keyed by API, disposable when broken, and
forgetting what no sync used within ``--history-days``."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from faas_gitops.models import FunctionSpec, Outcome, PackageRef, Status
from faas_gitops.state.cache import StateCache, _encode
from faas_gitops.state.cache_file import CACHE, CACHE_FILENAME, prune_cache
from faas_gitops.state.db import open_store

SPEC = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="c", config={"a": [1, 2]})


def package(path: str, tree: str) -> PackageRef:
    return PackageRef(path, tree, commit="c" * 40)


def test_revisions_and_package_states_survive_a_new_process(tmp_path: Path) -> None:
    first = StateCache(tmp_path, "http://api")
    first.put("r1", [SPEC])
    first.remember(
        [package("a", "t1"), package("b", "t2")],
        [
            Outcome("a", Status.CREATED, "pid", "v1", "r1"),
            Outcome("b", Status.FAILED, "pid", error="boom"),
        ],
    )
    first.close()

    second = StateCache(tmp_path, "http://api")
    assert second.get("r1") == (SPEC,)
    synced = second.synced("a")
    assert synced is not None
    assert (synced.tree_id, synced.revision_id, synced.revision_name) == ("t1", "r1", "v1")
    assert second.synced("b") is None  # failures are never remembered as in sync
    second.close()


def test_a_package_that_fails_later_is_forgotten(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://api")
    cache.remember([package("a", "t1")], [Outcome("a", Status.UNCHANGED, "pid", "v1", "r1")])
    cache.flush()
    cache.remember([package("a", "t1")], [Outcome("a", Status.FAILED, "pid", error="x")])
    cache.close()
    assert StateCache(tmp_path, "http://api").synced("a") is None


def test_entries_of_one_api_are_invisible_to_another(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://emulator")
    cache.put("r1", [SPEC])
    cache.remember([package("a", "t1")], [Outcome("a", Status.CREATED, "pid", "v1", "r1")])
    cache.close()
    other = StateCache(tmp_path, "https://admin-api.pubnub.com")
    assert other.get("r1") is None
    assert other.synced("a") is None
    other.close()


def test_a_corrupt_cache_file_is_replaced_not_fatal(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    cache = StateCache(tmp_path, "http://api")
    cache.put("r1", [SPEC])
    cache.close()
    assert StateCache(tmp_path, "http://api").get("r1") == (SPEC,)


def test_a_memory_only_cache_writes_nothing(tmp_path: Path) -> None:
    cache = StateCache(None, "http://api")
    cache.put("r1", [SPEC])
    assert cache.get("r1") == (SPEC,)
    cache.close()
    assert list(tmp_path.iterdir()) == []


def age(state: Path, days: float, *, table: str | None = None) -> None:
    """Make every row (of ``table``, else of all three) last used ``days`` ago."""
    conn = sqlite3.connect(state / CACHE_FILENAME)
    try:
        for name in [table] if table else ["revisions", "packages", "deployments"]:
            conn.execute(f"UPDATE {name} SET seen_at = ?", (time.time() - days * 86400,))  # noqa: S608
        conn.commit()
    finally:
        conn.close()


def prune(state: Path, days: float) -> dict[str, int]:
    db = open_store(state, CACHE)
    try:
        return prune_cache(db.conn, datetime.now(UTC) - timedelta(days=days))
    finally:
        db.close()


def test_rows_no_sync_used_within_the_horizon_are_forgotten(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://api")
    cache.put("r-gone", [SPEC])
    cache.remember([package("gone", "t1")], [Outcome("gone", Status.CREATED, "p1", "v1", "r-gone")])
    cache.remember_observed("p1", "{}")
    cache.close()
    age(tmp_path, 100)

    pruned = prune(tmp_path, 90)

    assert pruned == {"revisions": 1, "packages": 1, "deployments": 1}
    reopened = StateCache(tmp_path, "http://api")
    assert reopened.get("r-gone") is None  # asked of the API again: slower, never wrong
    assert reopened.synced("gone") is None
    assert reopened.observed("p1") is None
    reopened.close()


def test_rows_a_sync_used_are_kept_however_old_they_were(tmp_path: Path) -> None:
    first = StateCache(tmp_path, "http://api")
    first.put("r1", [SPEC])
    first.remember([package("a", "t1")], [Outcome("a", Status.CREATED, "p1", "v1", "r1")])
    first.remember_observed("p1", "{}")
    first.close()
    age(tmp_path, 100)

    used = StateCache(tmp_path, "http://api")  # a later sync reads all three
    assert used.get("r1") == (SPEC,)
    used.remember([package("a", "t1")], [Outcome("a", Status.UNCHANGED, "p1", "v1", "r1")])
    assert used.observed("p1") == "{}"
    used.close()

    assert sum(prune(tmp_path, 90).values()) == 0


def test_the_revision_of_a_remembered_package_stays_while_the_package_does(
    tmp_path: Path,
) -> None:
    """A warm sync never reads it; the next full sync will, and must not have to fetch it."""
    cache = StateCache(tmp_path, "http://api")
    cache.put("r1", [SPEC])
    cache.remember([package("a", "t1")], [Outcome("a", Status.CREATED, "p1", "v1", "r1")])
    cache.close()
    age(tmp_path, 100, table="revisions")

    assert sum(prune(tmp_path, 90).values()) == 0
    assert StateCache(tmp_path, "http://api").get("r1") == (SPEC,)


def test_a_cache_of_the_first_schema_keeps_its_rows_counted_as_seen_now(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / CACHE_FILENAME, isolation_level=None)
    conn.executescript(CACHE.migrations[0])
    conn.execute(f"PRAGMA application_id = {CACHE.application_id}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO revisions VALUES ('http://api', 'r1', ?)", (_encode([SPEC]),))
    conn.close()

    assert sum(prune(tmp_path, 1).values()) == 0  # opening migrated it; its rows are not "old"
    assert StateCache(tmp_path, "http://api").get("r1") == (SPEC,)
    assert prune(tmp_path, -1)["revisions"] == 1  # but stamped: a horizon past now forgets them

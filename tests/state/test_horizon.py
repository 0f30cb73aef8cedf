"""One ``--history-days`` for the whole state dir: the ledger, the cache and the sent log."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from faas_gitops.models import FunctionSpec, Outcome, Status, SyncResult
from faas_gitops.notify import SqliteSentLog
from faas_gitops.state import CACHE_FILENAME, Ledger, StateCache, prune_state
from faas_gitops.state.sent import SENT_FILENAME

NOW = datetime.now(UTC)
SPEC = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="c")


def sync(ledger: Ledger, age_days: float) -> None:
    started = NOW - timedelta(days=age_days)
    ledger.record(
        SyncResult(
            commit="c" * 40, ref="main", dry_run=False,
            outcomes=(Outcome(path="a", status=Status.UNCHANGED, package_id="p-a"),),
            started_at=started, finished_at=started + timedelta(seconds=1), fatal_error=None,
        )
    )  # fmt: skip


def backdate(path: Path, sql: str, days: float) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, (time.time() - days * 86400,))
        conn.commit()
    finally:
        conn.close()


def test_one_horizon_prunes_the_ledger_the_cache_and_the_sent_log(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://api")
    cache.put("r-old", [SPEC])
    cache.put("r-new", [SPEC])
    cache.close()
    backdate(
        tmp_path / CACHE_FILENAME,
        "UPDATE revisions SET seen_at = ? WHERE revision_id = 'r-old'",
        40,
    )
    with SqliteSentLog(tmp_path) as log:
        log.claim("old")
        log.claim("new")
    backdate(tmp_path / SENT_FILENAME, "UPDATE sent SET claimed_at = ? WHERE key = 'old'", 40)

    with Ledger(tmp_path) as ledger:
        sync(ledger, 40)
        sync(ledger, 1)
        pruned = prune_state(ledger, NOW - timedelta(days=30))

    assert (pruned.ledger.syncs, pruned.cache["revisions"], pruned.notifications) == (1, 1, 1)
    reopened = StateCache(tmp_path, "http://api")
    assert (reopened.get("r-old"), reopened.get("r-new")) == (None, (SPEC,))
    reopened.close()
    with SqliteSentLog(tmp_path) as log:
        assert (log.claim("old"), log.claim("new")) == (True, False)


def test_pruning_creates_no_store_that_was_not_there(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        sync(ledger, 40)
        pruned = prune_state(ledger, NOW)

    assert (pruned.cache, pruned.notifications) == ({}, 0)
    assert not (tmp_path / CACHE_FILENAME).exists()
    assert not (tmp_path / SENT_FILENAME).exists()


def test_a_damaged_cache_does_not_stop_the_rest_being_pruned(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with SqliteSentLog(tmp_path) as log:
        log.claim("old")
    backdate(tmp_path / SENT_FILENAME, "UPDATE sent SET claimed_at = ?", 40)

    with Ledger(tmp_path) as ledger:
        pruned = prune_state(ledger, NOW - timedelta(days=30))

    assert pruned.notifications == 1
    # Left for the cache's own opener, which moves it aside when a sync next uses it.
    assert (tmp_path / CACHE_FILENAME).read_bytes().startswith(b"this is not sqlite")

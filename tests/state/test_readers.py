"""Readers (``history``, ``status``, the status page) open the ledger read-only: they never wait
for a writer, never migrate, never write, and read a ledger of an older schema all the same."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.state import APPLICATION_ID, LEDGER_FILENAME, Ledger
from faas_gitops.state import db as db_module
from faas_gitops.state import ledger as ledger_module
from faas_gitops.state.schema import LEDGER_MIGRATIONS

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CREATED = Outcome(
    path="chat", status=Status.CREATED, package_id="pkg-chat", revision_name="v1",
    revision_id="rev-1", correlation_id="corr-1",
)  # fmt: skip


def recorded(state: Path) -> None:
    with Ledger(state) as ledger:
        ledger.record(
            SyncResult(
                commit="a" * 40, ref="main", dry_run=False, outcomes=(CREATED,),
                started_at=T0, finished_at=T0 + timedelta(seconds=2), fatal_error=None,
            )
        )  # fmt: skip


def old_ledger(state: Path, version: int) -> None:
    """A ledger as an older faas-gitops wrote it: the first ``version`` migrations, one sync."""
    state.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(state / LEDGER_FILENAME, isolation_level=None)
    try:
        for script in LEDGER_MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at, finished_at,"
            " total, created, unchanged, would_create, failed)"
            " VALUES (?, 'main', 0, 'daemon', ?, ?, 1, 1, 0, 0, 0)",
            ("b" * 40, T0.isoformat(), T0.isoformat()),
        )
        conn.execute(
            "INSERT INTO outcomes (sync_id, path, package_id, status, revision_name, revision_id,"
            " correlation_id) VALUES (1, 'chat', 'pkg-chat', 'created', 'v1', 'rev-1', 'corr-1')"
        )
        if version >= 2:
            conn.execute(
                "INSERT INTO deployments (sync_id, path, package_id, environment, keyset_id,"
                " step, status, revision_name, revision_id, deployment_id, correlation_id,"
                " recorded_at) VALUES (1, 'chat', 'pkg-chat', 'prod', 7, 'result', 'deployed',"
                " 'v1', 'rev-1', 'dep-1', 'corr-d', ?)",
                (T0.isoformat(),),
            )
    finally:
        conn.close()


def user_version(state: Path) -> int:
    conn = sqlite3.connect(state / LEDGER_FILENAME)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_a_reader_answers_while_another_process_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded(tmp_path)
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.5)  # a writer's open would give up soon
    writer = sqlite3.connect(tmp_path / LEDGER_FILENAME, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ConfigError, match="still locked"):
            Ledger(tmp_path)  # the migrating opener needs the write lock
        with Ledger.open_readonly(tmp_path) as reader:
            assert [e.revision_id for e in reader.history()] == ["rev-1"]
            assert [p.path for p in reader.package_statuses()] == ["chat"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_reader_cannot_write_to_the_ledger(tmp_path: Path) -> None:
    recorded(tmp_path)
    with Ledger.open_readonly(tmp_path) as reader, pytest.raises(sqlite3.Error):
        reader.select("DELETE FROM outcomes")
    with Ledger.open_readonly(tmp_path) as reader:
        assert len(reader.history()) == 1


@pytest.mark.parametrize("version", [1, 2])
def test_a_reader_shows_an_older_ledger_without_upgrading_it(tmp_path: Path, version: int) -> None:
    old_ledger(tmp_path, version)

    with Ledger.open_readonly(tmp_path) as reader:
        (entry,) = reader.history(statuses=["created"])  # the revision row, not the deployment's
        statuses = reader.package_statuses()
        (sync,) = reader.recent_syncs(5)
        deployed = reader.history(environment="prod")

    assert (entry.path, entry.revision_id, entry.correlation_id) == ("chat", "rev-1", "corr-1")
    assert (entry.name, entry.complete) == (None, True)  # added later: read as their defaults
    assert [s.revision_id for s in statuses] == ["rev-1"]
    assert sync.commit == "b" * 40
    assert [(d.revision_name, d.correlation_id) for d in deployed] == (
        [("v1", "corr-d")] if version >= 2 else []  # a v1 ledger knew no deployments
    )
    assert user_version(tmp_path) == version  # the file is as the older version left it

    with Ledger(tmp_path) as writer:  # a writer still upgrades it, rows and all
        assert writer.schema_version == len(ledger_module._MIGRATIONS)
        assert [e.revision_id for e in writer.history(statuses=["created"])] == ["rev-1"]


def test_a_reader_of_a_ledger_with_no_rows_yet_sees_nothing_recorded(tmp_path: Path) -> None:
    Ledger(tmp_path).close()
    with Ledger.open_readonly(tmp_path) as reader:
        assert reader.history() == []
        assert reader.package_statuses() == []


def test_a_missing_ledger_is_one_line_for_a_reader_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with pytest.raises(ConfigError, match=r"ledger .*ledger\.sqlite3 does not exist; run a sync"):
        Ledger.open_readonly(state)
    assert not state.exists()


def test_a_reader_refuses_a_ledger_from_a_newer_version(tmp_path: Path) -> None:
    recorded(tmp_path)
    conn = sqlite3.connect(tmp_path / LEDGER_FILENAME)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()

    with pytest.raises(ConfigError, match=r"schema version 99.*upgrade faas-gitops"):
        Ledger.open_readonly(tmp_path)


def test_a_reader_of_a_damaged_ledger_gets_one_line(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILENAME).write_text("definitely not a database\n" * 100)

    with pytest.raises(ConfigError, match=LEDGER_FILENAME) as info:
        Ledger.open_readonly(tmp_path)

    assert "\n" not in str(info.value)


def test_a_reader_refuses_someone_elses_database(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / LEDGER_FILENAME)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()

    with pytest.raises(ConfigError, match="not a faas-gitops ledger"):
        Ledger.open_readonly(tmp_path)

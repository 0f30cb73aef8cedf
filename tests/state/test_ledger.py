"""The ledger through a real SQLite file: what is recorded comes back, across processes too."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import APPLICATION_ID, LEDGER_FILENAME, Ledger, LedgerEntry
from faas_gitops.state import ledger as ledger_module

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def make_result(
    commit: str = "a" * 40,
    *,
    ref: str = "main",
    outcomes: tuple[Outcome, ...] = (),
    started_at: datetime = T0,
    fatal_error: str | None = None,
    dry_run: bool = False,
) -> SyncResult:
    return SyncResult(
        commit=commit,
        ref=ref,
        dry_run=dry_run,
        outcomes=outcomes,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=2),
        fatal_error=fatal_error,
    )


CREATED = Outcome(
    path="chat-moderation",
    status=Status.CREATED,
    package_id="pkg-chat",
    revision_name="v1.1.0",
    revision_id="rev-1",
    correlation_id="corr-1",
)
UNCHANGED = Outcome(path="analytics", status=Status.UNCHANGED, package_id="pkg-analytics")
FAILED = Outcome(
    path="broken",
    status=Status.FAILED,
    package_id="pkg-broken",
    correlation_id="corr-err",
    error="POST /v2/faas/package-revisions: 409 FAAS-1009: name taken",
)


def test_a_recorded_sync_comes_back_with_every_field(ledger: Ledger) -> None:
    ledger.record(make_result(outcomes=(CREATED, FAILED)), trigger="webhook")

    entries = ledger.history()

    finished = T0 + timedelta(seconds=2)
    assert [(e.path, e.status) for e in entries] == [
        ("broken", "failed"),
        ("chat-moderation", "created"),
    ]
    broken, chat = entries
    assert chat == LedgerEntry(
        id=chat.id,
        recorded_at=finished,
        commit="a" * 40,
        ref="main",
        path="chat-moderation",
        package_id="pkg-chat",
        status="created",
        revision_name="v1.1.0",
        revision_id="rev-1",
        correlation_id="corr-1",
        error=None,
        trigger="webhook",
    )
    assert broken.error == FAILED.error
    assert broken.correlation_id == "corr-err"
    assert broken.revision_id is None


def test_the_ledger_file_lives_in_a_private_state_dir_in_wal_mode(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "state"
    Ledger(state).close()

    assert (state / LEDGER_FILENAME).is_file()
    assert state.stat().st_mode & 0o777 == 0o700
    conn = sqlite3.connect(state / LEDGER_FILENAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(ledger_module._MIGRATIONS)
    finally:
        conn.close()


def test_recorded_times_are_utc_even_when_the_result_used_another_zone(ledger: Ledger) -> None:
    plus_two = timezone(timedelta(hours=2))
    ledger.record(
        make_result(outcomes=(CREATED,), started_at=datetime(2024, 5, 1, 14, tzinfo=plus_two))
    )

    (entry,) = ledger.history()

    assert entry.recorded_at == datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC)
    assert entry.recorded_at.utcoffset() == timedelta(0)


def test_history_is_newest_sync_first(ledger: Ledger) -> None:
    ledger.record(make_result("1" * 40, outcomes=(CREATED,)))
    ledger.record(make_result("2" * 40, outcomes=(CREATED,)))
    ledger.record(make_result("3" * 40, outcomes=(CREATED,)))

    assert [e.commit[0] for e in ledger.history()] == ["3", "2", "1"]


def test_history_follows_recording_order_even_if_the_clock_went_back(ledger: Ledger) -> None:
    ledger.record(make_result("1" * 40, outcomes=(CREATED,), started_at=T0))
    ledger.record(make_result("2" * 40, outcomes=(CREATED,), started_at=T0 - timedelta(hours=1)))

    assert [e.commit[0] for e in ledger.history()] == ["2", "1"]


def test_history_filters_by_package_path(ledger: Ledger) -> None:
    ledger.record(make_result(outcomes=(CREATED, UNCHANGED, FAILED)))

    entries = ledger.history(package="analytics")

    assert [e.path for e in entries] == ["analytics"]


def test_history_filters_by_package_id(ledger: Ledger) -> None:
    ledger.record(make_result("1" * 40, outcomes=(CREATED, UNCHANGED)))
    ledger.record(make_result("2" * 40, outcomes=(CREATED, UNCHANGED)))

    entries = ledger.history(package="pkg-chat")

    assert [(e.commit[0], e.path) for e in entries] == [
        ("2", "chat-moderation"),
        ("1", "chat-moderation"),
    ]


def test_history_filter_matches_exactly_not_by_prefix(ledger: Ledger) -> None:
    ledger.record(make_result(outcomes=(CREATED,)))

    assert ledger.history(package="chat") == []
    assert ledger.history(package="pkg-") == []


def test_history_limit_keeps_the_newest_entries(ledger: Ledger) -> None:
    for n in range(5):
        ledger.record(make_result(str(n) * 40, outcomes=(CREATED,)))

    entries = ledger.history(limit=2)

    assert [e.commit[0] for e in entries] == ["4", "3"]


def test_a_limit_below_one_is_a_config_error(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="--limit"):
        ledger.history(limit=0)


def test_record_returns_increasing_sync_ids(ledger: Ledger) -> None:
    first = ledger.record(make_result(outcomes=(CREATED,)))
    second = ledger.record(make_result(outcomes=()))

    assert second > first


def test_reopening_an_existing_ledger_keeps_its_history(tmp_path: Path) -> None:
    with Ledger(tmp_path) as first:
        first.record(make_result(outcomes=(CREATED,)))

    with Ledger(tmp_path) as again:
        assert [e.path for e in again.history()] == ["chat-moderation"]


def test_a_failed_record_leaves_nothing_half_written(ledger: Ledger) -> None:
    # sqlite cannot store an arbitrary object: the second outcome fails after the first went in.
    bad = Outcome(path="zzz", status=Status.FAILED, error=object())  # type: ignore[arg-type]

    with pytest.raises(sqlite3.Error):
        ledger.record(make_result(outcomes=(CREATED, bad)))

    assert ledger.history() == []
    ledger.record(make_result(outcomes=(CREATED,)))  # the connection is still usable
    assert len(ledger.history()) == 1


def test_two_ledgers_writing_at_once_lose_no_rows(tmp_path: Path) -> None:
    writers, syncs_each = 4, 25
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            with Ledger(tmp_path) as mine:  # its own connection, as another process would have
                start.wait(timeout=30)
                for i in range(syncs_each):
                    mine.record(make_result(f"{n}{i:039d}", outcomes=(CREATED, UNCHANGED)))
        except BaseException as exc:  # noqa: BLE001 -- handed to the main thread below
            start.abort()  # release the others instead of leaving them waiting
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Ledger(tmp_path) as reader:
        entries = reader.history(limit=10_000)
    assert len(entries) == writers * syncs_each * 2
    assert len({e.commit for e in entries}) == writers * syncs_each


def open_at_once(state: Path, openers: int) -> list[BaseException]:
    """Open ``openers`` ledgers on ``state`` as close to the same instant as threads allow."""
    start = threading.Barrier(openers)
    errors: list[BaseException] = []

    def open_and_close() -> None:
        try:
            start.wait(timeout=30)
            Ledger(state).close()
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_close) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.slow
def test_many_processes_can_create_the_same_new_ledger_at_once(tmp_path: Path) -> None:
    # Switching a new file to WAL answers "locked" without waiting; the ledger must retry.
    # The race is rare, so try it on many fresh files.
    for trial in range(40):
        assert open_at_once(tmp_path / str(trial), openers=8) == [], f"trial {trial}"


@pytest.mark.slow
def test_another_process_can_write_while_this_one_holds_the_ledger_open(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from datetime import UTC, datetime
        from pathlib import Path
        from faas_gitops.state import Ledger
        from faas_gitops.models import Outcome, Status, SyncResult
        now = datetime.now(UTC)
        with Ledger(Path(sys.argv[1])) as ledger:
            for i in range(20):
                ledger.record(SyncResult(f"{i:040d}", "main", False,
                    (Outcome("other", Status.UNCHANGED),), now, now))
        """
    )
    with Ledger(tmp_path) as mine:
        child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
        for i in range(20):
            mine.record(make_result(f"f{i:039d}", outcomes=(CREATED,)))
        assert child.wait(timeout=60) == 0
        entries = mine.history(limit=1000)

    assert sorted({e.path for e in entries}) == ["chat-moderation", "other"]
    assert len(entries) == 40


def test_an_old_ledger_is_migrated_forward_keeping_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger(tmp_path) as old:
        old.record(make_result(outcomes=(CREATED,)))
        assert old.schema_version == len(ledger_module._MIGRATIONS)

    monkeypatch.setattr(
        ledger_module,
        "_MIGRATIONS",
        [
            *ledger_module._MIGRATIONS,
            "ALTER TABLE outcomes ADD COLUMN note TEXT; CREATE TABLE x (y)",
        ],
    )
    with Ledger(tmp_path) as new:
        assert new.schema_version == len(ledger_module._MIGRATIONS)
        assert [e.revision_id for e in new.history()] == ["rev-1"]
    conn = sqlite3.connect(tmp_path / LEDGER_FILENAME)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(outcomes)")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "note" in columns
    assert "x" in tables


def test_a_failing_migration_leaves_the_ledger_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Ledger(tmp_path).close()
    monkeypatch.setattr(
        ledger_module,
        "_MIGRATIONS",
        [*ledger_module._MIGRATIONS, "CREATE TABLE fine (a); CREATE TABLE syncs (dup)"],
    )

    with pytest.raises(ConfigError, match="not usable"):
        Ledger(tmp_path)

    monkeypatch.undo()
    with Ledger(tmp_path) as reopened:
        assert reopened.schema_version == len(ledger_module._MIGRATIONS)


def test_a_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Ledger(tmp_path).close()
    conn = sqlite3.connect(tmp_path / LEDGER_FILENAME)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()

    with pytest.raises(ConfigError, match=r"schema version 99.*upgrade faas-gitops"):
        Ledger(tmp_path)


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILENAME).write_text("definitely not a database\n" * 100)

    with pytest.raises(ConfigError, match=LEDGER_FILENAME) as info:
        Ledger(tmp_path)

    assert "\n" not in str(info.value)


def test_someone_elses_sqlite_database_is_a_config_error_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILENAME
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()

    with pytest.raises(ConfigError, match="not a faas-gitops ledger"):
        Ledger(tmp_path)

    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    finally:
        conn.close()
    assert tables == ["customers"]


def test_a_state_dir_below_a_regular_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(ConfigError, match=r"state dir .*a-file"):
        Ledger(blocker / "state")


def test_a_state_dir_that_is_a_regular_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(ConfigError, match="a-file"):
        Ledger(blocker)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root (and Windows) can write into a read-only directory",
)
def test_a_read_only_state_dir_is_a_config_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigError, match="ledger"):
            Ledger(state)
    finally:
        state.chmod(0o700)


def _deployment_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT sync_id, path, package_id, environment, keyset_id, step, status,"
            " revision_name, deployment_id, note, pinned FROM deployments ORDER BY id"
        ).fetchall()


def test_a_stages_results_are_recorded_in_one_transaction_in_order(ledger: Ledger) -> None:
    sync_id = ledger.record(make_result())
    statements: list[str] = []
    ledger._db.conn.set_trace_callback(statements.append)
    staging = DeploymentOutcome("staging", 3, DeployStatus.IN_SYNC, "v1", "r1", "d1")
    prod = DeploymentOutcome("prod", 7, DeployStatus.FROZEN, "v1", "r1", note="frozen", pinned=True)

    ledger.record_deployments(
        sync_id, [("chat", "pkg-chat", "result", staging), ("web", None, "result", prod)]
    )

    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert _deployment_rows(ledger.path) == [
        (sync_id, "chat", "pkg-chat", "staging", 3, "result", "in-sync", "v1", "d1", None, 0),
        (sync_id, "web", None, "prod", 7, "result", "frozen", "v1", None, "frozen", 1),
    ]


def test_a_batch_of_results_that_fails_records_none_of_them(ledger: Ledger) -> None:
    sync_id = ledger.record(make_result())
    fine = DeploymentOutcome("staging", 3, DeployStatus.IN_SYNC, "v1", "r1", "d1")
    broken = DeploymentOutcome("prod", 7, DeployStatus.IN_SYNC, "v1", "r1", note=object())  # type: ignore[arg-type]

    with pytest.raises(sqlite3.Error):
        ledger.record_deployments(
            sync_id, [("chat", "pkg", "result", fine), ("web", "pkg", "result", broken)]
        )

    assert _deployment_rows(ledger.path) == []


def test_one_step_is_committed_on_its_own_before_its_write(ledger: Ledger) -> None:
    """A step journaled before its write (``pending``) is durable when the call returns."""
    sync_id = ledger.record(make_result())
    statements: list[str] = []
    ledger._db.conn.set_trace_callback(statements.append)
    step = DeploymentOutcome("staging", 3, DeployStatus.DEPLOYED, "v1", "r1")

    ledger.record_deployment(
        sync_id, path="chat", package_id="pkg", step="create", outcome=step, status="pending"
    )

    assert statements[-1] == "COMMIT"
    assert _deployment_rows(ledger.path) == [
        (sync_id, "chat", "pkg", "staging", 3, "create", "pending", "v1", None, None, 0)
    ]

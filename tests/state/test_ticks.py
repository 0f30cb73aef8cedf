"""Failed ticks in the ledger: a wake-up that stopped before a sync ran is one row, read back
newest first, kept bounded, and a reader of a ledger older than the table sees none."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faas_gitops.state import APPLICATION_ID, LEDGER_FILENAME, Ledger
from faas_gitops.state import ticks as ticks_module
from faas_gitops.state.schema import LEDGER_MIGRATIONS
from faas_gitops.state.ticks import failed_ticks, one_line, record_failed_tick

T0 = datetime(2026, 11, 2, 9, 12, tzinfo=UTC)


def test_a_failed_tick_is_recorded_and_read_back_read_only_newest_first(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        record_failed_tick(
            ledger, at=T0, commit=None, ref="main", trigger="startup", error="API down"
        )
        record_failed_tick(
            ledger,
            at=T0 + timedelta(minutes=1),
            commit="a" * 40,
            ref="main",
            trigger="retry",
            error="faas-gitops.yaml: environments.prod.keysetId: not a number\nsecond line",
        )
    with Ledger.open_readonly(tmp_path) as reader:
        newest, oldest = failed_ticks(reader)
    assert (newest.trigger, newest.commit, newest.at) == (
        "retry",
        "a" * 40,
        T0 + timedelta(minutes=1),
    )
    assert newest.error == "faas-gitops.yaml: environments.prod.keysetId: not a number"
    assert (oldest.trigger, oldest.commit, oldest.error) == ("startup", None, "API down")


def test_the_ledger_keeps_only_the_newest_failed_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ticks_module, "KEPT", 3)
    with Ledger(tmp_path) as ledger:
        for minute in range(5):
            record_failed_tick(
                ledger, at=T0 + timedelta(minutes=minute), commit=None, ref="main",
                trigger="retry", error=f"failure {minute}",
            )  # fmt: skip
        kept = failed_ticks(ledger)
    assert [t.error for t in kept] == ["failure 4", "failure 3", "failure 2"]


def test_a_ledger_written_before_the_table_reads_as_having_no_failed_ticks(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / LEDGER_FILENAME)
    for script in LEDGER_MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.commit()
    conn.close()
    with Ledger.open_readonly(tmp_path) as reader:
        assert failed_ticks(reader) == []


def test_an_error_is_cut_to_one_line_a_cell_can_show() -> None:
    assert one_line("  \n") == "unknown error"
    assert len(one_line("x" * 2000)) == ticks_module.ERROR_CHARS

"""Damaged state files, through the real ``faas-gitops --sync-once`` against the emulator.

The ledger is the record: a damaged one stops the run with one line naming the file and what to
do, before anything is written (and is never moved aside for the person). A ledger that is gone
or empty beside a cache that remembers earlier syncs is a warning that the history restarts.
The notification log only de-duplicates: a damaged one is moved aside like the cache, and the
sync goes on ("notifications never block or fail a sync").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.state import db
from tests.e2e.hardening.hardening_support import SyncCli
from tests.gitrepo import GitRepo
from tests.harness import Run

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

PAGE = 4096


def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"  # where ``hardened_cli`` keeps it


def root_page(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    return int(row[0])


def overwrite_page(path: Path, page: int) -> None:
    """Scribble over one whole page (1-based), as a bad disk or a bad copy would."""
    data = bytearray(path.read_bytes())
    start = (page - 1) * PAGE
    assert start + PAGE <= len(data), "the page must lie inside the file"
    data[start : start + PAGE] = bytes((i * 7 + 3) % 256 for i in range(PAGE))
    path.write_bytes(bytes(data))


def change_a_package(repo: GitRepo) -> None:
    """A commit that gives one package a new revision, so the next sync has a write to make."""
    source = repo.root / "presence-tracker" / "presence-tracker.js"
    repo.write("presence-tracker/presence-tracker.js", source.read_text() + "\n// changed\n")
    repo.commit("Change presence-tracker")


def writes(emulator: RunningEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method != "GET"]


def assert_one_line(run: Run, *parts: str) -> str:
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    for part in parts:
        assert part in line
    return line


def test_a_ledger_with_a_scribbled_page_stops_the_run_with_one_line_before_any_write(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    assert hardened_cli(emulator, repo).code == 0
    ledger = state_dir(tmp_path) / "ledger.sqlite3"
    overwrite_page(ledger, root_page(ledger, "outcomes"))
    damaged = ledger.read_bytes()
    change_a_package(repo)
    emulator.clear_requests()

    run = hardened_cli(emulator, repo)

    assert run.code == 2
    line = assert_one_line(run, str(ledger), "is damaged", "move it aside", "backup")
    assert line.startswith("faas-gitops: error: ledger ")
    assert writes(emulator) == []
    assert ledger.read_bytes() == damaged  # never repaired, moved or rewritten for the person
    assert run.stdout == ""


def test_damage_the_open_check_did_not_reach_is_the_same_one_line_at_first_use(
    hardened_cli: SyncCli,
    emulator: RunningEmulator,
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ledger too big to check within the budget: the damage is met by a statement."""
    assert hardened_cli(emulator, repo).code == 0
    ledger = state_dir(tmp_path) / "ledger.sqlite3"
    overwrite_page(ledger, root_page(ledger, "syncs"))
    change_a_package(repo)
    emulator.clear_requests()
    monkeypatch.setattr(db, "QUICK_CHECK_BUDGET_S", 0.0)  # the budget ran out at once

    run = hardened_cli(emulator, repo)

    assert run.code == 2
    assert_one_line(run, str(ledger), "is damaged", "move it aside")
    assert writes(emulator) == []


def test_a_file_that_is_not_a_database_as_ledger_is_the_same_one_line(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    state = state_dir(tmp_path)
    state.mkdir(mode=0o700)
    (state / "ledger.sqlite3").write_bytes(b"this is not an SQLite file at all\n" * 200)

    run = hardened_cli(emulator, repo)

    assert run.code == 2
    assert_one_line(run, str(state / "ledger.sqlite3"), "is damaged", "move it aside")
    assert writes(emulator) == []


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_a_lost_ledger_beside_a_cache_that_remembers_syncs_warns_that_history_restarts(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path, how: str
) -> None:
    assert hardened_cli(emulator, repo).code == 0
    ledger = state_dir(tmp_path) / "ledger.sqlite3"
    if how == "empty":
        ledger.write_bytes(b"")
    else:
        ledger.unlink()

    run = hardened_cli(emulator, repo, log_format="console")

    assert run.code == 0, run.stderr
    assert "ledger.history_restarts" in run.stderr
    assert "history of syncs starts again" in run.stderr
    assert str(ledger) in run.stderr


def test_a_fresh_state_dir_starts_its_history_without_a_warning(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo
) -> None:
    run = hardened_cli(emulator, repo)

    assert run.code == 0, run.stderr
    assert "history_restarts" not in run.stderr


def test_a_damaged_notification_log_is_moved_aside_with_a_warning_and_the_sync_goes_on(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    state = state_dir(tmp_path)
    state.mkdir(mode=0o700)
    log = state / "notifications.sqlite3"
    log.write_bytes(b"garbage, not a database " * 300)
    change_a_package(repo)

    run = hardened_cli(
        emulator, repo, "--notify-webhook", "http://127.0.0.1:9/never", "--notify-retry-for", "0"
    )

    assert run.code == 0, run.stderr
    assert "notifications.unusable" in run.stderr
    assert "Traceback" not in run.stderr
    aside = [p for p in state.iterdir() if p.name.startswith("notifications.sqlite3.damaged-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"garbage, not a database " * 300
    assert writes(emulator)  # the sync wrote what it had to
    conn = sqlite3.connect(log)  # a fresh log took its place
    try:
        assert conn.execute("PRAGMA application_id").fetchone()[0] != 0
    finally:
        conn.close()

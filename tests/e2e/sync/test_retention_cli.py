"""``--history-days`` through a real ``--sync-once``: the run prunes its ledger once, at its end."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.notify import SqliteSentLog
from faas_gitops.reconcile import session as session_module
from faas_gitops.reconcile.session import Session
from faas_gitops.settings import ApiSettings, Settings
from faas_gitops.state import Ledger
from tests.harness import RunCli


def seed_old_syncs(state: Path, ages: tuple[int, ...]) -> None:
    """Syncs of the sample packages recorded ``ages`` days ago, each 'unchanged', of the ref
    the run syncs (`main`: the newest sync of each ref is kept whatever its age)."""
    now = datetime.now(UTC)
    with Ledger(state) as ledger:
        for age in ages:
            started = now - timedelta(days=age)
            ledger.record(
                SyncResult(
                    commit="e" * 40, ref="main", dry_run=False,
                    outcomes=(Outcome(path="webhooks", status=Status.UNCHANGED),),
                    started_at=started, finished_at=started + timedelta(seconds=1),
                    fatal_error=None,
                ),
                trigger="daemon",
            )  # fmt: skip


def events(stderr: str, name: str) -> list[dict[str, object]]:
    lines = (json.loads(line) for line in stderr.splitlines() if line.startswith("{"))
    return [event for event in lines if event.get("event") == name]


@pytest.mark.slow
def test_a_sync_once_prunes_what_is_older_than_history_days(
    run_cli: RunCli, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    seed_old_syncs(state, (400, 300, 200))

    run = run_cli("--history-days", "30")

    assert run.code == 0, run.stderr
    (pruned,) = events(run.stderr, "ledger.pruned")
    assert (pruned["syncs"], pruned["outcomes"]) == (3, 3)
    with Ledger(state) as ledger:
        # 'webhooks' is synced again now, so its old rows are no package's newest any more.
        assert all(entry.commit != "e" * 40 for entry in ledger.history(limit=1000))


@pytest.mark.slow
def test_history_days_zero_keeps_everything_and_dry_runs_touch_nothing(
    run_cli: RunCli, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    seed_old_syncs(state, (400, 300))

    kept = run_cli("--history-days", "0")
    dry = run_cli("--dry-run", "--history-days", "1")

    assert (kept.code, dry.code) == (0, 0), kept.stderr + dry.stderr
    assert events(kept.stderr, "ledger.pruned") == events(dry.stderr, "ledger.pruned") == []
    with Ledger(state) as ledger:
        old = [entry for entry in ledger.history(limit=1000) if entry.commit == "e" * 40]
    assert len(old) == 2


@pytest.mark.slow
@pytest.mark.parametrize("days", ["-1", "1e9", "nan", "ninety"])
def test_a_history_days_out_of_range_is_one_line_and_exit_2(run_cli: RunCli, days: str) -> None:
    run = run_cli("--history-days", days)

    assert run.code == 2
    assert run.stdout == ""
    assert "--history-days" in run.stderr.splitlines()[-1]
    assert "Traceback" not in run.stderr


def test_a_long_lived_session_prunes_at_most_once_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's session serves every sync; pruning is once at start, then daily."""
    state = tmp_path / "state"
    settings = Settings(api=ApiSettings(key="k"), state_dir=state, history_days=30)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    with Ledger(state) as ledger:
        session = Session(settings, None, None, ledger)  # type: ignore[arg-type]
        removed = []
        for advance in (0.0, 3600.0, session_module.PRUNE_EVERY_S):
            clock[0] += advance
            seed_old_syncs(state, (100,))
            asyncio.run(session.prune_history())
            removed.append(sum(1 for e in ledger.history(limit=100) if e.commit == "e" * 40))
    # Pruned at once (the newest old row stays: it is its package's newest), not an hour
    # later (a second old row accumulates), and again after a day.
    assert removed == [1, 2, 1]


@pytest.mark.slow
def test_a_sync_once_prunes_old_notification_claims_with_the_same_horizon(
    run_cli: RunCli, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    seed_old_syncs(state, (400,))
    with SqliteSentLog(state) as log:
        log.claim("webhook:1|sync-failed|old||")
        log.claim("webhook:1|sync-failed|new||")
    conn = sqlite3.connect(state / "notifications.sqlite3")
    conn.execute(
        "UPDATE sent SET claimed_at = ? WHERE key LIKE '%old%'", (time.time() - 40 * 86400,)
    )
    conn.commit()
    conn.close()

    run = run_cli("--history-days", "30")

    assert run.code == 0, run.stderr
    (pruned,) = events(run.stderr, "ledger.pruned")
    assert pruned["notifications"] == 1
    with SqliteSentLog(state) as log:
        assert log.claim("webhook:1|sync-failed|old||")  # forgotten
        assert not log.claim("webhook:1|sync-failed|new||")

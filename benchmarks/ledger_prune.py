"""What ``--history-days`` costs on a big ledger: one pruning of a daemon's months of history.

    python -m benchmarks.ledger_prune [--packages 1000] [--days 120] [--syncs-per-day 24]

Writes a ledger as a daemon would leave it (every sync records every package, ``unchanged``;
one package in ten gets a new revision every day), through the ledger's own API, into a
temporary state dir; then prunes it at 91 days, timing it, and at 90 days (the daily
pruning of a ledger pruned the day before: one day of rows). Prints one JSON document: rows
before and after, the file size, and both prune times.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.state import Ledger

HORIZON_DAYS = 90


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM outcomes").fetchone()[0])


def _outcome(index: int, day: int, first_of_day: bool) -> Outcome:
    if first_of_day and index % 10 == day % 10:  # a tenth of the packages change each day
        return Outcome(
            path=f"pkg-{index:05d}", status=Status.CREATED, package_id=f"id-{index:05d}",
            revision_name=f"d{day}", revision_id=f"r{day}-{index}", correlation_id=f"c{day}",
        )  # fmt: skip
    return Outcome(path=f"pkg-{index:05d}", status=Status.UNCHANGED, package_id=f"id-{index:05d}")


def fill(ledger: Ledger, packages: int, days: int, per_day: int) -> None:
    now = datetime.now(UTC)
    for day in range(days, 0, -1):
        for sync in range(per_day):
            started = now - timedelta(days=day) + timedelta(hours=sync * 24 / per_day)
            outcomes = tuple(_outcome(index, day, sync == 0) for index in range(packages))
            ledger.record(
                SyncResult(
                    commit=f"{day:020d}{sync:020d}", ref="main", dry_run=False,
                    outcomes=outcomes, started_at=started,
                    finished_at=started + timedelta(seconds=30), fatal_error=None,
                ),
                trigger="daemon",
            )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--syncs-per-day", type=int, default=24)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="faas-gitops-prune-") as scratch:
        state = Path(scratch) / "state"
        with Ledger(state) as ledger:
            started = time.monotonic()
            fill(ledger, args.packages, args.days, args.syncs_per_day)
            filled_s = time.monotonic() - started
            before = _rows(ledger.path)
            size_before = ledger.path.stat().st_size
            horizon = datetime.now(UTC) - timedelta(days=HORIZON_DAYS)
            started = time.monotonic()
            pruned = ledger.prune(horizon - timedelta(days=1))  # the first: months at once
            first_s = time.monotonic() - started
            started = time.monotonic()
            again = ledger.prune(horizon)  # a day later: one day of rows
            second_s = time.monotonic() - started
            after = _rows(ledger.path)
    print(
        json.dumps(
            {
                "scenario": "ledger-prune",
                "packages": args.packages,
                "days": args.days,
                "syncs_per_day": args.syncs_per_day,
                "fill_s": round(filled_s, 1),
                "outcome_rows_before": before,
                "file_mb_before": round(size_before / 1e6, 1),
                "outcome_rows_pruned": pruned.outcomes,
                "syncs_pruned": pruned.syncs,
                "outcome_rows_after": after,
                "first_prune_s": round(first_s, 2),
                "daily_prune_s": round(second_s, 2),
                "daily_prune_outcome_rows": again.outcomes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``--history-days``: old rows go, and every question the record answers is answered the same.

Real SQLite files; the property test builds random histories (real, dry, killed and failed
syncs, pending creates, deployment steps, several refs) and compares every query the product
asks of the ledger before and after pruning.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import Ledger

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)
PATHS = ("a", "b", "c")
ENVIRONMENTS = ("staging", "production")


def result(
    *outcomes: Outcome, age_days: float, ref: str = "main", dry_run: bool = False,
    fatal: str | None = None, commit: str = "c" * 40,
) -> SyncResult:  # fmt: skip
    started = NOW - timedelta(days=age_days)
    return SyncResult(
        commit=commit, ref=ref, dry_run=dry_run, outcomes=outcomes, started_at=started,
        finished_at=started + timedelta(seconds=3), fatal_error=fatal,
    )  # fmt: skip


def unchanged(path: str) -> Outcome:
    return Outcome(path=path, status=Status.UNCHANGED, package_id=f"p-{path}")


def created(path: str, revision: str) -> Outcome:
    return Outcome(
        path=path, status=Status.CREATED, package_id=f"p-{path}", revision_name=revision,
        revision_id=f"r-{revision}", correlation_id=f"corr-{revision}",
    )  # fmt: skip


def counts(ledger: Ledger) -> tuple[int, int, int]:
    """Rows per table (syncs, outcomes, deployments), read from the file itself."""
    with sqlite3.connect(ledger.path) as conn:
        syncs, outcomes, deployments = (
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
            for table in ("syncs", "outcomes", "deployments")
        )
    return syncs, outcomes, deployments


def answers(ledger: Ledger) -> dict[str, Any]:
    """Every question the product asks of the record, except the history listing itself."""
    refs = ("main", "release", None)
    return {
        "statuses": ledger.package_statuses(),
        "in_sync": ledger.in_sync_commits(),
        "last": {ref: ledger.last_synced_commit(ref) for ref in refs},
        "pending": ledger.pending_writes(),
        "newest_sync": ledger.recent_syncs(limit=1),
    }


def test_old_unchanged_rows_go_and_the_newest_row_of_each_package_stays(tmp_path: Path) -> None:
    with Ledger(tmp_path / "state") as ledger:
        ledger.record(result(created("a", "v1"), unchanged("b"), age_days=400))
        for age in (300, 200, 120):
            ledger.record(result(unchanged("a"), unchanged("b"), age_days=age))
        ledger.record(result(unchanged("a"), age_days=10))
        before = answers(ledger)
        assert counts(ledger) == (5, 9, 0)

        pruned = ledger.prune(CUTOFF)

        # a: its revision row (v1, 400 days old) and its newest row (10 days) stay;
        # b: only its newest row (120 days old) stays, though it is past the horizon.
        assert (pruned.syncs, pruned.outcomes) == (2, 6)
        assert counts(ledger) == (3, 3, 0)
        assert answers(ledger) == before
        assert [(e.path, e.status) for e in ledger.history()] == [
            ("a", "unchanged"), ("b", "unchanged"), ("a", "created"),
        ]  # fmt: skip
        assert ledger.prune(CUTOFF).rows == 0  # idempotent


def test_nothing_newer_than_the_horizon_is_touched(tmp_path: Path) -> None:
    with Ledger(tmp_path / "state") as ledger:
        for age in (80, 50, 20, 1):
            ledger.record(result(unchanged("a"), unchanged("b"), age_days=age))
        assert ledger.prune(CUTOFF).rows == 0
        assert counts(ledger) == (4, 8, 0)


def test_a_pending_create_outlives_the_horizon(tmp_path: Path) -> None:
    with Ledger(tmp_path / "state") as ledger:
        sync = ledger.begin_sync(
            commit="d" * 40, ref="main", trigger="daemon", dry_run=False,
            started_at=NOW - timedelta(days=200),
        )  # fmt: skip
        ledger.record_pending(
            sync, path="a", package_id="p-a", name=None, revision_name="v9", digest="x" * 64
        )
        for age in (100, 5):
            ledger.record(result(unchanged("a"), age_days=age))
        ledger.prune(CUTOFF)
        assert [w.revision_name for w in ledger.pending_writes()] == ["v9"]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    steps = []
    for index in range(draw(st.integers(1, 12))):
        steps.append(
            {
                "age": draw(st.sampled_from([400, 200, 95, 89, 30, 1])) - index * 0.001,
                "ref": draw(st.sampled_from(["main", "release"])),
                "kind": draw(st.sampled_from(["real", "real", "dry", "killed", "fatal"])),
                "packages": draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(PATHS),
                            st.sampled_from(["unchanged", "created", "failed", "pending"]),
                        ),
                        max_size=3,
                        unique_by=lambda t: t[0],
                    )
                ),
                "deploy": draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(PATHS),
                            st.sampled_from(ENVIRONMENTS),
                            st.sampled_from(["create", "start", "result"]),
                            st.sampled_from(
                                [DeployStatus.DEPLOYED, DeployStatus.IN_SYNC, DeployStatus.FAILED]
                            ),
                        ),
                        max_size=3,
                    )
                ),
            }
        )
    return sorted(steps, key=lambda s: -s["age"])  # recorded oldest first, as time goes


def replay(ledger: Ledger, steps: list[dict[str, Any]]) -> None:
    for number, step in enumerate(steps):
        started = NOW - timedelta(days=step["age"])
        sync = ledger.begin_sync(
            commit=f"{number:040d}", ref=step["ref"], trigger="daemon",
            dry_run=step["kind"] == "dry", started_at=started,
        )  # fmt: skip
        outcomes: list[Outcome] = []
        for path, status in step["packages"]:
            if status == "pending":
                ledger.record_pending(
                    sync, path=path, package_id=f"p-{path}", name=None,
                    revision_name=f"v{number}", digest="0" * 64,
                )  # fmt: skip
                continue
            outcome = (
                created(path, f"v{number}")
                if status == "created"
                else Outcome(path=path, status=Status(status), package_id=f"p-{path}")
            )
            outcomes.append(outcome)
            ledger.add_outcome(sync, outcome)
        for path, environment, step_name, deploy_status in step["deploy"]:
            ledger.record_deployment(
                sync, path=path, package_id=f"p-{path}", step=step_name,
                outcome=DeploymentOutcome(
                    environment=environment, keyset_id=7, status=deploy_status,
                    revision_name=f"v{number}", revision_id=f"r-v{number}",
                ),
            )  # fmt: skip
        if step["kind"] == "killed":
            ledger.flush()
            continue
        fatal = "stopped" if step["kind"] == "fatal" else None
        finished = result(
            *outcomes, age_days=step["age"], ref=step["ref"], dry_run=step["kind"] == "dry",
            fatal=fatal, commit=f"{number:040d}",
        )  # fmt: skip
        ledger.finish_sync(sync, finished)


@settings(max_examples=60, deadline=None)
@given(histories())
def test_pruning_never_changes_an_answer_and_never_touches_recent_syncs(
    steps: list[dict[str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as scratch, Ledger(Path(scratch) / "state") as ledger:
        replay(ledger, steps)
        before = answers(ledger)
        recent = [e for e in ledger.history(limit=10_000) if e.recorded_at >= CUTOFF]

        ledger.prune(CUTOFF)

        assert answers(ledger) == before
        after = ledger.history(limit=10_000)
        assert [e for e in after if e.recorded_at >= CUTOFF] == recent

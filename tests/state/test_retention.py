"""``--history-days``: old rows go, and every question the record answers is answered the same.

Real SQLite files; the property test builds random histories (real, dry, killed and failed
syncs, pending creates, deployment steps, several refs) and compares every query the product
asks of the ledger before and after pruning, and "what runs where, with the correlation IDs of
the revision and of the deploy".
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import Ledger, retention

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


def created(path: str, revision: str, status: Status = Status.CREATED) -> Outcome:
    return Outcome(
        path=path, status=status, package_id=f"p-{path}", revision_name=revision,
        revision_id=f"r-{revision}", correlation_id=f"corr-{path}-{revision}",
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
    return {
        "statuses": ledger.package_statuses(),
        "in_sync": ledger.in_sync_commits(),
        "pending": ledger.pending_writes(),
        "newest_sync": ledger.recent_syncs(limit=1),
        "running": what_runs_where(ledger),
    }


_RESULT_COLUMNS = "d.sync_id, d.status, d.revision_name, d.revision_id, d.deployment_id"
_STEPS = (
    "SELECT step, status, deployment_id, correlation_id FROM deployments"
    " WHERE sync_id = ? AND path = ? AND environment = ? ORDER BY id"
)
_MADE = (
    "SELECT o.sync_id, o.status, o.revision_name, o.correlation_id"
    " FROM outcomes AS o JOIN syncs AS s ON s.id = o.sync_id"
    " WHERE o.path = ? AND o.status IN ('created', 'adopted') AND s.dry_run = 0 {also}"
    " ORDER BY o.id DESC LIMIT 1"
)


def what_runs_where(ledger: Ledger) -> dict[str, Any]:
    """Per package and environment: the revision running there (the newest real ``deployed``
    or ``in-sync`` result), the rows of the sync that reported it and of the newest sync that
    deployed one (with their correlation IDs), and the row that made that revision; per package
    the row that made its newest revision. Read with SQL from the file itself."""
    with sqlite3.connect(ledger.path) as conn:
        results = conn.execute(
            f"SELECT d.path, d.environment, {_RESULT_COLUMNS}"  # noqa: S608 - constant SQL
            " FROM deployments AS d JOIN syncs AS s ON s.id = d.sync_id WHERE d.step = 'result'"
            " AND d.status IN ('deployed', 'in-sync') AND s.dry_run = 0 ORDER BY d.id"
        ).fetchall()
        running: dict[tuple[str, str], tuple[Any, ...]] = {}
        deployed: dict[tuple[str, str], tuple[Any, ...]] = {}
        for path, environment, *row in results:
            running[path, environment] = tuple(row)
            if row[1] == "deployed":
                deployed[path, environment] = tuple(row)

        def steps(row: tuple[Any, ...] | None, key: tuple[str, str]) -> list[Any] | None:
            return None if row is None else conn.execute(_STEPS, (row[0], *key)).fetchall()

        where = {
            f"{path}@{environment}": {
                "running": row,
                "steps": steps(row, (path, environment)),
                "deployed_by": deployed.get((path, environment)),
                "deploy_steps": steps(deployed.get((path, environment)), (path, environment)),
                "revision_made": conn.execute(
                    _MADE.format(also="AND o.revision_id = ?"), (path, row[3])
                ).fetchone(),
            }
            for (path, environment), row in running.items()
        }
        newest_made = {
            path: conn.execute(_MADE.format(also=""), (path,)).fetchone() for path in PATHS
        }
    return {"where": where, "newest_made": newest_made}


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


def test_without_a_sync_older_than_the_horizon_what_to_keep_is_not_even_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger(tmp_path / "state") as ledger:
        for age in (80, 1):
            ledger.record(result(created("a", "v1"), unchanged("b"), age_days=age))
        monkeypatch.setattr(retention, "_KEEP_OUTCOMES", "SELECT no_such_column FROM syncs")

        assert ledger.prune(CUTOFF).rows == 0  # the kept sets' statements never ran
        assert counts(ledger) == (2, 4, 0)
        ledger.record(result(unchanged("a"), age_days=100))
        with pytest.raises(sqlite3.OperationalError):  # one sync is old: they run again
            ledger.prune(CUTOFF)


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


def deploy(
    ledger: Ledger, sync: int, target: str, revision: str, steps: tuple[str, ...], *,
    status: DeployStatus,
) -> None:  # fmt: skip
    """The steps (correlation ``dc-<sync>-<step>``) and the result of one deployment of
    ``target`` (``path@environment``)."""
    path, environment = target.split("@")
    for step in (*steps, "result"):
        ledger.record_deployment(
            sync, path=path, package_id=f"p-{path}", step=step,
            outcome=DeploymentOutcome(
                environment=environment, keyset_id=7, status=status, revision_name=revision,
                revision_id=f"r-{revision}", deployment_id=f"dep-{environment}-{revision}",
                correlation_id=f"dc-{sync}-{step}" if step != "result" else None,
            ),
        )  # fmt: skip


def test_what_runs_where_keeps_the_correlation_ids_of_its_revision_and_its_deploy(
    tmp_path: Path,
) -> None:
    """The report: production runs v1, created and deployed 400 days ago; since then it was
    only found in sync, and v2 (newer) failed to roll out there. Pruning at 90 days must keep
    v1's creation and the deployment steps that put it there, with their correlation IDs."""
    with Ledger(tmp_path / "state") as ledger:

        def sync(age: float, *outcomes: Outcome) -> int:
            number = ledger.begin_sync(
                commit=f"{int(age):040d}", ref="main", trigger="daemon", dry_run=False,
                started_at=NOW - timedelta(days=age),
            )  # fmt: skip
            for outcome in outcomes:
                ledger.add_outcome(number, outcome)
            return number

        def finish(number: int, age: float, *outcomes: Outcome) -> None:
            ledger.finish_sync(number, result(*outcomes, age_days=age, commit=f"{int(age):040d}"))

        v1 = created("a", "v1")
        first = sync(400, v1)
        deploy(ledger, first, "a@production", "v1", ("create", "start", "running"),
               status=DeployStatus.DEPLOYED)  # fmt: skip
        finish(first, 400, v1)
        still = Outcome(path="a", status=Status.UNCHANGED, package_id="p-a",
                        revision_name="v1", revision_id="r-v1")  # fmt: skip
        for age in (300, 200):
            number = sync(age, still)
            deploy(ledger, number, "a@production", "v1", (), status=DeployStatus.IN_SYNC)
            finish(number, age, still)
        v2 = created("a", "v2")
        number = sync(120, v2)
        deploy(ledger, number, "a@staging", "v2", ("create", "start", "running"),
               status=DeployStatus.DEPLOYED)  # fmt: skip
        deploy(ledger, number, "a@production", "v2", ("create", "rolling-update"),
               status=DeployStatus.FAILED)  # fmt: skip
        finish(number, 120, v2)
        before = what_runs_where(ledger)

        assert ledger.prune(CUTOFF).rows > 0

        after = what_runs_where(ledger)
        assert after == before
        production = after["where"]["a@production"]
        assert production["running"][1:4] == ("in-sync", "v1", "r-v1")
        assert production["revision_made"][1:] == ("created", "v1", "corr-a-v1")
        assert [row[0] for row in production["deploy_steps"]] == [
            "create", "start", "running", "result"
        ]  # fmt: skip
        assert [row[3] for row in production["deploy_steps"]] == [
            f"dc-{first}-create", f"dc-{first}-start", f"dc-{first}-running", None
        ]  # fmt: skip
        assert after["newest_made"]["a"][2:] == ("v2", "corr-a-v2")


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
                            st.sampled_from(
                                ["unchanged", "created", "adopted", "failed", "pending"]
                            ),
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
                            st.sampled_from(
                                ["create", "start", "rolling-update", "running", "result"]
                            ),
                            st.sampled_from(
                                [DeployStatus.DEPLOYED, DeployStatus.IN_SYNC, DeployStatus.FAILED]
                            ),
                            st.integers(0, 2),  # deploys the revision of that many steps ago
                        ),
                        max_size=4,
                    )
                ),
            }
        )
    return sorted(steps, key=lambda s: -s["age"])  # recorded oldest first, as time goes


def replay(ledger: Ledger, steps: list[dict[str, Any]]) -> None:
    latest: dict[str, str] = {}  # path -> its newest revision, which unchanged rows carry
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
            if status in ("created", "adopted"):
                outcome = created(path, f"v{number}", Status(status))
                latest[path] = f"v{number}"
            elif status == "unchanged" and path in latest:
                outcome = Outcome(
                    path=path, status=Status.UNCHANGED, package_id=f"p-{path}",
                    revision_name=latest[path], revision_id=f"r-{latest[path]}",
                )  # fmt: skip
            else:
                outcome = Outcome(path=path, status=Status(status), package_id=f"p-{path}")
            outcomes.append(outcome)
            ledger.add_outcome(sync, outcome)
        for path, environment, step_name, deploy_status, back in step["deploy"]:
            revision = f"v{max(0, number - back)}"
            ledger.record_deployment(
                sync, path=path, package_id=f"p-{path}", step=step_name,
                outcome=DeploymentOutcome(
                    environment=environment, keyset_id=7, status=deploy_status,
                    revision_name=revision, revision_id=f"r-{revision}",
                    deployment_id=f"dep-{path}-{environment}-{revision}",
                    correlation_id=f"dc-{number}-{path}-{environment}-{step_name}",
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


@pytest.mark.slow
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

"""``history``'s rows: what changed (revisions and deployments) newest first, every step on
request, any recorded correlation ID found, and a big ledger read a page at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import LEDGER_FILENAME, Ledger, LedgerEntry

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
Step = tuple[str, str, str, str | None]  # (step, status, environment, correlation id)


def record(
    ledger: Ledger,
    *outcomes: Outcome,
    trigger: str = "poll",
    steps: dict[str, list[Step]] | None = None,
    minute: int = 0,
) -> int:
    """One finished sync: its outcomes, then per path its deployment steps and results."""
    started = T0 + timedelta(minutes=minute)
    result = SyncResult(
        commit=f"{minute:040d}",
        ref="main",
        dry_run=False,
        outcomes=outcomes,
        started_at=started,
        finished_at=started + timedelta(seconds=1),
    )
    sync = ledger.record(result, trigger=trigger)
    for outcome in outcomes:
        for step, status, environment, correlation in (steps or {}).get(outcome.path, []):
            row = DeploymentOutcome(environment, 7, DeployStatus.DEPLOYED, "v2", "r-2", "d-2",
                                    correlation_id=correlation)  # fmt: skip
            ledger.record_deployment(
                sync, path=outcome.path, package_id=outcome.package_id, step=step,
                outcome=row, status=status,
            )  # fmt: skip
        for deployment in outcome.deployments:
            ledger.record_deployment(
                sync, path=outcome.path, package_id=outcome.package_id, step="result",
                outcome=deployment,
            )  # fmt: skip
    return sync


def deployed(
    environment: str, before: str | None, after: str, **extra: object
) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment, 7, DeployStatus.DEPLOYED, after, f"r-{after}", f"d-{after}",
        previous_revision_name=before, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def in_sync(environment: str, revision: str) -> DeploymentOutcome:
    return DeploymentOutcome(environment, 7, DeployStatus.IN_SYNC, revision, f"r-{revision}")


def shape(entries: list[LedgerEntry]) -> list[tuple[str, str | None, str, str]]:
    return [(e.path, e.environment, e.step, e.status) for e in entries]


def test_the_default_is_what_changed_revisions_and_deployments_newest_first(
    ledger: Ledger,
) -> None:
    record(
        ledger,
        Outcome("chat", Status.CREATED, "p-chat", "v1", "r-1", "c-1",
                deployments=(deployed("staging", None, "v1"),)),
        Outcome("geo", Status.UNCHANGED, "p-geo", deployments=(in_sync("staging", "g1"),)),
    )  # fmt: skip
    record(  # a quiet sync: nothing changed anywhere
        ledger,
        Outcome("chat", Status.UNCHANGED, "p-chat", deployments=(in_sync("staging", "v1"),)),
        minute=1,
    )
    record(  # a promotion: no revision, a deployment from v0 to v1 on production
        ledger,
        Outcome("chat", Status.PROMOTED, "p-chat",
                deployments=(deployed("production", "v0", "v1"), in_sync("staging", "v1"))),
        trigger="promote",
        minute=2,
    )  # fmt: skip

    entries = ledger.history(include_quiet=False)

    assert shape(entries) == [
        ("chat", "production", "result", "deployed"),
        ("chat", None, "revision", "created"),
        ("chat", "staging", "result", "deployed"),
    ]
    promoted = entries[0]
    assert (promoted.trigger, promoted.previous_revision_name, promoted.revision_name) == (
        "promote",
        "v0",
        "v1",
    )
    assert promoted.kind == "deployment"
    assert len(ledger.history(include_quiet=True)) == 9  # 5 revision rows, 4 deployment rows


def test_a_removed_package_shows_its_prune_in_plain_history(ledger: Ledger) -> None:
    pruned = DeploymentOutcome(
        "staging", 7, DeployStatus.PRUNED, "v1", "r-1", "d-1", previous_revision_name="v1"
    )
    orphaned = DeploymentOutcome("production", 8, DeployStatus.ORPHANED, "v1", "r-1", "d-9")
    record(
        ledger,
        Outcome("gone", Status.REMOVED, "p-gone", deployments=(orphaned, pruned)),
        steps={"gone": [("stop", "pending", "staging", None), ("stop", "ok", "staging", "c-stop")]},
    )

    assert shape(ledger.history(include_quiet=False)) == [("gone", "staging", "result", "pruned")]
    assert shape(ledger.history(include_quiet=False, steps=True)) == [
        ("gone", "staging", "stop", "pending"),
        ("gone", "staging", "stop", "ok"),
        ("gone", "staging", "result", "pruned"),
    ]


def test_steps_show_every_recorded_step_with_its_correlation_id(ledger: Ledger) -> None:
    record(
        ledger,
        Outcome("chat", Status.CREATED, "p-chat", "v2", "r-2", "c-rev",
                deployments=(deployed("staging", "v1", "v2"),)),
        steps={"chat": [("create", "pending", "staging", None), ("create", "ok", "staging", "c-1"),
                        ("start", "ok", "staging", "c-2"), ("running", "ok", "staging", "c-3")]},
    )  # fmt: skip

    entries = ledger.history(include_quiet=False, steps=True)

    assert [(e.step, e.status, e.correlation_id) for e in entries] == [
        ("revision", "created", "c-rev"),
        ("create", "pending", None),
        ("create", "ok", "c-1"),
        ("start", "ok", "c-2"),
        ("running", "ok", "c-3"),
        ("result", "deployed", None),
    ]
    assert [e.step for e in ledger.history(include_quiet=False)] == ["revision", "result"]


def test_a_correlation_id_finds_its_step_in_any_environment_or_the_revision(
    ledger: Ledger,
) -> None:
    record(
        ledger,
        Outcome("chat", Status.CREATED, "p-chat", "v1", "r-1", "c-rev"),
        Outcome("geo", Status.ADOPTED, "p-geo", "g1", "r-g", None, lookup_correlation_id="c-look",
                deployments=(deployed("production", None, "g1"),)),
        steps={"geo": [("start", "ok", "production", "c-start")]},
    )  # fmt: skip
    for _ in range(3):  # quiet syncs after it
        record(ledger, Outcome("chat", Status.UNCHANGED, "p-chat"), minute=5)

    (start,) = ledger.history(correlation_id="c-start")
    (revision,) = ledger.history(correlation_id="c-rev")
    (adopted,) = ledger.history(correlation_id="c-look")

    assert (start.path, start.environment, start.step) == ("geo", "production", "start")
    assert (revision.path, revision.step, revision.status) == ("chat", "revision", "created")
    assert (adopted.path, adopted.status) == ("geo", "adopted")
    assert ledger.history(correlation_id="c-nowhere") == []
    assert ledger.history(correlation_id="c-start", environment="staging") == []


def test_environment_keeps_that_environments_deployment_rows_only(ledger: Ledger) -> None:
    record(
        ledger,
        Outcome("chat", Status.CREATED, "p-chat", "v2", "r-2",
                deployments=(deployed("staging", "v1", "v2"), deployed("production", "v1", "v2"))),
    )  # fmt: skip

    assert shape(ledger.history(environment="staging", include_quiet=False)) == [
        ("chat", "staging", "result", "deployed")
    ]


def test_a_manifest_name_finds_the_packages_deployment_rows_too(ledger: Ledger) -> None:
    record(
        ledger,
        Outcome("chat-dir", Status.CREATED, None, "v1", "r-1", name="chat",
                deployments=(deployed("staging", None, "v1"),)),
        Outcome("other", Status.CREATED, None, "o1", "r-o",
                deployments=(deployed("staging", None, "o1"),)),
    )  # fmt: skip

    assert shape(ledger.history(package="chat")) == [
        ("chat-dir", None, "revision", "created"),
        ("chat-dir", "staging", "result", "deployed"),
    ]


def test_named_statuses_are_shown_even_when_quiet(ledger: Ledger) -> None:
    record(ledger, Outcome("chat", Status.UNCHANGED, "p-chat", deployments=(in_sync("qa", "v1"),)))

    assert shape(ledger.history(include_quiet=False, statuses=["in-sync"])) == [
        ("chat", "qa", "result", "in-sync")
    ]


@contextmanager
def counting(ledger: Ledger) -> Iterator[list[int]]:
    """Counts the SQLite virtual machine's work (every 1,000 instructions): a measure of rows
    read that does not depend on the machine's speed."""
    ticks = [0]

    def tick() -> int:
        ticks[0] += 1
        return 0

    conn: sqlite3.Connection = ledger._db.conn
    conn.set_progress_handler(tick, 1000)
    try:
        yield ticks
    finally:
        conn.set_progress_handler(None, 1000)


def _big_ledger(path: Path, quiet_syncs: int) -> Ledger:
    """A daemon's ledger: one change, then ``quiet_syncs`` syncs of 20 unchanged packages in
    sync on two environments, then one more change: thousands of rows to page through."""
    ledger = Ledger(path)
    quiet = tuple(
        Outcome(f"pkg-{n:02d}", Status.UNCHANGED, f"p-{n}",
                deployments=(in_sync("staging", "v1"), in_sync("production", "v1")))
        for n in range(20)
    )  # fmt: skip
    record(ledger, Outcome("chat", Status.CREATED, "p-chat", "v1", "r-1", "c-first"))
    with sqlite3.connect(path / LEDGER_FILENAME) as conn:  # one transaction, plain SQLite
        for n in range(quiet_syncs):
            sync = conn.execute(
                "INSERT INTO syncs (commit_sha, ref, dry_run, trigger_name, started_at,"
                " finished_at, total, created, unchanged, would_create, failed, completed)"
                " VALUES (?, 'main', 0, 'poll', ?, ?, 20, 0, 20, 0, 0, 1)",
                (f"{n:040d}", T0.isoformat(), T0.isoformat()),
            ).lastrowid
            conn.executemany(
                "INSERT INTO outcomes (sync_id, path, package_id, status) VALUES (?, ?, ?, ?)",
                [(sync, o.path, o.package_id, o.status.value) for o in quiet],
            )
            conn.executemany(
                "INSERT INTO deployments (sync_id, path, package_id, environment, keyset_id,"
                " step, status, revision_name, recorded_at) VALUES (?, ?, ?, ?, 7, 'result',"
                " 'in-sync', 'v1', ?)",
                [(sync, o.path, o.package_id, d.environment, T0.isoformat())
                 for o in quiet for d in o.deployments],
            )  # fmt: skip
    conn.close()
    record(ledger, Outcome("chat", Status.CREATED, "p-chat", "v2", "r-2", "c-last"), minute=9)
    return ledger


@pytest.mark.slow
def test_a_page_of_the_newest_rows_reads_as_much_of_a_big_ledger_as_of_a_small_one(
    tmp_path: Path,
) -> None:
    small = _big_ledger(tmp_path / "small", quiet_syncs=50)
    big = _big_ledger(tmp_path / "big", quiet_syncs=1_000)  # 60,000 rows
    try:
        with counting(small) as small_work:
            small_page = small.history(include_quiet=True, limit=20)
        with counting(big) as big_work:
            big_page = big.history(include_quiet=True, limit=20)
        with counting(big) as changes_work:
            changes = big.history(include_quiet=False, limit=5)

        assert len(small_page) == len(big_page) == 20
        assert big_page[0].correlation_id == "c-last"
        # The first page costs the same however long the history is.
        assert big_work[0] <= 2 * small_work[0] + 5
        # What changed is found past 1,000 quiet syncs without reading their 60,000 rows:
        # one indexed probe per sync, far less work than reading the rows would be.
        assert [e.correlation_id for e in changes] == ["c-last", "c-first"]
        with counting(big) as rows_work:
            big._db.conn.execute("SELECT count(*), sum(length(status)) FROM deployments").fetchall()
        assert changes_work[0] < rows_work[0]
    finally:
        small.close()
        big.close()

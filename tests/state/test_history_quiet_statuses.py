"""``history`` hides every row that made no revision in a sync in which nothing happened: a
promotion, a rollback or a removed package with nothing to show is as quiet as ``unchanged``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faas_gitops.models import Outcome, Status, SyncResult
from faas_gitops.state import Ledger

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def result(*outcomes: Outcome, minutes: int = 0) -> SyncResult:
    started = T0 + timedelta(minutes=minutes)
    return SyncResult(
        commit="a" * 40,
        ref="main",
        dry_run=False,
        outcomes=outcomes,
        started_at=started,
        finished_at=started + timedelta(seconds=1),
    )


def test_rows_that_made_no_revision_are_hidden_in_a_quiet_sync_and_shown_with_all(
    ledger: Ledger,
) -> None:
    created = Outcome("chat", Status.CREATED, package_id="p1", revision_name="v1")
    ledger.record(result(created))
    for minutes, status in enumerate(
        (Status.UNCHANGED, Status.PROMOTED, Status.ROLLED_BACK, Status.REMOVED), start=1
    ):
        ledger.record(result(Outcome("chat", status, package_id="p1"), minutes=minutes))

    assert [e.status for e in ledger.history(include_quiet=False)] == ["created"]
    assert [e.status for e in ledger.history()] == [
        "removed",
        "rolled-back",
        "promoted",
        "unchanged",
        "created",
    ]


def test_a_removed_package_is_not_remembered_as_in_sync_but_a_promoted_one_is(
    ledger: Ledger,
) -> None:
    ledger.record(
        result(
            Outcome("gone", Status.REMOVED, package_id="p1"),
            Outcome("chat", Status.PROMOTED, package_id="p2"),
        )
    )

    assert ledger.in_sync_commits() == {"chat": "a" * 40}

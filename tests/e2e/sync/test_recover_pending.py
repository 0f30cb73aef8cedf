"""A killed run's unanswered creates are settled as a step of their own, before any read.

The rows are written into the ledger as a killed run leaves them (``pending``, naming the
package, the revision name and the digest it sent); the next ``--sync-once`` must answer each
from what the API holds, whether or not the commit still has that directory, and whether or
not its manifest still reads.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.state import Ledger
from tests.gitrepo import GitRepo
from tests.harness import CHAT_ID, RunCli

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


def leave_pending(state: Path, commit: str, *rows: dict[str, str | None]) -> None:
    """What a run killed between sending creates and journaling their answers leaves."""
    ledger = Ledger(state)
    try:
        sync_id = ledger.begin_sync(
            commit=commit, ref="HEAD", trigger="sync-once", dry_run=False,
            started_at=datetime.now(UTC),
        )  # fmt: skip
        for row in rows:
            ledger.record_pending(
                sync_id,
                path=str(row["path"]),
                package_id=row.get("package_id"),
                name=row.get("name"),
                revision_name=str(row["revision_name"]),
                digest=str(row.get("digest") or "0" * 64),
            )
    finally:
        ledger.close()


def journaled(state: Path, path: str) -> list[tuple[str, str | None, str | None]]:
    """Status, revision id and error of every row journaled for ``path``, oldest first."""
    with sqlite3.connect(state / "ledger.sqlite3") as conn:
        rows = conn.execute(
            "SELECT status, revision_id, error FROM outcomes WHERE path = ? ORDER BY id", (path,)
        ).fetchall()
    conn.close()
    return [(status, revision_id, error) for status, revision_id, error in rows]


def test_pending_creates_are_answered_even_for_a_directory_the_commit_no_longer_has(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert run_cli().code == 0
    (landed,) = emulator.store.revisions(CHAT_ID)[-1:]
    leave_pending(
        state,
        repo.head(),
        {"path": "moved-away", "package_id": CHAT_ID, "revision_name": landed["name"]},
        {"path": "never-sent", "package_id": CHAT_ID, "revision_name": "no-such-revision"},
    )

    assert run_cli().code == 0

    assert journaled(state, "moved-away") == [("adopted", landed["id"], None)]
    ((status, revision_id, error),) = journaled(state, "never-sent")
    assert (status, revision_id) == ("failed", None)
    assert "never created" in (error or "")


def test_a_name_based_create_left_pending_is_adopted_by_the_name_it_sent(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert run_cli().code == 0
    landed = emulator.store.revisions(CHAT_ID)[-1]
    leave_pending(
        state,
        repo.head(),
        {"path": "by-name", "name": "chat-moderation", "revision_name": landed["name"]},
        {"path": "nobody", "name": "no-package-has-this-name", "revision_name": "v1"},
    )

    assert run_cli().code == 0

    assert journaled(state, "by-name") == [("adopted", landed["id"], None)]
    assert [status for status, _, _ in journaled(state, "nobody")] == ["failed"]


def test_a_pending_create_is_settled_before_its_package_is_read_even_if_it_no_longer_reads(
    run_cli: RunCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert run_cli().code == 0
    landed = emulator.store.revisions(CHAT_ID)[-1]
    leave_pending(
        state,
        repo.head(),
        {"path": "chat-moderation", "package_id": CHAT_ID, "revision_name": landed["name"]},
    )
    repo.write("chat-moderation/package.yaml", "packageId: [not, a, string]\n")
    repo.commit("Break the manifest")

    assert run_cli().code == 1  # the broken package fails; its killed create is still answered

    statuses = [status for status, _, _ in journaled(state, "chat-moderation")]
    assert statuses == ["created", "adopted", "failed"]

"""What the journal tests share: killing a real ``faas-gitops`` after some creates landed, and
checking the ledger against what the emulator really created and answered.

The emulator's request log is the ground truth: each answered POST carries the correlation id
it was answered with, and its store holds the revisions that exist. The ledger is read through
``faas-gitops history --output json``, the way a person asking "what happened?" would read it.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.reliability_support import kill_when, package_id, run_cli


def answered_posts(emulator: RunningEmulator) -> dict[str, str]:
    """Correlation id -> package id of every create the emulator answered with a 2xx."""
    answered: dict[str, str] = {}
    for record in emulator.requests:
        if record.method != "POST" or not record.path.endswith("/package-revisions"):
            continue
        if 200 <= record.status < 300 and record.correlation_id and isinstance(record.body, dict):
            answered[record.correlation_id] = str(record.body["packageId"])
    return answered


def kill_after_creates(
    process: subprocess.Popen[bytes], emulator: RunningEmulator, creates: int
) -> int:
    """SIGKILL ``process`` once ``creates`` POSTs were answered; return how many had been."""
    kill_when(process, lambda: len(answered_posts(emulator)) >= creates, "not enough creates")
    return len(answered_posts(emulator))


def history(state: Path, env: dict[str, str], cwd: Path) -> list[dict[str, Any]]:
    """Every ledger row, through ``faas-gitops history --output json`` (which must exit 0)."""
    done = run_cli(
        "history", "--state-dir", str(state), "--all", "--output", "json", "--limit", "10000",
        env=env, cwd=cwd,
    )  # fmt: skip
    assert done.code == 0, done.output
    assert "Traceback" not in done.stderr
    entries: list[dict[str, Any]] = json.loads(done.stdout)["entries"]
    return entries


def server_revisions(emulator: RunningEmulator, names: Sequence[str]) -> dict[str, list[str]]:
    """Revision ids per package id, as the emulator's store holds them."""
    return {
        package_id(name): [rev["id"] for rev in emulator.store.revisions(package_id(name))]
        for name in names
    }


def assert_ledger_tells_the_truth(
    entries: list[dict[str, Any]],
    emulator: RunningEmulator,
    names: Sequence[str],
    *,
    in_flight: int,
) -> Counter[str]:
    """The ledger against the server after a complete rerun; returns the status counts.

    Every revision on the server is recorded (created or adopted) with its revision id, exactly
    once; each ``created`` row has the correlation id of an answered POST of its package, no
    answer is claimed twice; at most ``in_flight`` revisions lack a correlation id, and those
    are ``adopted``; a create that never landed is ``failed`` saying so. Nothing stays pending.
    """
    statuses = Counter(entry["status"] for entry in entries)
    assert set(statuses) <= {"created", "adopted", "unchanged", "failed"}, statuses
    # A create the killed run sent that never reached the store is settled as failed, saying so.
    abandoned = [e for e in entries if e["status"] == "failed"]
    for entry in abandoned:
        assert entry["revisionId"] is None, entry
        assert "never created" in (entry["error"] or ""), entry
    revisions = server_revisions(emulator, names)
    assert all(len(ids) == 1 for ids in revisions.values()), "a package got a duplicate"
    on_server = {ids[0]: pid for pid, ids in revisions.items()}

    claims = [e for e in entries if e["status"] in ("created", "adopted")]
    claimed = Counter(e["revisionId"] for e in claims)
    assert set(claimed) == set(on_server), "the ledger and the server disagree on revisions"
    assert max(claimed.values()) == 1, "a revision is claimed by two rows"
    for entry in claims:
        assert on_server[entry["revisionId"]] == entry["packageId"], entry

    answered = answered_posts(emulator)
    for entry in claims:
        if entry["status"] == "created" or entry["correlationId"] is not None:
            cid = entry["correlationId"]
            assert cid in answered, f"not the id of an answered POST: {entry}"
            assert answered[cid] == entry["packageId"], entry
    cids = [e["correlationId"] for e in claims if e["correlationId"] is not None]
    assert len(cids) == len(set(cids)), "one answer's correlation id is claimed twice"
    without = [e for e in claims if e["correlationId"] is None]
    assert all(e["status"] == "adopted" for e in without), without
    assert len(without) + len(abandoned) <= in_flight, (len(without), len(abandoned))
    return statuses

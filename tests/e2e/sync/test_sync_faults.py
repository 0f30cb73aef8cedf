"""Sync-once against an emulator that misbehaves on purpose: throttling, 5xx, lost answers."""

from __future__ import annotations

import json

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.harness import CHAT_ID, WEBHOOKS_ID, RunCli

# Seeded faults, and a Retry-After of 0 so the retried throttling costs no wall time.
pytestmark = [pytest.mark.both_modes, pytest.mark.emulator(seed=7, retry_after=0), pytest.mark.slow]


def revision_counts(emulator: RunningEmulator) -> dict[str, int]:
    return {p["name"]: len(emulator.store.revisions(p["id"])) for p in emulator.store.packages()}


def test_throttling_and_server_errors_are_retried_until_the_sync_converges(
    run_cli: RunCli, emulator: RunningEmulator
) -> None:
    # Forced, so the run is the same every time: 5xx and 429 on reads, 5xx on a write.
    emulator.store.force_error(CHAT_ID, status=503, code="FAAS-500", methods=("GET",), times=2)
    emulator.store.force_error(WEBHOOKS_ID, status=429, code="FAAS-429", methods=("GET",), times=1)
    emulator.store.force_error(WEBHOOKS_ID, status=500, code="FAAS-500", methods=("POST",), times=1)

    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    statuses = {r.status for r in emulator.requests}
    assert 429 in statuses
    assert statuses & {500, 502, 503}
    assert revision_counts(emulator) == {
        "chat-moderation": 1,
        "webhooks": 1,
        "presence-tracker": 1,
    }
    retries = [json.loads(line) for line in result.stderr.splitlines() if "api.retry" in line]
    assert len(retries) == 3  # two 503s and one 429 on reads; the failed write is looked up


@pytest.mark.emulator(fault_drop_after_commit=1.0)
def test_a_create_whose_answer_is_lost_is_adopted_not_duplicated(
    run_cli: RunCli, emulator: RunningEmulator
) -> None:
    result = run_cli("--output", "json")

    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    # Our create landed but its answer never arrived: adopted, and with no correlation ID,
    # since none of our own creates was answered (never the re-listing GET's).
    assert {p["status"] for p in doc["packages"]} == {"adopted"}
    assert all(p["revisionId"] for p in doc["packages"])
    assert all(p["correlationId"] is None for p in doc["packages"])
    assert doc["summary"]["created"] == 0
    assert revision_counts(emulator) == {
        "chat-moderation": 1,
        "webhooks": 1,
        "presence-tracker": 1,
    }
    assert "revision.adopted" in result.stderr

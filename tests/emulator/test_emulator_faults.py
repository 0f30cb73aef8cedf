"""Deliberate misbehaviour: latency, 429, 5xx and drops, reproducible with a seed."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from faas_gitops.emulator.requestlog import FAULT_DROPPED
from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).

REQUESTS = 40


def statuses(start_emulator: StartEmulator, faas_client_for: Any, **faults: Any) -> list[int]:
    emu = start_emulator(**faults)
    faas = faas_client_for(emu)
    return [faas.get("/v2/faas/packages").status_code for _ in range(REQUESTS)]


@pytest.mark.slow
def test_latency_delays_every_faas_request(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faas = faas_client_for(start_emulator(latency_ms=120, latency_jitter_ms=30))

    started = time.monotonic()
    faas.get("/v2/faas/packages")
    elapsed = time.monotonic() - started

    assert 0.12 <= elapsed < 1.0


@pytest.mark.slow
def test_faults_do_not_touch_paths_outside_v2_faas(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faas = faas_client_for(start_emulator(fault_5xx=1.0, latency_ms=500))

    started = time.monotonic()
    response = faas.get("/healthz")

    assert response.status_code == 404
    assert time.monotonic() - started < 0.5


@pytest.mark.slow
def test_injected_429s_carry_retry_after_and_the_error_envelope(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(fault_429=1.0, retry_after=7)

    response = faas_client_for(emu).get("/v2/faas/packages")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["errors"][0]["code"] == "FAAS-429"
    assert emu.requests[0].fault == "429"


@pytest.mark.slow
def test_injected_5xx_answers_are_500_502_or_503_with_faas_500(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faas = faas_client_for(start_emulator(fault_5xx=1.0, seed=3))

    answers = [faas.get("/v2/faas/packages") for _ in range(30)]

    assert {a.status_code for a in answers} == {500, 502, 503}
    assert {a.json()["errors"][0]["code"] for a in answers} == {"FAAS-500"}


@pytest.mark.slow
def test_the_same_seed_meets_the_same_faults_in_the_same_order(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faults = {"fault_429": 0.25, "fault_5xx": 0.25}

    first = statuses(start_emulator, faas_client_for, seed=11, **faults)
    second = statuses(start_emulator, faas_client_for, seed=11, **faults)
    other = statuses(start_emulator, faas_client_for, seed=12, **faults)

    assert first == second
    assert {200, 429} <= set(first)
    assert set(first) & {500, 502, 503}
    assert other != first


def test_a_dropped_create_is_stored_but_the_client_gets_a_transport_error(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(fault_drop_after_commit=1.0)
    faas = faas_client_for(emu)
    package = emu.store.add_package(name="chat")

    with pytest.raises(httpx.TransportError):
        faas.post(
            "/v2/faas/package-revisions",
            json={"packageId": package["id"], "name": "v1", "functions": [function()]},
        )

    assert [r["name"] for r in emu.store.revisions(package["id"])] == ["v1"]
    record = emu.requests[-1]
    assert (record.status, record.fault) == (0, FAULT_DROPPED)


def test_drops_spare_reads_and_failed_creates(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(fault_drop_after_commit=1.0)
    faas = faas_client_for(emu)

    listed = faas.get("/v2/faas/packages")
    refused = faas.post("/v2/faas/package-revisions", json={"packageId": "nope"})

    assert listed.status_code == 200
    assert refused.status_code == 400


@pytest.mark.slow
def test_a_dropped_package_create_is_stored_too(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(fault_drop_after_commit=1.0)

    with pytest.raises(httpx.TransportError):
        faas_client_for(emu).post("/v2/faas/packages", json={"name": "chat"})

    assert [p["name"] for p in emu.store.packages()] == ["chat"]


@pytest.mark.slow
def test_drops_are_drawn_from_the_seed_like_other_faults(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    def outcomes(emu: RunningEmulator) -> list[str]:
        faas = faas_client_for(emu)
        result = []
        for i in range(12):
            try:
                faas.post("/v2/faas/packages", json={"name": f"p{i}"})
                result.append("answered")
            except httpx.TransportError:
                result.append("dropped")
        return result

    first = outcomes(start_emulator(fault_drop_after_commit=0.5, seed=5))
    second = outcomes(start_emulator(fault_drop_after_commit=0.5, seed=5))

    assert first == second
    assert set(first) == {"answered", "dropped"}

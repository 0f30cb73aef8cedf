"""Fixtures for the emulator's conformance tests: real servers on 127.0.0.1, httpx clients.

Most tests share one default emulator (reset between tests) because starting and stopping
uvicorn costs ~0.2 s; tests that need another configuration start their own with
``start_emulator`` (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest

from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import HEADERS
from tests.harness import API_KEY


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(api_key=API_KEY, seed=7)) as running:
        yield running


@pytest.fixture
def emu(shared_emulator: RunningEmulator) -> RunningEmulator:
    """The shared default emulator, emptied: shuffled lists, code omitted, 400 not-found, 201."""
    shared_emulator.store.reset()
    shared_emulator.clear_requests()
    return shared_emulator


@pytest.fixture
def faas(emu: RunningEmulator) -> Iterator[httpx.Client]:
    """An authenticated client for ``emu``."""
    with httpx.Client(base_url=emu.url, headers=HEADERS, timeout=5) as client:
        yield client


@pytest.fixture
def faas_client_for() -> Iterator[Callable[[RunningEmulator], httpx.Client]]:
    """An authenticated client for any running emulator; closed after the test."""
    with ExitStack() as stack:

        def make(running: RunningEmulator) -> httpx.Client:
            return stack.enter_context(
                httpx.Client(base_url=running.url, headers=HEADERS, timeout=5)
            )

        yield make

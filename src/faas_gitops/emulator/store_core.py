"""What every part of the store shares: the records, one lock, the clock, and saving.

The store is split by resource (``package_store``, ``revision_store``, ``deployment_store``),
each a mixin over this core, so that ``EmulatorStore`` keeps one lock and one set of records
while each resource's rules live in a module of their own. Records are kept in the shape the
API shows them (camelCase dicts) and copied on the way out, so nobody can change the store by
mutating an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from faas_gitops.emulator import lifecycle, persistence
from faas_gitops.emulator.clock import Ticker, format_timestamp
from faas_gitops.emulator.forced import ForcedErrors
from faas_gitops.emulator.records import StoreData


class StoreCore:
    """The shared state; resource mixins add the operations."""

    def __init__(self, state_file: Path | None, clock: Callable[[], float]) -> None:
        self._lock = threading.RLock()
        self._state_file = state_file
        self._data = StoreData()
        self._ticker = Ticker(clock)
        self._forced = ForcedErrors()
        if state_file is not None and state_file.exists():
            self._ticker.last_ms = persistence.load(state_file, self._data)

    def _tick(self) -> int:
        return self._ticker.tick()

    def _created_now(self) -> dict[str, str]:
        """The stamps of a record made now: created and updated at the same instant (one tick),
        as every resource the API creates shows them."""
        stamp = format_timestamp(self._tick())
        return {"createdDttm": stamp, "updatedDttm": stamp}

    def _save(self) -> None:
        if self._state_file is not None:
            persistence.save(self._state_file, self._data, self._ticker.last_ms)

    def _deployments(self) -> Iterator[dict[str, Any]]:
        """Every deployment record, its transition settled against the clock (lock held)."""
        now = self._ticker.now_ms()
        for record in self._data.deployments.values():
            lifecycle.settle(record, now)
            yield record

    def _deployment_counters(self, revision_ids: set[str]) -> dict[str, int]:
        """``packageDeploymentsTotal``/``Running`` and ``revisionsRunning`` for these revisions."""
        total = running = 0
        running_revisions: set[str] = set()
        for record in self._deployments():
            if record["packageRevisionId"] not in revision_ids:
                continue
            total += 1
            if record["state"] == lifecycle.RUNNING:
                running += 1
                running_revisions.add(record["packageRevisionId"])
        return {
            "packageDeploymentsTotal": total,
            "packageDeploymentsRunning": running,
            "revisionsRunning": len(running_revisions),
        }

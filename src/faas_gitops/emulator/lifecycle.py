"""The deployment state machine, kept on plain records and settled lazily against the clock.

A start or rolling update puts a deployment into a transitional state (``STARTING``,
``STOPPING``) with the state it reaches and the time it reaches it (``_pending``); whoever
reads the record next, at or after that time, sees the final state. So the outcome depends only
on the clock, never on a background thread. REFERENCE.md §6 knows ``STOPPED``, ``RUNNING``
and (from v1) ``STARTING``; ``STOPPING`` is the emulator's name for the other direction.
"""

from __future__ import annotations

import copy
from typing import Any

from faas_gitops.emulator.clock import format_timestamp

STOPPED = "STOPPED"
STARTING = "STARTING"
RUNNING = "RUNNING"
STOPPING = "STOPPING"
TRANSITIONAL = frozenset({STARTING, STOPPING})
#: States that hold a slot of the running-deployments limit.
HOLDS_SLOT = frozenset({RUNNING, STARTING})

_PENDING = "_pending"
PACKAGE_ID = "_packageId"


def set_state(record: dict[str, Any], state: str, stamp: str) -> None:
    """Move the deployment and every function deployment in it to ``state`` now."""
    record["state"] = state
    record["updatedDttm"] = stamp
    record[_PENDING] = None
    for function in record["functionDeployments"]:
        function["state"] = state
        function["updatedDttm"] = stamp


def begin(record: dict[str, Any], shown: str, target: str, now_ms: int, delay_ms: int) -> None:
    """Show ``shown`` until ``delay_ms`` have passed, then ``target`` (at once if no delay)."""
    if delay_ms <= 0:
        set_state(record, target, format_timestamp(now_ms))
        return
    set_state(record, shown, format_timestamp(now_ms))
    record[_PENDING] = {"state": target, "atMs": now_ms + delay_ms}


def settle(record: dict[str, Any], now_ms: int) -> None:
    """Finish a transition whose time has come (stamped with that time, not the reader's)."""
    pending = record.get(_PENDING)
    if pending is not None and now_ms >= pending["atMs"]:
        set_state(record, pending["state"], format_timestamp(pending["atMs"]))


def view(record: dict[str, Any]) -> dict[str, Any]:
    """The deployment as the API shows it: without the emulator's bookkeeping keys."""
    return {key: copy.deepcopy(value) for key, value in record.items() if not key.startswith("_")}

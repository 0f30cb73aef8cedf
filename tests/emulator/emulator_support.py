"""Helpers for the emulator's conformance tests: the test key, headers, a valid function.

Fixtures are in ``emulator_fixtures``, loaded by each test module through ``pytest_plugins``
(not a ``conftest.py``: test directories here have no ``__init__.py``, so a second
``conftest`` module would clash with ``tests/sync/conftest.py`` for mypy and for imports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faas_gitops.emulator.server import RunningEmulator

API_KEY = "test-key"
HEADERS = {"Authorization": API_KEY, "PubNub-Version": "2026-05-26"}

StartEmulator = Callable[..., RunningEmulator]


def function(name: str = "f", **fields: Any) -> dict[str, Any]:
    """A valid function item of a create body; ``fields`` override or add keys."""
    item: dict[str, Any] = {
        "name": name,
        "type": "BEFORE_PUBLISH",
        "language": "JAVASCRIPT",
        "code": "export default (request) => request.ok();",
        "config": {},
    }
    item.update(fields)
    return item

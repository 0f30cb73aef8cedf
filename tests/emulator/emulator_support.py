"""Helpers for the emulator's conformance tests: the headers of an accepted request, a valid
function. The fixtures are in this folder's ``conftest.py`` and in ``tests/conftest.py``."""

from __future__ import annotations

from typing import Any

from tests.harness import API_KEY

HEADERS = {"Authorization": API_KEY, "PubNub-Version": "2026-05-26"}


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

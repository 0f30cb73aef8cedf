"""The emulator's records: what the store holds and the ``--state-file`` saves.

Its own module so that ``store_core`` (which keeps them) and ``persistence`` (which saves and
loads them) both depend on it, and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class StoreData:
    """Every record, by id, in creation order (dicts keep insertion order)."""

    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    revisions_by_package: dict[str, list[str]] = field(default_factory=dict)
    function_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clear(self) -> None:
        for records in (
            self.packages,
            self.revisions,
            self.revisions_by_package,
            self.function_ids,
            self.deployments,
        ):
            records.clear()

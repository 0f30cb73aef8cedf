"""The emulator's state: packages, revisions, deployments, plus forced errors for tests.

One lock guards everything, so a test thread can add packages or force errors while the server
thread answers requests. The rules of each resource are in its own module (``package_store``,
``revision_store``, ``deployment_store``); this class composes them and adds what concerns the
whole store. Choices where REFERENCE.md is silent that every resource shares:

* ``createdDttm`` is strictly increasing across every object the store creates: if the clock
  did not advance, the next object gets +1 ms. ``updatedDttm`` comes from the same tick.
* With a ``state_file`` every mutation rewrites it atomically (``persistence``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from faas_gitops.emulator import seeding
from faas_gitops.emulator.clock import format_timestamp
from faas_gitops.emulator.deployment_store import DeploymentStore
from faas_gitops.emulator.package_store import PackageStore
from faas_gitops.emulator.problems import ApiProblem
from faas_gitops.emulator.revision_store import RevisionStore

__all__ = ["EmulatorStore", "format_timestamp"]


class EmulatorStore(PackageStore, RevisionStore, DeploymentStore):
    """Thread-safe in-memory store, optionally persisted to a JSON ``state_file``."""

    def __init__(
        self, state_file: Path | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(state_file, clock)

    def reset(self) -> None:
        """Forget every record and forced error (tests share one server this way)."""
        with self._lock:
            self._data.clear()
            self._forced.clear()
            self._save()

    def seed_from(self, directory: Path) -> list[dict[str, Any]]:
        """Create the packages named by the ``package.yaml`` files under ``directory``."""
        return seeding.seed_from(self, directory)

    def force_error(  # noqa: PLR0917 - mirrors the error envelope; callers pass keywords
        self,
        package_id: str,
        status: int = 403,
        code: str = "FAAS-403",
        message: str = "Insufficient permissions (forced by the emulator)",
        methods: Iterable[str] | None = ("GET", "POST"),
        times: int | None = None,
    ) -> None:
        """Make requests concerning ``package_id`` answer this error.

        "Concerning" means: get/update/delete of the package, its revision list, creating a
        revision with that ``packageId``, get/update/delete/function list of its revisions, and
        every request about a deployment of one of its revisions.
        ``methods=None`` matches every method; ``times=None`` means forever, ``N`` the next N
        matching requests. Several forced errors on one package apply first-registered first.
        """
        self._forced.add(package_id, status, code, message, methods, times)

    def clear_forced_errors(self) -> None:
        self._forced.clear()

    def take_forced_error(self, package_id: str, method: str) -> ApiProblem | None:
        """The forced error this request meets, counting it against ``times``; else ``None``."""
        return self._forced.take(package_id, method)

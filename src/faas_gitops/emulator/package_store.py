"""Packages: names unique per store (``FAAS-409``); deleting one deletes its revisions.

A package's counters (``revisionsTotal``, ``revisionsRunning``, ``packageDeploymentsTotal``,
``packageDeploymentsRunning``) are computed from the records on every read, so they are true.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

import structlog

from faas_gitops.emulator import lifecycle
from faas_gitops.emulator.clock import format_timestamp
from faas_gitops.emulator.problems import ApiProblem, conflict, package_not_found
from faas_gitops.emulator.store_core import StoreCore

_log = structlog.get_logger(__name__)


class PackageStore(StoreCore):
    def packages(self) -> list[dict[str, Any]]:
        """Every package as the API shows it, in creation order."""
        with self._lock:
            return [self._package_view(pkg) for pkg in self._data.packages.values()]

    def get_package(self, package_id: str) -> dict[str, Any]:
        """The package as the API shows it; ``NotFound`` if there is none."""
        with self._lock:
            return self._package_view(self._package(package_id))

    def has_package(self, package_id: str | None = None, name: str | None = None) -> bool:
        """Whether a package with this id (or, without an id, this name) exists."""
        with self._lock:
            if package_id is not None:
                return package_id in self._data.packages
            return any(pkg["name"] == name for pkg in self._data.packages.values())

    def add_package(
        self,
        name: str,
        description: str = "",
        package_id: str | None = None,
        *,
        tags: Sequence[str] = (),
        api_managed: bool = False,
    ) -> dict[str, Any]:
        """Create a package without revisions; ``FAAS-409`` if the name or id is taken."""
        with self._lock:
            pid = package_id or str(uuid.uuid4())
            if pid in self._data.packages:
                raise conflict(f"Package with ID [{pid}] already exists")
            self._check_package_name(name, exclude=None)
            self._data.packages[pid] = {
                "id": pid,
                "packageBlueprintId": None,
                "name": name,
                "description": description,
                "apiManaged": api_managed,
                "tags": list(tags),
                **self._created_now(),
            }
            self._data.revisions_by_package[pid] = []
            self._data.function_ids[pid] = {}
            self._save()
            _log.debug("package created", package_id=pid, name=name)
            return self._package_view(self._data.packages[pid])

    def update_package(
        self,
        package_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Change the given fields (``None`` keeps the old value)."""
        with self._lock:
            pkg = self._package(package_id)
            if name is not None:
                self._check_package_name(name, exclude=package_id)
                pkg["name"] = name
            if description is not None:
                pkg["description"] = description
            if tags is not None:
                pkg["tags"] = list(tags)
            pkg["updatedDttm"] = format_timestamp(self._tick())
            self._save()
            return self._package_view(pkg)

    def delete_package(self, package_id: str) -> None:
        """Remove the package, its revisions and their (stopped) deployments.

        ``FAAS-1016`` while any deployment of it runs or is in transition (REFERENCE.md §8).
        """
        with self._lock:
            self._package(package_id)
            revision_ids = set(self._data.revisions_by_package.get(package_id, []))
            doomed = [r for r in self._deployments() if r["packageRevisionId"] in revision_ids]
            if any(record["state"] != lifecycle.STOPPED for record in doomed):
                raise ApiProblem(
                    409,
                    "FAAS-1016",
                    f"Package with ID [{package_id}] cannot be deleted: it has active deployments",
                )
            for record in doomed:
                del self._data.deployments[record["id"]]
            del self._data.packages[package_id]
            for rid in self._data.revisions_by_package.pop(package_id, []):
                self._data.revisions.pop(rid, None)
            self._data.function_ids.pop(package_id, None)
            self._save()

    def _package(self, package_id: str) -> dict[str, Any]:
        pkg = self._data.packages.get(package_id)
        if pkg is None:
            raise package_not_found(package_id)
        return pkg

    def _package_view(self, pkg: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(pkg)
        revision_ids = self._data.revisions_by_package.get(pkg["id"], [])
        view["revisionsTotal"] = len(revision_ids)
        view.update(self._deployment_counters(set(revision_ids)))
        return view

    def _check_package_name(self, name: str, exclude: str | None) -> None:
        for pid, pkg in self._data.packages.items():
            if pid != exclude and pkg["name"] == name:
                raise conflict(f"Package with name [{name}] already exists")

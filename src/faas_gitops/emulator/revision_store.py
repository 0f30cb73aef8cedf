"""Package revisions and their functions.

* Revision names are unique per package (``FAAS-409``); functions are immutable (§8).
* A function's ``id`` is its stable identity within a package (same name, same ``id`` in every
  revision); ``functionRevisionId`` is new for every revision (REFERENCE.md §1 guesses this).
* ``functions`` embedded in a revision are ordered by ``sortOrder`` (ties keep body order).
* ``packageDeploymentsTotal``/``Running`` are computed from the deployments on every read.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog

from faas_gitops.emulator import lifecycle
from faas_gitops.emulator.clock import format_timestamp
from faas_gitops.emulator.problems import (
    ApiProblem,
    conflict,
    package_not_found,
    revision_not_found,
)
from faas_gitops.emulator.store_core import StoreCore
from faas_gitops.emulator.validation import FunctionInput, parse_functions

_log = structlog.get_logger(__name__)

_NO_LIMIT = 1 << 30
_COUNTERS = ("packageDeploymentsTotal", "packageDeploymentsRunning")


def _new_id() -> str:
    return str(uuid.uuid4())


class RevisionStore(StoreCore):
    def revisions(self, package_id: str) -> list[dict[str, Any]]:
        """The package's revisions with full functions, in creation order."""
        with self._lock:
            if package_id not in self._data.packages:
                raise package_not_found(package_id)
            return [
                self._revision_view(self._data.revisions[rid])
                for rid in self._data.revisions_by_package.get(package_id, [])
            ]

    def get_revision(self, revision_id: str) -> dict[str, Any]:
        with self._lock:
            return self._revision_view(self._revision(revision_id))

    def add_revision(
        self,
        package_id: str,
        name: str,
        functions: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> dict[str, Any]:
        """Create a revision from API-shaped function dicts (validated as the API would).

        Unlike the HTTP endpoint it accepts an empty ``functions`` list and has no
        functions-per-revision limit, so tests can build odd remote states.
        """
        parsed = parse_functions(
            [dict(function) for function in functions], max_functions=_NO_LIMIT, required=False
        )
        return self.create_revision(package_id, name, parsed, description)

    def create_revision(
        self,
        package_id: str,
        name: str,
        functions: Iterable[FunctionInput],
        description: str = "",
    ) -> dict[str, Any]:
        """Store a revision of already validated functions; ``FAAS-409`` on a taken name."""
        with self._lock:
            if package_id not in self._data.packages:
                raise package_not_found(package_id)
            self._check_revision_name(package_id, name, exclude=None)
            rid = str(uuid.uuid4())
            created = self._created_now()
            ids = self._data.function_ids.setdefault(package_id, {})
            items = [
                self._function_record(function, rid, ids.setdefault(function.name, _new_id()))
                for function in sorted(functions, key=lambda f: f.sort_order)
            ]
            self._data.revisions[rid] = {
                "id": rid,
                "packageId": package_id,
                "name": name,
                "description": description,
                **created,
                "functions": items,
            }
            self._data.revisions_by_package[package_id].append(rid)
            self._save()
            _log.debug("revision created", package_id=package_id, revision_id=rid, name=name)
            return self._revision_view(self._data.revisions[rid])

    def update_revision(
        self, revision_id: str, *, name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Change name and/or description; functions are immutable (REFERENCE.md §8)."""
        with self._lock:
            rev = self._revision(revision_id)
            if name is not None:
                self._check_revision_name(rev["packageId"], name, exclude=revision_id)
                rev["name"] = name
            if description is not None:
                rev["description"] = description
            rev["updatedDttm"] = format_timestamp(self._tick())
            self._save()
            return self._revision_view(rev)

    def delete_revision(self, revision_id: str) -> None:
        """Remove the revision and its stopped deployments; ``FAAS-1017`` if any is active."""
        with self._lock:
            rev = self._revision(revision_id)
            doomed = [r for r in self._deployments() if r["packageRevisionId"] == revision_id]
            if any(record["state"] != lifecycle.STOPPED for record in doomed):
                raise ApiProblem(
                    409,
                    "FAAS-1017",
                    f"Package revision with ID [{revision_id}] cannot be deleted: "
                    "it has active deployments",
                )
            for record in doomed:
                del self._data.deployments[record["id"]]
            del self._data.revisions[revision_id]
            self._data.revisions_by_package[rev["packageId"]].remove(revision_id)
            self._save()

    def _function_record(self, function: FunctionInput, rid: str, fid: str) -> dict[str, Any]:
        return {
            "id": fid,
            "functionRevisionId": str(uuid.uuid4()),
            "packageRevisionId": rid,
            "name": function.name,
            "language": function.language,
            "type": function.type,
            "sortOrder": function.sort_order,
            "code": function.code,
            "config": copy.deepcopy(function.config),
            **self._created_now(),
        }

    def _revision(self, revision_id: str) -> dict[str, Any]:
        rev = self._data.revisions.get(revision_id)
        if rev is None:
            raise revision_not_found(revision_id)
        return rev

    def _check_revision_name(self, package_id: str, name: str, exclude: str | None) -> None:
        for rid in self._data.revisions_by_package.get(package_id, []):
            if rid != exclude and self._data.revisions[rid]["name"] == name:
                raise conflict(
                    f"Package revision with name [{name}] already exists in package [{package_id}]"
                )

    def _revision_view(self, rev: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(rev)
        counters = self._deployment_counters({rev["id"]})
        view.update({key: counters[key] for key in _COUNTERS})
        # the documented key order: counters before the timestamps and functions
        order = ("id", "packageId", "name", "description", *_COUNTERS)
        return {**{key: view[key] for key in order}, **view}

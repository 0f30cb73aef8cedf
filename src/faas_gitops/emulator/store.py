"""The emulator's state: packages, revisions and their functions, plus forced errors for tests.

One lock guards everything, so a test thread can add packages or force errors while the server
thread answers requests. Objects are kept in the shape the API shows them (camelCase dicts) and
copied on the way out, so nobody can change the store by mutating an answer.

Choices where REFERENCE.md is silent (documented here because the app inherits them):

* ``createdDttm`` is strictly increasing across every object the store creates (packages,
  revisions, function revisions): if the clock did not advance, the next object gets +1 ms.
  ``updatedDttm`` comes from the same tick.
* A function's ``id`` is its stable identity within a package (same name, same ``id`` in every
  revision); ``functionRevisionId`` is new for every revision (REFERENCE.md §1 guesses this).
* Package names are unique per store, revision names unique per package (``FAAS-409``).
* ``functions`` embedded in a revision are ordered by ``sortOrder`` (ties keep body order).
* Deleting a package deletes its revisions.
* With a ``state_file`` every mutation rewrites it atomically (temp file + rename); forced
  errors are test scaffolding and are not persisted.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import yaml

from faas_gitops.emulator.problems import (
    ApiProblem,
    conflict,
    package_not_found,
    revision_not_found,
)
from faas_gitops.emulator.validation import FunctionInput, parse_functions

_log = structlog.get_logger("faas_gitops.emulator.store")

_STATE_VERSION = 1
_NO_LIMIT = 1 << 30


def format_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as the API prints ``createdDttm``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


@dataclass(slots=True)
class _ForcedError:
    status: int
    code: str
    message: str
    methods: frozenset[str] | None
    remaining: int | None


class EmulatorStore:
    """Thread-safe in-memory store, optionally persisted to a JSON ``state_file``."""

    def __init__(
        self, state_file: Path | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._state_file = state_file
        self._packages: dict[str, dict[str, Any]] = {}
        self._revisions: dict[str, dict[str, Any]] = {}
        self._revisions_by_package: dict[str, list[str]] = {}
        self._function_ids: dict[str, dict[str, str]] = {}
        self._last_ms = 0
        self._forced: dict[str, list[_ForcedError]] = {}
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # ----------------------------------------------------------------- reading

    def packages(self) -> list[dict[str, Any]]:
        """Every package as the API shows it, in creation order."""
        with self._lock:
            return [self._package_view(pkg) for pkg in self._packages.values()]

    def get_package(self, package_id: str) -> dict[str, Any]:
        """The package as the API shows it; ``NotFound`` if there is none."""
        with self._lock:
            pkg = self._packages.get(package_id)
            if pkg is None:
                raise package_not_found(package_id)
            return self._package_view(pkg)

    def revisions(self, package_id: str) -> list[dict[str, Any]]:
        """The package's revisions with full functions, in creation order."""
        with self._lock:
            if package_id not in self._packages:
                raise package_not_found(package_id)
            return [
                copy.deepcopy(self._revisions[rid])
                for rid in self._revisions_by_package.get(package_id, [])
            ]

    def get_revision(self, revision_id: str) -> dict[str, Any]:
        with self._lock:
            rev = self._revisions.get(revision_id)
            if rev is None:
                raise revision_not_found(revision_id)
            return copy.deepcopy(rev)

    # ----------------------------------------------------------------- writing

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
            if pid in self._packages:
                raise conflict(f"Package with ID [{pid}] already exists")
            self._check_package_name(name, exclude=None)
            stamp = format_timestamp(self._tick())
            self._packages[pid] = {
                "id": pid,
                "packageBlueprintId": None,
                "name": name,
                "description": description,
                "apiManaged": api_managed,
                "tags": list(tags),
                "createdDttm": stamp,
                "updatedDttm": stamp,
            }
            self._revisions_by_package[pid] = []
            self._function_ids[pid] = {}
            self._save()
            _log.debug("package created", package_id=pid, name=name)
            return self._package_view(self._packages[pid])

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
            if package_id not in self._packages:
                raise package_not_found(package_id)
            self._check_revision_name(package_id, name, exclude=None)
            rid = str(uuid.uuid4())
            stamp = format_timestamp(self._tick())
            ids = self._function_ids.setdefault(package_id, {})
            items: list[dict[str, Any]] = []
            for function in sorted(functions, key=lambda f: f.sort_order):
                fstamp = format_timestamp(self._tick())
                items.append(
                    {
                        "id": ids.setdefault(function.name, str(uuid.uuid4())),
                        "functionRevisionId": str(uuid.uuid4()),
                        "packageRevisionId": rid,
                        "name": function.name,
                        "language": function.language,
                        "type": function.type,
                        "sortOrder": function.sort_order,
                        "code": function.code,
                        "config": copy.deepcopy(function.config),
                        "createdDttm": fstamp,
                        "updatedDttm": fstamp,
                    }
                )
            self._revisions[rid] = {
                "id": rid,
                "packageId": package_id,
                "name": name,
                "description": description,
                "packageDeploymentsTotal": 0,
                "packageDeploymentsRunning": 0,
                "createdDttm": stamp,
                "updatedDttm": stamp,
                "functions": items,
            }
            self._revisions_by_package[package_id].append(rid)
            self._save()
            _log.debug("revision created", package_id=package_id, revision_id=rid, name=name)
            return copy.deepcopy(self._revisions[rid])

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
            pkg = self._packages.get(package_id)
            if pkg is None:
                raise package_not_found(package_id)
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

    def update_revision(
        self, revision_id: str, *, name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Change name and/or description; functions are immutable (REFERENCE.md §8)."""
        with self._lock:
            rev = self._revisions.get(revision_id)
            if rev is None:
                raise revision_not_found(revision_id)
            if name is not None:
                self._check_revision_name(rev["packageId"], name, exclude=revision_id)
                rev["name"] = name
            if description is not None:
                rev["description"] = description
            rev["updatedDttm"] = format_timestamp(self._tick())
            self._save()
            return copy.deepcopy(rev)

    def delete_package(self, package_id: str) -> None:
        """Remove the package and all its revisions."""
        with self._lock:
            if self._packages.pop(package_id, None) is None:
                raise package_not_found(package_id)
            for rid in self._revisions_by_package.pop(package_id, []):
                self._revisions.pop(rid, None)
            self._function_ids.pop(package_id, None)
            self._save()

    def delete_revision(self, revision_id: str) -> None:
        with self._lock:
            rev = self._revisions.pop(revision_id, None)
            if rev is None:
                raise revision_not_found(revision_id)
            self._revisions_by_package[rev["packageId"]].remove(revision_id)
            self._save()

    def reset(self) -> None:
        """Forget every package, revision and forced error (tests share one server this way)."""
        with self._lock:
            self._packages.clear()
            self._revisions.clear()
            self._revisions_by_package.clear()
            self._function_ids.clear()
            self._forced.clear()
            self._save()

    # ----------------------------------------------------------- forced errors

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
        revision with that ``packageId``, and get/update/delete/function list of its revisions.
        ``methods=None`` matches every method; ``times=None`` means forever, ``N`` the next N
        matching requests. Several forced errors on one package apply first-registered first.
        """
        allowed = None if methods is None else frozenset(m.upper() for m in methods)
        with self._lock:
            self._forced.setdefault(package_id, []).append(
                _ForcedError(status, code, message, allowed, times)
            )

    def clear_forced_errors(self) -> None:
        with self._lock:
            self._forced.clear()

    def take_forced_error(self, package_id: str, method: str) -> ApiProblem | None:
        """The forced error this request meets, counting it against ``times``; else ``None``."""
        with self._lock:
            for forced in self._forced.get(package_id, []):
                if forced.methods is not None and method.upper() not in forced.methods:
                    continue
                if forced.remaining is not None:
                    if forced.remaining <= 0:
                        continue
                    forced.remaining -= 1
                return ApiProblem(forced.status, forced.code, forced.message)
            return None

    # ----------------------------------------------------------------- seeding

    def seed_from(self, directory: Path) -> list[dict[str, Any]]:
        """Create the packages named by the ``package.yaml`` files under ``directory``.

        Each manifest's ``packageId`` (if given) becomes the package id, ``name`` (default: the
        directory's name) and ``description`` are copied; no revisions are created, so the first
        sync has something to do. Packages already present (same id, or same name when the
        manifest has no id) are skipped; unreadable manifests are logged and skipped, because
        the emulator should still start. Returns the packages created.
        """
        created: list[dict[str, Any]] = []
        for manifest in _find_manifests(directory):
            try:
                data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                _log.warning("seed manifest unreadable", file=str(manifest), error=str(exc))
                continue
            if not isinstance(data, dict):
                _log.warning("seed manifest is not a mapping", file=str(manifest))
                continue
            package_id = data.get("packageId")
            name = data.get("name") or manifest.parent.resolve().name
            description = data.get("description") or ""
            if package_id is not None and not isinstance(package_id, str):
                package_id = str(package_id)
            with self._lock:
                if package_id is not None and package_id in self._packages:
                    _log.info("seed package exists", package_id=package_id, name=str(name))
                    continue
                if package_id is None and any(
                    pkg["name"] == name for pkg in self._packages.values()
                ):
                    _log.info("seed package exists", name=str(name))
                    continue
                try:
                    pkg = self.add_package(str(name), str(description), package_id)
                except ApiProblem as exc:
                    _log.warning("seed package skipped", file=str(manifest), error=exc.message)
                    continue
            created.append(pkg)
            _log.info("seed package created", package_id=pkg["id"], name=pkg["name"])
        return created

    # ----------------------------------------------------------------- helpers

    def _tick(self) -> int:
        """The next creation time in epoch ms: now, or 1 ms after the previous one."""
        now = int(self._clock() * 1000)
        self._last_ms = max(now, self._last_ms + 1)
        return self._last_ms

    def _package_view(self, pkg: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(pkg)
        view["revisionsTotal"] = len(self._revisions_by_package.get(pkg["id"], []))
        view["revisionsRunning"] = 0
        view["packageDeploymentsTotal"] = 0
        view["packageDeploymentsRunning"] = 0
        return view

    def _check_package_name(self, name: str, exclude: str | None) -> None:
        for pid, pkg in self._packages.items():
            if pid != exclude and pkg["name"] == name:
                raise conflict(f"Package with name [{name}] already exists")

    def _check_revision_name(self, package_id: str, name: str, exclude: str | None) -> None:
        for rid in self._revisions_by_package.get(package_id, []):
            if rid != exclude and self._revisions[rid]["name"] == name:
                raise conflict(
                    f"Package revision with name [{name}] already exists in package [{package_id}]"
                )

    def _save(self) -> None:
        if self._state_file is None:
            return
        state = {
            "version": _STATE_VERSION,
            "lastMs": self._last_ms,
            "packages": list(self._packages.values()),
            "revisions": [
                self._revisions[rid] for rids in self._revisions_by_package.values() for rid in rids
            ],
            "functionIds": self._function_ids,
        }
        target = self._state_file
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, indent=1)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise ValueError(f"{path}: not an emulator state file (version {_STATE_VERSION})")
        self._last_ms = int(state.get("lastMs", 0))
        for pkg in state.get("packages", []):
            self._packages[pkg["id"]] = pkg
            self._revisions_by_package[pkg["id"]] = []
        for rev in state.get("revisions", []):
            self._revisions[rev["id"]] = rev
            self._revisions_by_package.setdefault(rev["packageId"], []).append(rev["id"])
        self._function_ids = {
            pid: dict(names) for pid, names in state.get("functionIds", {}).items()
        }
        _log.info(
            "state loaded",
            file=str(path),
            packages=len(self._packages),
            revisions=len(self._revisions),
        )


def _find_manifests(directory: Path) -> list[Path]:
    """Every ``package.yaml`` under ``directory``, skipping dot-directories, in path order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "package.yaml" in files:
            found.append(Path(root) / "package.yaml")
    return found

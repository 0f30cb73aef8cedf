"""``--seed-from DIR``: create the packages a repository's manifests name, without revisions.

Each manifest's ``packageId`` (if given) becomes the package id, ``name`` (default: the
directory's name) and ``description`` are copied; no revisions are created, so the first sync
has something to do. Packages already present (same id, or same name when the manifest has no
id) are skipped; unreadable manifests are logged and skipped, because the emulator should still
start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import yaml

from faas_gitops.emulator.problems import ApiProblem

if TYPE_CHECKING:
    from faas_gitops.emulator.package_store import PackageStore

_log = structlog.get_logger(__name__)


def seed_from(store: PackageStore, directory: Path) -> list[dict[str, Any]]:
    """Returns the packages created."""
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
        name = str(data.get("name") or manifest.parent.resolve().name)
        description = str(data.get("description") or "")
        if package_id is not None:
            package_id = str(package_id)
        if store.has_package(package_id, name):
            _log.info("seed package exists", package_id=package_id, name=name)
            continue
        try:
            pkg = store.add_package(name, description, package_id)
        except ApiProblem as exc:
            _log.warning("seed package skipped", file=str(manifest), error=exc.message)
            continue
        created.append(pkg)
        _log.info("seed package created", package_id=pkg["id"], name=pkg["name"])
    return created


def _find_manifests(directory: Path) -> list[Path]:
    """Every ``package.yaml`` under ``directory``, skipping dot-directories, in path order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "package.yaml" in files:
            found.append(Path(root) / "package.yaml")
    return found

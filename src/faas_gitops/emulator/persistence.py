"""The ``--state-file``: the store's records as one JSON file, rewritten atomically.

Every mutation rewrites it (temp file + rename), so a killed emulator leaves either the old or
the new state. Forced errors are test scaffolding and are not persisted. Files written before
deployments existed load with no deployments.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import structlog

from faas_gitops.emulator.records import StoreData

_log = structlog.get_logger(__name__)

STATE_VERSION = 1


def save(target: Path, data: StoreData, last_ms: int) -> None:
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "lastMs": last_ms,
        "packages": list(data.packages.values()),
        "revisions": [
            data.revisions[rid] for rids in data.revisions_by_package.values() for rid in rids
        ],
        "functionIds": data.function_ids,
        "deployments": list(data.deployments.values()),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, data: StoreData) -> int:
    """Fill ``data`` from ``path``; returns the last creation tick. ``ValueError`` if foreign."""
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ValueError(f"{path}: not an emulator state file (version {STATE_VERSION})")
    for pkg in state.get("packages", []):
        data.packages[pkg["id"]] = pkg
        data.revisions_by_package[pkg["id"]] = []
    for rev in state.get("revisions", []):
        data.revisions[rev["id"]] = rev
        data.revisions_by_package.setdefault(rev["packageId"], []).append(rev["id"])
    data.function_ids.update(
        {pid: dict(names) for pid, names in state.get("functionIds", {}).items()}
    )
    for deployment in state.get("deployments", []):
        data.deployments[deployment["id"]] = deployment
    _log.info(
        "state loaded",
        file=str(path),
        packages=len(data.packages),
        revisions=len(data.revisions),
        deployments=len(data.deployments),
    )
    return int(state.get("lastMs", 0))

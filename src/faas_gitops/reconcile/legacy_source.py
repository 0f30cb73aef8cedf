"""Stand-in for ``source.Repository`` until the git edge lands (deleted then)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faas_gitops.models import CommitInfo, DesiredPackage, PackageFailure, PackageRef
from faas_gitops.remote import local_checkout
from faas_gitops.settings import LimitSettings, Settings
from faas_gitops.source import GitSource, _Budget, _display, _Found, _normalise_path


class LegacySource:
    def __init__(self, repo: Path, limits: LimitSettings) -> None:
        self._git = GitSource(repo)
        self._limits = limits
        self._found: dict[str, _Found] = {}
        self._budget = _Budget(limits.max_total_bytes)

    def resolve(self, ref: str) -> CommitInfo:
        return self._git.resolve(ref)

    def package_refs(self, commit: CommitInfo, path: str) -> Sequence[PackageRef]:
        start_path = _normalise_path(path)
        root = self._git._repo.commit(commit.sha).tree.binsha
        start = self._git._descend(root, start_path, path, commit.sha[:12])
        found = self._git._find_packages(start_path, start, self._limits)
        self._found = {_display(f.directory): f for f in found}
        self._budget = _Budget(self._limits.max_total_bytes)
        return [PackageRef(path, f.tree.hex()) for path, f in sorted(self._found.items())]

    def read_package(self, commit: CommitInfo, ref: PackageRef) -> DesiredPackage | PackageFailure:
        found = self._found[ref.path]
        return self._git._read_package(
            found, ref.tree_id, commit.sha[:12], self._limits, self._budget
        )

    def close(self) -> None:
        self._git.close()


def open_source(settings: Settings, repo: Path | None) -> LegacySource:
    path = repo or local_checkout(settings)
    return LegacySource(path, settings.limits)

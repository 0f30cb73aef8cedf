"""Finding the package directories of a commit: trees only (siblings in one batch), no file read.

A package is a directory holding ``package.yaml``; dot-directories are skipped (also inside
packages). Each package found is a ``PackageRef`` with the bytes of every file below it, taken
from blob headers (memoised by tree id, so a warm daemon pays nothing), which is what
``--max-total-bytes`` counts on every sync whether or not a package is read.

A submodule or a symbolic link cannot be followed (its content is not in this commit's tree),
so a package behind one would silently never sync: each such directory gets one warning.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from faas_gitops.errors import ManifestError, SourceError
from faas_gitops.models import PackageRef
from faas_gitops.source.limits import SizeLimits
from faas_gitops.source.manifest import MANIFEST_NAME
from faas_gitops.source.package_reader import join
from faas_gitops.source.tree import GITLINK, SYMLINK, TREE, ObjectReader, kind

log = structlog.get_logger(__name__)
_LINK_TARGET_MAX = 4096


def normalise_path(path: str) -> str:
    """``--path`` as a tree path: ``""`` for the root; SourceError if it climbs out."""
    cleaned = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in cleaned or "\x00" in path:
        raise SourceError(f"--path {path}: must be a directory inside the repository")
    return "/".join(cleaned)


def display(directory: str) -> str:
    """A package's ``path`` as the models spell it: ``.`` for the repository root."""
    return directory or "."


@dataclass(slots=True)
class Walk:
    """One walk of a commit's tree below ``--path``."""

    objects: ObjectReader
    root: bytes
    commit: str
    limits: SizeLimits
    warn_once: Callable[[str, bytes, str, str], None]

    def descend(self, start_path: str, shown: str) -> bytes:
        """The tree id of ``start_path`` in the commit, or SourceError naming ``--path``."""
        current = self.root
        for part in start_path.split("/") if start_path else ():
            entry = self.objects.entries(current).get(part)
            if entry is None:
                raise SourceError(f"--path {shown}: no such directory in commit {self.commit[:12]}")
            mode, sha = entry
            if kind(mode) != TREE:
                raise SourceError(
                    f"--path {shown}: is not a directory in commit {self.commit[:12]}"
                )
            current = sha
        return current

    def packages(self, start_path: str, start: bytes) -> list[PackageRef]:
        """Every package below ``start``, sorted by path, with the package each is inside."""
        found: list[PackageRef] = []
        stack: list[tuple[str, bytes, str | None]] = [(start_path, start, None)]
        while stack:
            directory, tree, outer = stack.pop()
            entries = self.objects.entries(tree)
            inside = outer
            if MANIFEST_NAME in entries:
                found.append(
                    PackageRef(
                        path=display(directory),
                        tree_id=tree.hex(),
                        commit=self.commit,
                        # An inner package's bytes are already in its outer package's tree.
                        size=0,
                        nested_in=outer,
                    )
                )
                if len(found) > self.limits.max_packages:
                    raise SourceError(
                        f"more than {self.limits.max_packages} packages (--max-packages) below "
                        f"--path {start_path or '.'}; point --path at a smaller directory or "
                        "raise the limit"
                    )
                inside = display(directory)
            elif "package.yml" in entries:
                log.warning(
                    "manifest_misnamed",
                    path=join(directory, "package.yml"),
                    hint="rename it to package.yaml; package.yml is ignored",
                )
            subtrees = [
                (name, sha)
                for name, (mode, sha) in entries.items()
                if kind(mode) == TREE and not name.startswith(".")
            ]
            # Siblings in one batch: a monorepo's root lists its thousand packages at once.
            self.objects.prefetch_trees([sha for _, sha in subtrees])
            for name, (mode, sha) in entries.items():
                if name.startswith("."):
                    continue
                if kind(mode) == TREE:
                    stack.append((join(directory, name), sha, inside))
                elif kind(mode) == GITLINK:
                    self._submodule(join(directory, name), sha)
                elif kind(mode) == SYMLINK:
                    self._symlink(directory, name, sha)
        return self._sized(start_path, start, sorted(found, key=lambda ref: ref.path))

    def _sized(self, start_path: str, start: bytes, refs: list[PackageRef]) -> list[PackageRef]:
        """The refs with ``size`` set; an inner package's bytes count in its outer one."""
        outermost = {ref.path: bytes.fromhex(ref.tree_id) for ref in refs if ref.nested_in is None}
        if any(self.objects.known_tree_size(tree) is None for tree in outermost.values()):
            self.objects.measure(start, start_path, outermost)
        return [
            ref
            if ref.nested_in is not None
            else replace(ref, size=self.objects.known_tree_size(outermost[ref.path]) or 0)
            for ref in refs
        ]

    def _submodule(self, path: str, sha: bytes) -> None:
        tree = self.objects.commit_tree(sha)
        if tree is not None and not self._holds_package(tree):
            return  # its commit is here and holds no package: nothing is lost
        self.warn_once(
            "submodule_skipped",
            sha,
            path,
            "is a git submodule; faas-gitops reads only this repository's own tree, so a "
            "package.yaml inside it is skipped; copy the package into the repository instead",
        )

    def _holds_package(self, tree: bytes) -> bool:
        stack = [tree]
        while stack:
            entries = self.objects.entries(stack.pop())
            if MANIFEST_NAME in entries:
                return True
            stack.extend(
                sha
                for name, (mode, sha) in entries.items()
                if kind(mode) == TREE and not name.startswith(".")
            )
        return False

    def _symlink(self, directory: str, name: str, sha: bytes) -> None:
        try:
            target = self.objects.blob(
                sha, limit=_LINK_TARGET_MAX, too_large=lambda size: ManifestError("", None, "long")
            ).decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - an odd link is only a reason not to warn
            return
        resolved = posixpath.normpath(posixpath.join(directory, target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            return
        current: bytes | None = self.root
        for part in resolved.split("/") if resolved != "." else ():
            entry = self.objects.entries(current).get(part) if current is not None else None
            current = entry[1] if entry is not None and kind(entry[0]) == TREE else None
        if current is not None and MANIFEST_NAME in self.objects.entries(current):
            self.warn_once(
                "package_symlink_skipped",
                sha,
                join(directory, name),
                f"is a symbolic link to the package directory {resolved!r}; links are not "
                "followed, so it is synced only at its real path",
            )


__all__ = ["Walk", "display", "normalise_path"]

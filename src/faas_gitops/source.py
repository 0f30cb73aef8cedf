"""The git edge: resolve a ref to a commit and read the desired state from that commit's tree.

Everything is read from git objects, never from the working tree: what is synced is exactly what
was committed, and a half-edited checkout cannot leak into production. Trees are walked in
Python over GitPython's persistent ``git cat-file --batch`` process (``repo.odb``), so reading a
thousand packages costs a few thousand pipe round trips and no process spawns; only ``resolve``,
the tag lookup and ``changed_paths`` spawn ``git`` (once each), because there git's own ref
semantics matter more than microseconds.

GitPython and gitdb exceptions are mapped here to ``SourceError`` (the whole read is unusable)
or ``ManifestError`` (one package is), as the design's exception tree asks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import git
import structlog
from git.exc import BadName, BadObject
from git.objects.fun import tree_entries_from_data

from faas_gitops.errors import ManifestError, SourceError
from faas_gitops.manifest import (
    MANIFEST_NAME,
    PackageManifest,
    build_package,
    code_too_large,
    parse_manifest,
)
from faas_gitops.models import CommitInfo, DesiredPackage, DesiredState, PackageFailure
from faas_gitops.settings import LimitSettings

log = structlog.get_logger(__name__)

_TREE = 0o040000
_SYMLINK = 0o120000
_GITLINK = 0o160000
_KIND_MASK = 0o170000
# Tree objects are immutable (named by their content), so memoising them is always correct;
# the bound only caps memory in a daemon that lives through many commits.
_TREE_MEMO_LIMIT = 200_000
_DRAIN_CHUNK = 1 << 20

_DEFAULT_LIMITS = LimitSettings()

PackageCache = MutableMapping[tuple[str, str], DesiredPackage | PackageFailure]
_Entries = dict[str, tuple[int, bytes]]


def version_key(tag: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders tags as versions: ``v1.10.0`` above ``v1.9.0``.

    A name with a digit in it ranks above any name without one, so a version tag, not
    ``latest`` or ``stable``, comes first and names the revision.
    The name is split into runs of digits (compared as numbers) and of other characters
    (compared as text). The end of a name ranks above a following pre-release run that starts
    with ``-`` or ``~`` (so ``v1.0.0`` is above ``v1.0.0-rc1``, as semver says) but below any
    other continuation (so ``v1.0.0.1`` is above ``v1.0.0``). Sort with ``reverse=True`` for
    highest first.
    """
    parts: list[tuple[int, int, str]] = [(1 if any(ch.isdigit() for ch in tag) else 0, 0, "")]
    for run in re.findall(r"\d+|\D+", tag):
        if run.isdigit():
            parts.append((2, int(run), ""))
        elif run[0] in "-~":
            parts.append((0, 0, run))
        else:
            parts.append((3, 0, run))
    parts.append((1, 0, ""))
    return tuple(parts)


def sort_tags(tags: list[str]) -> tuple[str, ...]:
    """Highest version first; equal keys (``v01`` and ``v1``) fall back to the name."""
    return tuple(sorted(tags, key=lambda tag: (version_key(tag), tag), reverse=True))


def _normalise_path(path: str) -> str:
    """``--path`` as a tree path: ``""`` for the root; SourceError if it climbs out."""
    cleaned = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in cleaned or "\x00" in path:
        raise SourceError(f"--path {path}: must be a directory inside the repository")
    return "/".join(cleaned)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _display(directory: str) -> str:
    """A package's ``path`` as the models spell it: ``.`` for the repository root."""
    return directory or "."


@dataclass(slots=True)
class _Budget:
    """Counts bytes taken from git in one read, so one commit cannot exhaust memory."""

    limit: int
    used: int = 0

    def take(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise SourceError(
                f"the packages in this commit hold more than {self.limit} bytes "
                "(--max-total-bytes); point --path at a smaller directory or raise the limit"
            )


@dataclass(slots=True)
class _Found:
    """A directory holding a ``package.yaml``, found while walking the tree."""

    directory: str
    tree: bytes
    entries: _Entries
    outer: str | None


class GitSource:
    """Read-only access to one repository; use as a context manager or call ``close()``.

    ``blobs_read`` and ``trees_read`` count objects fetched from git, so tests (and curious
    operators) can see that the package cache and the tree memo work.
    """

    def __init__(self, repo: Path) -> None:
        self.path = Path(repo)
        if not self.path.exists():
            raise SourceError(f"--repo {self.path}: no such directory; clone the repository first")
        try:
            self._repo = git.Repo(self.path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SourceError(
                f"--repo {self.path}: not a git repository; point it at a clone (or a bare "
                "repository), not at a directory inside one"
            ) from None
        self._odb = self._repo.odb
        self._trees: dict[bytes, _Entries] = {}
        self.blobs_read = 0
        self.trees_read = 0

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop GitPython's persistent ``cat-file`` processes and release file handles."""
        self._repo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- refs ------------------------------------------------------------------------------

    def _rev_parse(self, rev: str) -> str | None:
        """The full sha of the commit ``rev`` names, or None; git's own ref syntax applies."""
        if not rev or rev.startswith("-") or any(ch in rev for ch in "\x00\n\r"):
            return None
        try:
            out: str = self._repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitCommandError:
            return None
        return out.strip() or None

    def _has_commits(self) -> bool:
        return self._repo.head.is_valid() or bool(self._repo.refs)

    def resolve(self, ref: str = "HEAD") -> CommitInfo:
        """The commit ``ref`` names, its subject and the tags that point at it.

        Tags (lightweight and annotated, peeled to their commit) are sorted highest version
        first, see ``version_key``; revision names are made from the first one.
        """
        sha = self._rev_parse(ref)
        if sha is None:
            if not self._has_commits():
                raise SourceError(f"--repo {self.path}: repository has no commits; push one first")
            raise SourceError(
                f"--ref {ref}: not found in {self.path} (no such branch, tag or commit); "
                "fetch it or fix the name"
            )
        commit = self._repo.commit(sha)
        summary = commit.summary
        subject = summary if isinstance(summary, str) else summary.decode("utf-8", "replace")
        listed: str = self._repo.git.for_each_ref(
            f"--points-at={sha}", "--format=%(refname:strip=2)", "refs/tags"
        )
        tags = [line for line in listed.splitlines() if line]
        return CommitInfo(sha=sha, subject=subject, tags=sort_tags(tags))

    def changed_paths(self, old_sha: str, new_sha: str) -> set[str] | None:
        """Repository-relative paths that differ between two commits (``git diff-tree``).

        None when ``old_sha`` is unknown (history rewritten, shallow clone): the caller must
        then treat everything as changed. Renames count as a deletion plus an addition.
        """
        old = self._rev_parse(old_sha)
        if old is None:
            return None
        new = self._rev_parse(new_sha)
        if new is None:
            raise SourceError(f"commit {new_sha}: not found in {self.path}")
        out: str = self._repo.git.diff_tree(
            "-r", "-z", "--name-only", "--no-renames", "--no-commit-id", old, new
        )
        return {path for path in out.split("\x00") if path}

    # -- objects ---------------------------------------------------------------------------

    def _entries(self, binsha: bytes) -> _Entries:
        """A tree's entries by name (memoised: a tree id always names the same entries)."""
        entries = self._trees.get(binsha)
        if entries is None:
            try:
                stream = self._odb.stream(binsha)
                data = stream.read()
                entries = {name: (mode, sha) for sha, mode, name in tree_entries_from_data(data)}
            except (ValueError, BadObject, BadName, git.GitCommandError) as exc:
                raise SourceError(
                    f"tree {binsha.hex()}: unreadable ({exc}); run git fsck on the repository"
                ) from None
            self.trees_read += 1
            if len(self._trees) >= _TREE_MEMO_LIMIT:
                self._trees.clear()
            self._trees[binsha] = entries
        return entries

    def _read_blob(
        self, binsha: bytes, *, limit: int, too_large: Callable[[int], ManifestError]
    ) -> bytes:
        """A blob's bytes, refusing (without holding it in memory) one over ``limit``."""
        self.blobs_read += 1
        try:
            stream = self._odb.stream(binsha)
            if stream.size > limit:
                # The persistent cat-file must be drained before the next request; do it in
                # chunks rather than with one read of a possibly huge object.
                while stream.read(_DRAIN_CHUNK):
                    pass
                raise too_large(stream.size)
            data: bytes = stream.read()
        except (ValueError, BadObject, BadName, git.GitCommandError) as exc:
            raise SourceError(
                f"blob {binsha.hex()}: unreadable ({exc}); run git fsck on the repository"
            ) from None
        return data

    # -- desired state ---------------------------------------------------------------------

    def read_desired(
        self,
        commit: CommitInfo,
        path: str = "",
        *,
        limits: LimitSettings = _DEFAULT_LIMITS,
        cache: PackageCache | None = None,
        on_package: Callable[[DesiredPackage | PackageFailure], None] | None = None,
    ) -> DesiredState:
        """Every package below ``path`` in ``commit``'s tree, packages sorted by path.

        A package is a directory holding ``package.yaml``; dot-directories are skipped (also
        inside packages). Package paths are repository-relative (``.`` for the root). A package
        that fails becomes a ``PackageFailure`` and the others still load; only repository-wide
        problems (unknown path, limits) raise ``SourceError``.

        ``cache`` maps (package path, git tree id) to a package read earlier: a directory whose
        tree id is unchanged is not re-read. Only successes are cached (failure messages name
        the commit, and failures are rare), and the mapping is pruned in place to this read's
        packages so a long-running daemon does not grow it. A cache belongs to one set of
        limits.

        ``max_total_bytes`` counts the manifests and code read from git, plus the UTF-8 size of
        the code of cached packages (their manifests are not re-read, so not counted).

        ``on_package`` is called with each package as soon as it is read (in path order), so a
        caller can start talking to the API while the rest of the commit is still being read.
        """
        started = time.process_time()
        short = commit.sha[:12]
        start_path = _normalise_path(path)
        try:
            root = self._repo.commit(commit.sha).tree.binsha
        except (ValueError, BadObject, BadName, git.GitCommandError):
            raise SourceError(f"commit {commit.sha}: not found in {self.path}") from None
        start = self._descend(root, start_path, path, short)
        found = self._find_packages(start_path, start, limits)

        budget = _Budget(limits.max_total_bytes)
        packages: list[DesiredPackage] = []
        failures: list[PackageFailure] = []
        kept: set[tuple[str, str]] = set()
        cached = 0
        for package in sorted(found, key=lambda item: item.directory):
            key = (_display(package.directory), package.tree.hex())
            hit = cache.get(key) if cache is not None else None
            if isinstance(hit, DesiredPackage):
                budget.take(sum(len(f.code.encode()) for f in hit.functions))
                packages.append(hit)
                kept.add(key)
                cached += 1
                if on_package is not None:
                    on_package(hit)
                continue
            result = self._read_package(package, key[1], short, limits, budget)
            if isinstance(result, DesiredPackage):
                packages.append(result)
                kept.add(key)
                if cache is not None:
                    cache[key] = result
            else:
                failures.append(result)
            if on_package is not None:
                on_package(result)
        if cache is not None:
            for stale in [key for key in cache if key not in kept]:
                del cache[stale]
        log.debug(
            "desired_state_read",
            commit=short,
            path=start_path or ".",
            packages=len(packages),
            failures=len(failures),
            cached=cached,
            bytes=budget.used,
            cpu_seconds=round(time.process_time() - started, 4),
        )
        return DesiredState(commit=commit, packages=tuple(packages), failures=tuple(failures))

    def _descend(self, root: bytes, start_path: str, shown: str, short: str) -> bytes:
        """The tree id of ``start_path`` in the commit, or SourceError naming ``--path``."""
        current = root
        for part in start_path.split("/") if start_path else ():
            entry = self._entries(current).get(part)
            if entry is None:
                raise SourceError(f"--path {shown}: no such directory in commit {short}")
            mode, sha = entry
            if mode & _KIND_MASK != _TREE:
                raise SourceError(f"--path {shown}: is not a directory in commit {short}")
            current = sha
        return current

    def _find_packages(self, start_path: str, start: bytes, limits: LimitSettings) -> list[_Found]:
        """Walk every non-dot directory below ``start``; note the package each one is inside."""
        found: list[_Found] = []
        stack: list[tuple[str, bytes, str | None]] = [(start_path, start, None)]
        while stack:
            directory, tree, outer = stack.pop()
            entries = self._entries(tree)
            inside = outer
            if MANIFEST_NAME in entries:
                found.append(_Found(directory, tree, entries, outer))
                if len(found) > limits.max_packages:
                    raise SourceError(
                        f"more than {limits.max_packages} packages (--max-packages) below "
                        f"--path {start_path or '.'}; point --path at a smaller directory or "
                        "raise the limit"
                    )
                inside = _display(directory)
            elif "package.yml" in entries:
                log.warning(
                    "manifest_misnamed",
                    path=_join(directory, "package.yml"),
                    hint="rename it to package.yaml; package.yml is ignored",
                )
            for name, (mode, sha) in entries.items():
                if mode & _KIND_MASK == _TREE and not name.startswith("."):
                    stack.append((_join(directory, name), sha, inside))
        return found

    def _read_package(
        self, package: _Found, tree_id: str, short: str, limits: LimitSettings, budget: _Budget
    ) -> DesiredPackage | PackageFailure:
        directory = package.directory
        manifest_file = _join(directory, MANIFEST_NAME)
        manifest: PackageManifest | None = None
        try:
            data = self._read_regular(
                package.entries,
                MANIFEST_NAME,
                shown=manifest_file,
                report_as=manifest_file,
                limit=limits.max_manifest_bytes,
                too_large=lambda size: ManifestError(
                    manifest_file,
                    None,
                    f"is {size} bytes, over the {limits.max_manifest_bytes}-byte manifest "
                    "limit; a manifest only lists functions, keep code in the files it names",
                ),
                short=short,
                budget=budget,
            )
            manifest = parse_manifest(data, manifest_file, limits=limits)
            if package.outer is None:
                return build_package(
                    manifest,
                    path=_display(directory),
                    manifest_file=manifest_file,
                    read_file=lambda relative: self._read_path(
                        package.entries, relative, short, limits, budget
                    ),
                    tree_id=tree_id,
                    limits=limits,
                )
            error = str(_nested(manifest_file, package.outer))
        except ManifestError as exc:
            # Inside another package the nesting is the first thing to fix, whatever else is
            # wrong with the inner manifest.
            error = str(exc if package.outer is None else _nested(manifest_file, package.outer))
        return PackageFailure(
            path=_display(directory),
            error=error,
            package_id=manifest.package_id if manifest is not None else None,
        )

    def _read_path(
        self, entries: _Entries, relative: str, short: str, limits: LimitSettings, budget: _Budget
    ) -> bytes:
        """A code file by package-relative path; ManifestError (message only) if unusable."""
        parts = relative.split("/")
        for depth, part in enumerate(parts[:-1]):
            shown = "/".join(parts[: depth + 1])
            entry = entries.get(part)
            if entry is None or entry[0] & _KIND_MASK != _TREE:
                if entry is not None and entry[0] & _KIND_MASK in (_SYMLINK, _GITLINK):
                    raise ManifestError("", None, _not_regular(shown, entry[0]))
                raise ManifestError(
                    "",
                    None,
                    f"{relative!r} does not exist in commit {short}; add it or fix the path",
                )
            entries = self._entries(entry[1])
        return self._read_regular(
            entries,
            parts[-1],
            shown=relative,
            report_as="",
            limit=limits.max_code_bytes,
            too_large=lambda size: ManifestError("", None, code_too_large(relative, size, limits)),
            short=short,
            budget=budget,
        )

    def _read_regular(
        self,
        entries: _Entries,
        name: str,
        *,
        shown: str,
        report_as: str,
        limit: int,
        too_large: Callable[[int], ManifestError],
        short: str,
        budget: _Budget,
    ) -> bytes:
        """The blob ``name`` in ``entries`` if it is a regular file; ManifestError otherwise.

        ``report_as`` is the ``ManifestError.file`` (empty when ``build_package`` re-attributes
        the message to the manifest field that named the file).
        """
        entry = entries.get(name)
        # A manifest is shown by its own path (the error already names the file); a code file
        # is quoted, because the error names the manifest and the field that points at it.
        quoted = "" if report_as else f"{shown!r} "
        if entry is None:
            raise ManifestError(
                report_as, None, f"{quoted}does not exist in commit {short}; add it or fix the path"
            )
        mode, sha = entry
        kind = mode & _KIND_MASK
        if kind == _TREE:
            raise ManifestError(report_as, None, f"{quoted}is a directory; name a regular file")
        if kind in (_SYMLINK, _GITLINK):
            raise ManifestError(report_as, None, _not_regular(shown if quoted else "", mode))
        data = self._read_blob(sha, limit=limit, too_large=too_large)
        budget.take(len(data))
        return data


def _nested(manifest_file: str, outer: str) -> ManifestError:
    return ManifestError(
        manifest_file,
        None,
        f"package inside package {outer!r}; move it out or remove its package.yaml",
    )


def _not_regular(shown: str, mode: int) -> str:
    what = "a symbolic link" if mode & _KIND_MASK == _SYMLINK else "a submodule"
    subject = f"{shown!r} is" if shown else "is"
    return f"{subject} {what}; faas-gitops reads only regular files"


__all__ = ["GitSource", "PackageCache", "sort_tags", "version_key"]

"""The git edge: one ``Repository`` object per ``--repo``, kept open by the daemon.

Every git access of faas-gitops goes through this package: refs and tags through GitPython here,
the trees and blobs of a commit through ``tree.ObjectReader`` (one pipelined
``git cat-file --batch`` process per repository, ``batch.CatFileBatch``, so reading a thousand
packages costs a few pipe round trips and no process spawns), the mirror's clone and fetch
through GitPython in ``mirror``. Everything is read from git objects, never from the working
tree: what is synced is exactly what was committed.

A local ``--repo`` may be a directory inside a repository (the root is found as git finds it;
``--path`` stays relative to the root) or a git-sync ``--link`` symlink, followed again on every
``fetch()``. A URL is mirrored under ``<state-dir>/mirrors/`` (see ``mirror``).

GitPython and gitdb exceptions are mapped here to ``SourceError`` (the whole read is unusable)
or ``ManifestError`` (one package is), as the design's exception tree asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import git
import structlog
from git.exc import BadName, BadObject

from faas_gitops.closing import Closing
from faas_gitops.errors import ManifestError, SourceError
from faas_gitops.models import CommitInfo, DesiredPackage, PackageFailure, PackageRef
from faas_gitops.settings import is_remote_url
from faas_gitops.source.limits import DEFAULT_LIMITS, SizeLimits
from faas_gitops.source.mirror import Mirror, ensure_private_dir
from faas_gitops.source.package_reader import read_packages
from faas_gitops.source.tags import sort_tags
from faas_gitops.source.tree import REGULAR, TREE, ObjectReader, kind
from faas_gitops.source.walk import Walk, normalise_path

log = structlog.get_logger(__name__)
_BAD_COMMIT = (ValueError, BadObject, BadName, git.GitCommandError)


class GitGroup(Protocol):
    """What ``Repository.open`` needs of the settings' git group."""

    @property
    def repo(self) -> str: ...


class Repository(Closing):
    """Read-only access to one repository; use as a context manager or call ``close()``."""

    def __init__(self, repo: Path | str, *, mirror: Mirror | None = None) -> None:
        self.path = Path(repo)
        self._mirror = mirror
        self._shown = mirror.shown if mirror is not None else str(self.path)
        self._warned: set[tuple[str, bytes]] = set()
        self._open()

    @classmethod
    def open(cls, settings_git_group: GitGroup, state_dir: Path) -> Repository:
        """The repository ``--repo`` names: a local path as given, or a URL's mirror (fetched)."""
        url = settings_git_group.repo
        if is_remote_url(url):
            ensure_private_dir(state_dir)
            mirror = Mirror(url, state_dir / "mirrors")
            return cls(mirror.sync(), mirror=mirror)
        return cls(Path(url))

    def _open(self) -> None:
        if not self.path.exists():
            raise SourceError(f"--repo {self.path}: no such directory; clone the repository first")
        self._target = self.path.resolve()
        if not self._target.is_dir():
            raise SourceError(f"--repo {self.path}: is a file; point it at a clone's directory")
        try:
            self._repo = git.Repo(self._target, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SourceError(
                f"--repo {self.path}: not a git repository; point it at a clone (or a bare "
                "repository)"
            ) from None
        self.objects = ObjectReader(self._repo)

    @property
    def location(self) -> Path:
        """The directory opened (a git-sync link resolved): another reader of the same objects
        opens this one, not a link that may have moved since."""
        return self._target

    @property
    def blobs_read(self) -> int:
        return self.objects.blobs_read

    @property
    def trees_read(self) -> int:
        return self.objects.trees_read

    # -- lifecycle -------------------------------------------------------------------------

    def fetch(self) -> None:
        """Bring the repository up to date: fetch a mirror, follow a swapped git-sync link."""
        if self._mirror is not None:
            self._mirror.sync()
        elif self.path.exists() and self.path.resolve() != self._target:
            self.close()
            self._open()

    def close(self) -> None:
        """Stop the ``cat-file`` processes (GitPython's and ours) and release file handles."""
        self.objects.close()
        self._repo.close()

    # -- refs ------------------------------------------------------------------------------

    def git_dirs(self) -> tuple[Path, ...]:
        """The git directory and, for a linked worktree, the common one (where branches move)."""
        found: list[Path] = []
        for directory in (self._repo.git_dir, self._repo.common_dir):
            path = Path(directory).resolve()
            if path not in found:
                found.append(path)
        return tuple(found)

    def rev_parse(self, rev: str) -> str | None:
        """The full sha of the commit ``rev`` names, or None; git's own ref syntax applies."""
        if not rev or rev.startswith("-") or any(ch in rev for ch in "\x00\n\r"):
            return None
        try:
            out: str = self._repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitCommandError:
            return None
        return out.strip() or None

    @property
    def is_bare(self) -> bool:
        """A bare repository (a ``--repo`` URL's mirror): its HEAD is the remote's default."""
        return bool(self._repo.bare)

    def top_level(self) -> Path:
        """The working tree's root, or the git directory of a bare repository."""
        return Path(self._repo.working_tree_dir or self._repo.git_dir)

    def remote_url(self, name: str = "origin") -> str | None:
        """The configured URL of remote ``name``, or None; it may carry credentials (a local
        clone's ``https://user:token@...``), so never log it as it is."""
        if not name or name.startswith("-") or any(ch in name for ch in "\x00\n\r"):
            return None
        try:
            out: str = self._repo.git.config("--get", f"remote.{name}.url")
        except git.GitCommandError:  # exit 1: not set
            return None
        return out.strip() or None

    def symbolic_target(self, ref: str) -> str | None:
        """The full name a symbolic ref points at (``refs/remotes/origin/HEAD`` ->
        ``refs/remotes/origin/main``, ``HEAD`` -> ``refs/heads/main``); None when ``ref`` is
        missing or not symbolic (a detached HEAD). The target may itself be missing."""
        if not ref or ref.startswith("-") or any(ch in ref for ch in "\x00\n\r"):
            return None
        try:
            out: str = self._repo.git.symbolic_ref("--quiet", ref)
        except git.GitCommandError:
            return None
        return out.strip() or None

    def _has_commits(self) -> bool:
        return self._repo.head.is_valid() or bool(self._repo.refs)

    def resolve(self, ref: str | None = "HEAD") -> CommitInfo:
        """The commit ``ref`` names, its subject and the tags that point at it.

        Tags (lightweight and annotated, peeled to their commit) are sorted highest version
        first, see ``version_key``; revision names are made from the first one.
        """
        ref = ref or "HEAD"
        sha = self.rev_parse(ref)
        if sha is None:
            if not self._has_commits():
                raise SourceError(
                    f"--repo {self._shown}: repository has no commits; push one first"
                )
            raise SourceError(
                f"--ref {ref}: not found in {self._shown} (no such branch, tag or commit); "
                "fetch it or fix the name"
            )
        commit = self._repo.commit(sha)
        summary = commit.summary
        subject = summary if isinstance(summary, str) else summary.decode("utf-8", "replace")
        listed: str = self._repo.git.for_each_ref(
            f"--points-at={sha}", "--format=%(refname:strip=2)", "refs/tags"
        )
        tags = sort_tags([line for line in listed.splitlines() if line])
        return CommitInfo(sha=sha, subject=subject, tags=tags, name=self._name_of(ref, tags))

    def _name_of(self, ref: str, tags: Sequence[str]) -> str:
        """What people call the synced ref: the branch or tag ``ref`` names (``HEAD``: the
        branch it is on), else the commit's highest tag, else ``""`` (the short commit).

        ``refs/heads/main`` and ``main`` are ``main``; ``origin/main`` stays ``origin/main``
        (it is not the local branch); a sha, ``main~1`` or a detached HEAD name nothing
        themselves, so a tag at the commit names it, as ``git describe --exact-match`` would.
        """
        if ref == "HEAD":  # a file read, no process: the daemon asks on every wake-up
            try:
                full = "" if self._repo.head.is_detached else self._repo.head.reference.path
            except (TypeError, ValueError):
                full = ""
        else:
            try:
                out: str = self._repo.git.rev_parse("--symbolic-full-name", "--verify", ref)
            except git.GitCommandError:
                out = ""
            full = out.strip()
        for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
            if full.startswith(prefix) and full != prefix:
                return full.removeprefix(prefix)
        return tags[0] if tags else ""

    def branch_of(self, ref: str | None) -> str | None:
        """The branch being synced: ``ref`` if it names a branch, else HEAD's; None if detached.

        ``main``, ``refs/heads/main`` and ``origin/main`` all name the branch ``main``; a tag, a
        sha or a detached HEAD name none.
        """
        if ref and ref != "HEAD":
            try:
                full: str = self._repo.git.rev_parse("--symbolic-full-name", "--verify", ref)
            except git.GitCommandError:
                return None
            full = full.strip()
            if full.startswith("refs/heads/"):
                return full.removeprefix("refs/heads/")
            if full.startswith("refs/remotes/"):
                branch = full.removeprefix("refs/remotes/").partition("/")[2]
                return branch if branch and branch != "HEAD" else None
            return None
        try:
            head = self._repo.head.reference.path if not self._repo.head.is_detached else ""
        except (TypeError, ValueError):
            return None
        return head.removeprefix("refs/heads/") if head.startswith("refs/heads/") else None

    # -- trees -----------------------------------------------------------------------------

    def _root(self, sha: str) -> bytes:
        try:
            return self._repo.commit(sha).tree.binsha
        except _BAD_COMMIT:
            raise SourceError(f"commit {sha}: not found in {self._shown}") from None

    def _walk(self, commit: CommitInfo | str, limits: SizeLimits) -> Walk:
        sha = commit if isinstance(commit, str) else commit.sha
        return Walk(self.objects, self._root(sha), sha, limits, self._warn_once)

    def _warn_once(self, event: str, sha: bytes, path: str, reason: str) -> None:
        if (path, sha) not in self._warned:
            self._warned.add((path, sha))
            log.warning(event, directory=path, reason=reason)

    def package_refs(
        self,
        commit: CommitInfo | str,
        path: str = "",
        limits: SizeLimits = DEFAULT_LIMITS,
        *,
        check_total: bool = True,
    ) -> list[PackageRef]:
        """Every package directory below ``path`` in the commit, sorted by path; nothing read.

        Raises ``SourceError`` for an unknown ``path``, more than ``max_packages`` packages, or
        (unless ``check_total`` is False) packages whose files hold more than
        ``max_total_bytes``: the bytes of every file of every package in the commit, from blob
        sizes in the tree, so the count is the same on every sync whether or not a package is
        read this time.
        """
        start_path = normalise_path(path)
        walk = self._walk(commit, limits)
        refs = walk.packages(start_path, walk.descend(start_path, path))
        if check_total:
            check_total_bytes(refs, limits)
        return refs

    def read_package(
        self, ref: PackageRef, limits: SizeLimits = DEFAULT_LIMITS
    ) -> DesiredPackage | PackageFailure:
        """The manifest and function files of one package, from the commit's tree."""
        return read_packages(self.objects, [ref], limits)[0]

    def read_packages(
        self, refs: Sequence[PackageRef], limits: SizeLimits = DEFAULT_LIMITS
    ) -> list[DesiredPackage | PackageFailure]:
        """``read_package`` of each ref, in order, with two git round trips for all of them."""
        return read_packages(self.objects, refs, limits)

    def read_file(self, commit: CommitInfo | str, path: str, limit: int) -> bytes | None:
        """A regular file of the commit by repository path; None when absent.

        ``SourceError`` when the path is there but is not a regular file or is over ``limit``.
        """
        sha = commit if isinstance(commit, str) else commit.sha
        current = self._root(sha)
        parts = normalise_path(path).split("/")
        for part in parts[:-1]:
            entry = self.objects.entries(current).get(part)
            if entry is None or kind(entry[0]) != TREE:
                return None
            current = entry[1]
        entry = self.objects.entries(current).get(parts[-1])
        if entry is None:
            return None
        if kind(entry[0]) != REGULAR:
            raise SourceError(f"{path}: not a regular file in commit {sha[:12]}")
        try:
            return self.objects.blob(
                entry[1], limit=limit, too_large=lambda size: ManifestError(path, None, "")
            )
        except ManifestError:
            raise SourceError(f"{path}: over the {limit}-byte limit in commit {sha[:12]}") from None


def check_total_bytes(refs: list[PackageRef], limits: SizeLimits) -> None:
    """SourceError when the packages' files hold more than ``max_total_bytes`` together."""
    total = sum(ref.size for ref in refs)
    if total > limits.max_total_bytes:
        raise total_bytes_error(limits)


def total_bytes_error(limits: SizeLimits) -> SourceError:
    return SourceError(
        f"the packages in this commit hold more than {limits.max_total_bytes} bytes "
        "(--max-total-bytes); point --path at a smaller directory or raise the limit"
    )


__all__ = ["GitGroup", "Repository", "check_total_bytes", "total_bytes_error"]

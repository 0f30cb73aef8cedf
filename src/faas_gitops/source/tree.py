"""Git objects by id, memoised where safe, fetched in pipelined batches where it pays.

Trees and blob sizes are named by their content, so memoising them is always correct; the bound
only caps memory in a daemon that lives through many commits. Callers that know which objects
they will need (every subtree of a directory, every file of a chunk of packages) ``prefetch``
them first: one ``cat-file --batch`` round trip for all of them instead of one each, which is
what made a cold 1,000-package read cost seconds of git-thread time on a busy machine.
Prefetched blobs are kept only until ``forget_prefetched()``; trees go to the memo.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import git
from git.exc import BadName, BadObject
from git.objects.fun import tree_entries_from_data

from faas_gitops.errors import ManifestError, SourceError
from faas_gitops.source.batch import CatFileBatch, Fetched

REGULAR = 0o100000
TREE = 0o040000
SYMLINK = 0o120000
GITLINK = 0o160000
KIND_MASK = 0o170000
_MEMO_LIMIT = 200_000
_DRAIN_CHUNK = 1 << 20
_UNREADABLE = (ValueError, BadObject, BadName, git.GitCommandError)

Entries = dict[str, tuple[int, bytes]]


def kind(mode: int) -> int:
    return mode & KIND_MASK


class ObjectReader:
    """Reads trees, blobs and blob sizes from one repository's object database.

    ``blobs_read`` and ``trees_read`` count objects fetched from git, so tests (and curious
    operators) can see that the caches work.
    """

    def __init__(self, repo: git.Repo) -> None:
        self._git = repo.git
        self._odb = repo.odb
        self._trees: dict[bytes, Entries] = {}
        self._tree_sizes: dict[bytes, int] = {}
        self._batch = CatFileBatch(os.fspath(repo.git_dir))
        self._prefetched: dict[bytes, Fetched] = {}
        self.blobs_read = 0
        self.trees_read = 0

    def close(self) -> None:
        self._batch.close()
        self._prefetched.clear()

    def prefetch_trees(self, binshas: list[bytes]) -> None:
        """Memoise every tree of ``binshas`` not yet known, in one batch."""
        wanted = [sha for sha in binshas if sha not in self._trees]
        if len(wanted) < 2:  # one object is no cheaper in a batch
            return
        for sha, fetched in self._batch.fetch(wanted, limit=1 << 62):
            if fetched.type != "tree" or fetched.data is None:
                raise SourceError(
                    f"tree {sha.hex()}: is a {fetched.type}; run git fsck on the repository"
                )
            self._remember_tree(sha, fetched.data)

    def prefetch_blobs(self, binshas: list[bytes], *, limit: int) -> None:
        """Fetch these blobs in one batch for the ``blob()`` calls that follow; one over
        ``limit`` is only measured (its bytes are never held)."""
        wanted = [sha for sha in binshas if sha not in self._prefetched]
        if len(wanted) < 2:
            return
        self._prefetched.update(self._batch.fetch(wanted, limit=limit))

    def forget_prefetched(self) -> None:
        self._prefetched.clear()

    def entries(self, binsha: bytes) -> Entries:
        """A tree's entries by name (memoised: a tree id always names the same entries)."""
        found = self._trees.get(binsha)
        if found is None:
            try:
                found = self._remember_tree(binsha, self._odb.stream(binsha).read())
            except _UNREADABLE as exc:
                raise SourceError(
                    f"tree {binsha.hex()}: unreadable ({exc}); run git fsck on the repository"
                ) from None
        return found

    def _remember_tree(self, binsha: bytes, data: bytes) -> Entries:
        found = {name: (mode, sha) for sha, mode, name in tree_entries_from_data(data)}
        self.trees_read += 1
        if len(self._trees) >= _MEMO_LIMIT:
            self._trees.clear()
        self._trees[binsha] = found
        return found

    def has(self, binsha: bytes) -> bool:
        """Whether the object exists here (a submodule's commit usually does not)."""
        try:
            self._odb.info(binsha)
        except _UNREADABLE:
            return False
        return True

    def commit_tree(self, binsha: bytes) -> bytes | None:
        """The root tree of a commit, or None when the commit is not in this repository."""
        if not self.has(binsha):
            return None
        try:
            header = self._odb.stream(binsha).read().split(b"\n", 1)[0]
        except _UNREADABLE:
            return None
        if not header.startswith(b"tree "):
            return None
        return bytes.fromhex(header[5:].decode("ascii", "replace"))

    def known_tree_size(self, binsha: bytes) -> int | None:
        return self._tree_sizes.get(binsha)

    def measure(self, start: bytes, start_path: str, packages: dict[str, bytes]) -> None:
        """Learn the size of each (outermost) package tree with one ``git ls-tree -r -l``.

        One process for the whole start tree costs far less CPU than a header query per blob
        on a cold read; the result is memoised by tree id, so a warm read spawns nothing.
        """
        totals = dict.fromkeys(packages, 0)
        try:
            listing: str = self._git.ls_tree("-r", "-l", "-z", start.hex())
        except git.GitCommandError as exc:
            raise SourceError(
                f"tree {start.hex()}: unreadable ({exc}); run git fsck on the repository"
            ) from None
        for record in listing.split("\x00"):
            header, _tab, path = record.partition("\t")
            size = header.rsplit(" ", 1)[-1].strip()
            if not path or not size.isdigit():
                continue  # a submodule ("-") or the trailing empty record
            parts = (f"{start_path}/{path}" if start_path else path).split("/")
            for depth in range(len(parts)):
                directory = "/".join(parts[:depth]) or "."
                if directory in totals:
                    totals[directory] += int(size)
                    break
        for directory, binsha in packages.items():
            self._tree_sizes[binsha] = totals[directory]

    def blob(
        self, binsha: bytes, *, limit: int, too_large: Callable[[int], ManifestError]
    ) -> bytes:
        """A blob's bytes, refusing (without holding it in memory) one over ``limit``."""
        self.blobs_read += 1
        fetched = self._prefetched.get(binsha)
        if fetched is not None and fetched.type == "blob":
            if fetched.size > limit:
                raise too_large(fetched.size)
            if fetched.data is not None:
                return fetched.data
        try:
            stream = self._odb.stream(binsha)
            if stream.size > limit:
                # The persistent cat-file must be drained before the next request; do it in
                # chunks rather than with one read of a possibly huge object.
                while stream.read(_DRAIN_CHUNK):
                    pass
                raise too_large(stream.size)
            data: bytes = stream.read()
        except _UNREADABLE as exc:
            raise SourceError(
                f"blob {binsha.hex()}: unreadable ({exc}); run git fsck on the repository"
            ) from None
        return data


__all__ = ["GITLINK", "REGULAR", "SYMLINK", "TREE", "Entries", "ObjectReader", "kind"]

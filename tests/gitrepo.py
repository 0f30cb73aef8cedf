"""A tiny builder for real git repositories in a test's ``tmp_path``.

Tests of the git edge should run against git itself, not a mock of GitPython: symlinks,
submodule entries, annotated tags and tree ids are exactly the things a mock gets wrong. The
builder drives the ``git`` binary with an isolated environment (no system or global config, a
fake ``HOME``, fixed identities and dates) so a developer's ``~/.gitconfig`` (signing, hooks,
``init.defaultBranch``...) cannot change what a test sees, and commit ids are reproducible.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# 2024-01-01T00:00:00Z; each commit is one minute after the previous one so ordering is stable.
_EPOCH = 1_704_067_200


def isolated_git_env(home: Path) -> dict[str, str]:
    """Environment for ``git`` that ignores every config file outside the repository."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") and key not in {"HOME", "XDG_CONFIG_HOME"}
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Committer",
            "GIT_COMMITTER_EMAIL": "committer@example.com",
            "LC_ALL": "C",
        }
    )
    return env


class GitRepo:
    """A working-tree repository under construction: write files, then commit and tag them.

    Paths are POSIX, relative to the repository root. Every mutating method returns ``self``
    (except ``commit``, which returns the new sha) so a test can read like a recipe.
    """

    def __init__(self, root: Path, *, bare: bool = False) -> None:
        self.root = root
        self._home = root.parent / f".{root.name}-home"
        self._home.mkdir(parents=True, exist_ok=True)
        self.env = isolated_git_env(self._home)
        self._commits = 0
        self._gitlinks: dict[str, str] = {}
        root.mkdir(parents=True, exist_ok=True)
        args = ["init", "--quiet", "--initial-branch=main"]
        if bare:
            args.append("--bare")
        self.git(*args)
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "tag.gpgsign", "false")
        self.git("config", "core.autocrlf", "false")

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run ``git`` in the repository and return its stdout; fail loudly with its stderr."""
        completed = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({completed.returncode}): "
                f"{completed.stderr.decode(errors='replace')}"
            )
        return completed.stdout.decode()

    def write(self, path: str, content: str | bytes = "") -> GitRepo:
        """Create or overwrite a file (parents created); ``str`` is written as UTF-8."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        return self

    def write_many(self, files: dict[str, str | bytes]) -> GitRepo:
        for path, content in files.items():
            self.write(path, content)
        return self

    def symlink(self, path: str, target: str) -> GitRepo:
        """Create a symbolic link (committed by git as mode 120000)."""
        link = self.root / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        return self

    def remove(self, path: str) -> GitRepo:
        """Remove a file or a whole directory from the working tree (and so the next commit)."""
        self._gitlinks.pop(path, None)
        self.git("rm", "-r", "--quiet", "--cached", "--ignore-unmatch", "--", path)
        target = self.root / path
        if target.is_dir() and not target.is_symlink():
            for child in sorted(target.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
            target.rmdir()
        elif target.exists() or target.is_symlink():
            target.unlink()
        return self

    def submodule_entry(self, path: str, sha: str = "1" * 40) -> GitRepo:
        """A gitlink (mode 160000) without cloning anything: what a submodule leaves in a tree.

        ``git add --all`` would drop it (nothing is checked out there), so ``commit`` stages it
        again until ``remove`` is called for it.
        """
        self._gitlinks[path] = sha
        return self

    def commit(self, message: str = "change") -> str:
        """Commit everything in the working tree (and staged gitlinks); return the new sha."""
        self._commits += 1
        date = f"@{_EPOCH + 60 * self._commits} +0000"
        self.git("add", "--all")
        for path, sha in self._gitlinks.items():
            self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{path}")
        env_date = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        self.env.update(env_date)
        self.git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
        return self.head()

    def bulk_commit(self, files: dict[str, bytes], message: str = "bulk") -> str:
        """Commit many files at once through ``git fast-import``, for large read-only fixtures.

        Writing and ``git add``-ing thousands of files takes seconds; streaming them into one
        commit takes a fraction of that. The commit's tree is exactly ``files``. The working
        tree and index are not touched (checking out is the slow part), so do not mix this
        with ``write``/``commit`` in one test: they would see the files as deleted.
        """
        self._commits += 1
        when = f"{_EPOCH + 60 * self._commits} +0000"
        has_parent = self._commits > 1
        author = f"{self.env['GIT_AUTHOR_NAME']} <{self.env['GIT_AUTHOR_EMAIL']}>"
        committer = f"{self.env['GIT_COMMITTER_NAME']} <{self.env['GIT_COMMITTER_EMAIL']}>"
        chunks = [
            b"commit refs/heads/main\n",
            f"author {author} {when}\ncommitter {committer} {when}\n".encode(),
            f"data {len(message.encode())}\n{message}\n".encode(),
        ]
        if has_parent:
            chunks.append(b"from refs/heads/main^0\n")
        chunks.append(b"deleteall\n")
        for path, data in files.items():
            chunks.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        self.git("fast-import", "--quiet", stdin=b"".join(chunks))
        return self.head()

    def tag(self, name: str, *, message: str | None = None, ref: str = "HEAD") -> GitRepo:
        """A lightweight tag, or an annotated one when ``message`` is given."""
        if message is None:
            self.git("tag", name, ref)
        else:
            self.git("tag", "--annotate", "--message", message, name, ref)
        return self

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tree_id(self, path: str, ref: str = "HEAD") -> str:
        """Git's tree id of a directory at a commit (``""`` path means the root tree)."""
        return self.git("rev-parse", f"{ref}:{path}").strip()

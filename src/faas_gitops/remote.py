"""Where the repository is read from: a local path as given, or a bare mirror of a URL.

A local ``--repo`` is resolved on every call, so a git-sync ``--link`` symlink that was swapped
to a new worktree is followed. A URL is cloned once (``git clone --mirror``) into the state dir
and fetched on every call; credentials come from git's own mechanisms (askpass, credential
helpers, ``GIT_SSH_COMMAND``/SSH key files), and any password embedded in the URL is redacted.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import structlog

from faas_gitops import logs
from faas_gitops.errors import SourceError
from faas_gitops.settings import Settings

log = structlog.get_logger(__name__)
GIT_TIMEOUT_S = 300


def safe_url(url: str) -> str:
    """The URL with any ``user:password@`` part masked, for logs and errors."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)


def local_checkout(settings: Settings) -> Path:
    """A local path to read commits from, fetching first when ``--repo`` is a URL."""
    if not settings.git.is_remote:
        path = Path(settings.git.repo)
        if not path.exists():
            raise SourceError(f"--repo {path}: no such directory")
        return path.resolve()
    return fetch_mirror(settings.git.repo, settings.state_dir / "mirrors")


def fetch_mirror(url: str, mirrors: Path) -> Path:
    """Clone ``url`` as a bare mirror on first use, then fetch; returns the mirror's path."""
    _register_url_secret(url)
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    mirror = mirrors / f"{name}.git"
    if (mirror / "HEAD").exists():
        _git(["git", "-C", str(mirror), "fetch", "--prune", "--tags", "--force", "origin"], url)
        # Follow a change of the remote's default branch.
        _git(["git", "-C", str(mirror), "remote", "set-head", "origin", "--auto"], url, check=False)
    else:
        mirrors.mkdir(parents=True, exist_ok=True)
        tmp = mirrors / f"{name}.tmp"
        _git(["git", "clone", "--mirror", "--quiet", "--", url, str(tmp)], url)
        tmp.rename(mirror)
    log.debug("remote.fetched", url=safe_url(url))
    return mirror


def _register_url_secret(url: str) -> None:
    match = re.match(r"^[a-z+]+://[^/:@\s]*:([^/@\s]+)@", url)
    if match:
        logs.register_secret(match.group(1))


def _git(args: list[str], url: str, *, check: bool = True) -> None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # never hang waiting for a password
    try:
        completed = subprocess.run(
            args, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"--repo {safe_url(url)}: git did not answer in {GIT_TIMEOUT_S} s"
        ) from None
    if check and completed.returncode != 0:
        lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
        reason = logs.redact(safe_url(lines[-1] if lines else f"exit {completed.returncode}"))
        raise SourceError(f"--repo {safe_url(url)}: {reason}")

"""A bare mirror of a ``--repo`` URL in the state dir, cloned once and fetched on every sync.

Nothing secret is written to disk: a password embedded in the URL (``https://user:pw@host/r``)
is removed before the URL is stored anywhere (the mirror's ``config``, its directory name, logs)
and handed to git only at clone and fetch time, through ``GIT_ASKPASS``: a tiny script that
prints environment variables set in that one child's environment. Other credentials come from
git's own mechanisms (credential helpers, ``GIT_SSH_COMMAND``, SSH key files). The state dir
and the mirrors below it are created 0700 before anything is written into them.

When git fails, the error names the URL (password masked) and git's own cause (``Could not
resolve hostname``, ``does not appear to be a git repository``, ``Authentication failed``),
never the internal mirror path and never git's generic closing advice.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import git
import structlog

from faas_gitops import logs
from faas_gitops.errors import SourceError

log = structlog.get_logger(__name__)
GIT_TIMEOUT_S = 300

_ASKPASS = """#!/bin/sh
# Written by faas-gitops: answers git's credential prompts from this process's environment.
case "$1" in
  Username*) printf '%s\\n' "$FAAS_GITOPS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$FAAS_GITOPS_GIT_PASSWORD" ;;
esac
"""
# Lines git prints after every transport failure; the cause is on the lines before them.
_BOILERPLATE = (
    "fatal: could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
)


def safe_url(url: str) -> str:
    """The URL with any ``user:password@`` part masked, for logs and errors."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)


@dataclass(frozen=True, slots=True)
class Credential:
    """A URL as stored (no password) and what git must be told at fetch time."""

    url: str
    username: str | None = None
    password: str | None = None


def split_credential(url: str) -> Credential:
    """``https://user:pw@host/r`` -> (``https://user@host/r``, user, pw); others unchanged."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
        return Credential(url)
    parts = urlsplit(url)
    if parts.password is None:
        return Credential(url)
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{user}@{host}" if user else host
    stored = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Credential(stored, unquote(user), unquote(parts.password))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) mode 0700; tighten it if this process made it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for created in missing:
        # mkdir(parents=True) gives parents the umask's mode; the whole state dir is private.
        created.chmod(0o700)
    return path


class Mirror:
    """The bare mirror of one URL below ``mirrors``; ``sync()`` clones or fetches it."""

    def __init__(self, url: str, mirrors: Path) -> None:
        self.url = url
        self.shown = safe_url(url)
        self._credential = split_credential(url)
        if self._credential.password:
            logs.register_secret(self._credential.password)
        name = hashlib.sha256(self._credential.url.encode()).hexdigest()[:16]
        self._mirrors = mirrors
        self.path = mirrors / f"{name}.git"
        # Earlier versions named the mirror after the whole URL and kept the password in its
        # config; such a mirror is removed, not reused.
        legacy = hashlib.sha256(url.encode()).hexdigest()[:16]
        self._legacy = mirrors / f"{legacy}.git" if legacy != name else None

    def sync(self) -> Path:
        """Clone on first use, then fetch (following a change of the default branch)."""
        ensure_private_dir(self._mirrors)
        self._mirrors.chmod(0o700)  # ours alone, even if an earlier version made it 0755
        if self._legacy is not None and self._legacy.exists():
            shutil.rmtree(self._legacy, ignore_errors=True)
        if (self.path / "HEAD").exists():
            self._git("fetch", "--prune", "--tags", "--force", "origin", cwd=self.path)
            try:
                self._git("remote", "set-head", "origin", "--auto", cwd=self.path)
            except SourceError as exc:
                log.debug("mirror.set_head_failed", url=self.shown, error=str(exc))
        else:
            tmp = self._mirrors / f"{self.path.stem}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)  # a clone killed half-way
            try:
                self._git(
                    "clone", "--mirror", "--quiet", "--", self._credential.url, str(tmp),
                    cwd=self._mirrors,
                )  # fmt: skip
            except SourceError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            tmp.rename(self.path)
        log.debug("mirror.fetched", url=self.shown)
        return self.path

    def _environment(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0"}  # never hang waiting for a password
        credential = self._credential
        if credential.password is not None:
            askpass = self._mirrors / "askpass.sh"
            if not askpass.exists():
                askpass.write_text(_ASKPASS)
                askpass.chmod(0o700)
            env.update(
                {
                    "GIT_ASKPASS": str(askpass),
                    "FAAS_GITOPS_GIT_USERNAME": credential.username or "",
                    "FAAS_GITOPS_GIT_PASSWORD": credential.password,
                }
            )
        return env

    def _git(self, *args: str, cwd: Path) -> None:
        options: list[str] = []
        if self._credential.password is not None:
            # A user's "credential.helper=store" would otherwise write the password to disk.
            options = ["-c", "credential.helper="]
        try:
            git.Git(str(cwd)).execute(
                ["git", *options, *args],
                env=self._environment(),
                kill_after_timeout=GIT_TIMEOUT_S,
            )
        except git.GitCommandError as exc:
            raise SourceError(f"--repo {self.shown}: {self._cause(exc)}") from None
        except OSError as exc:
            raise SourceError(f"--repo {self.shown}: cannot run git ({exc.strerror})") from None

    def _cause(self, exc: git.GitCommandError) -> str:
        """git's own reason, on one line, without the mirror's path or generic advice."""
        match = re.match(r"^\s*stderr: '(.*)'\s*$", str(exc.stderr), re.DOTALL)
        stderr = match.group(1) if match else str(exc.stderr)
        if "Timeout:" in stderr or (
            isinstance(exc.status, str | int) and "timeout" in str(exc.status).lower()
        ):
            return f"git did not answer in {GIT_TIMEOUT_S} s"
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        causes = [
            line.removeprefix("fatal: ").removeprefix("error: ")
            for line in lines
            if line.lower() not in _BOILERPLATE
        ]
        text = "; ".join(causes or lines) or f"git exited with {exc.status}"
        for internal in (str(self.path), str(self._mirrors / f"{self.path.stem}.tmp")):
            text = text.replace(internal, "the mirror")
        return logs.redact(safe_url(text))


def fetch_mirror(url: str, mirrors: Path) -> Path:
    """Clone ``url`` as a bare mirror on first use, then fetch; returns the mirror's path."""
    return Mirror(url, mirrors).sync()


__all__ = [
    "GIT_TIMEOUT_S",
    "Credential",
    "Mirror",
    "ensure_private_dir",
    "fetch_mirror",
    "safe_url",
    "split_credential",
]

"""The owner mark of a repository without ``owner:`` in ``faas-gitops.yaml``: derived from its
origin URL, else its directory name, always a valid owner."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from faas_gitops.names import OWNER_MAX, is_owner
from faas_gitops.source.repository import Repository

_DEFAULT_OWNER = "repository"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?[^@/:]+:(?P<path>.*)")
_NOT_OWNER = re.compile(r"[^A-Za-z0-9._/-]+")


def default_owner(repository: Repository) -> str:
    """The owner a repository without ``owner:`` gets: from origin's URL, else the directory.

    ``git@github.com:acme/functions.git`` -> ``acme/functions``,
    ``https://user:token@gitlab.com/g/sub/proj`` -> ``sub/proj``: the last two path parts,
    with the scheme, credentials, host and a trailing ``.git`` dropped; without a remote, the
    name of the repository's top-level directory. Always a valid owner (``is_owner``).
    """
    url = repository.remote_url("origin")
    found = owner_from_url(url) if url else None
    if not found:
        found = _sanitise_owner(repository.top_level().name.removesuffix(".git"))
    return found or _DEFAULT_OWNER


def owner_from_url(url: str) -> str | None:
    """The owner a remote URL names (see ``default_owner``), or None when it names none."""
    url = url.strip()
    if _SCHEME.match(url):
        try:
            path = urlsplit(url).path  # the netloc (credentials, host, port) is dropped
        except ValueError:
            return None
    elif (scp := _SCP_LIKE.fullmatch(url)) is not None and not url.startswith(("/", ".")):
        path = scp["path"]
    else:
        path = url  # a local path
    path = path.replace("\\", "/").strip("/").removesuffix(".git").rstrip("/")
    parts = [part for part in path.split("/") if part and part not in (".", "..")]
    return _sanitise_owner("/".join(parts[-2:])) or None


def _sanitise_owner(text: str) -> str:
    """``text`` in the owner alphabet (other runs become ``-``), at most 48 characters."""
    cleaned = _NOT_OWNER.sub("-", text).strip("-/")[:OWNER_MAX].strip("-/")
    return cleaned if is_owner(cleaned) else ""


__all__ = ["default_owner", "owner_from_url"]

"""Secrets from files, and URLs made safe to print.

Tokens and signing secrets are only ever read from files (a flag or an environment variable
would show in ``ps``, shell history and pod specs). Target URLs are printed masked: a webhook
URL may carry a password or a token in its query, and a Slack incoming-webhook URL *is* a token
(its path), so only its host is ever shown.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from faas_gitops import secret_files

MASK = "***"


def read_secret_file(path: str | Path, *, what: str = "secret file") -> bytes:
    """The secret's bytes, read under the one rule of ``faas_gitops.secret_files``.

    Raises ``ConfigError`` with one line naming ``what`` (the flag) and the file, never its
    content; the secret is registered for redaction.
    """
    return secret_files.read_secret_file(path, what).encode()


def mask_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` with userinfo, query and fragment masked (and the path too unless ``keep_path``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK  # not a URL we understand: it could be anything, a token included
    netloc = host if port is None else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    path = parts.path if keep_path else ("/" + MASK if parts.path not in ("", "/") else "")
    query = MASK if parts.query else ""
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))

"""Who may read the status page (``GET /``) and ``GET /api/status``: one token, two ways to send it.

The page shows package ids, keyset ids, commits, correlation IDs and error texts: nothing that
signs or deploys, but a map of the account that nobody outside the team needs. With
``--status-token-file`` both paths ask for the file's token, either way a client can send it:

- ``Authorization: Bearer <token>``, for scripts, dashboards and reverse proxies;
- HTTP Basic with the token as the password (any user name), which every browser asks for
  natively. A browser remembers Basic credentials for the whole origin and sends them with the
  page's own ``fetch("?part=main")`` refresh, so the page keeps working with nothing more than the
  browser's own login box. (A bearer header cannot be typed into a browser; a token in the URL
  would end up in logs, history and ``Referer`` headers, so ``?token=`` is deliberately not a way.)

Both are compared in constant time against the token's SHA-256, so neither the token's bytes nor
its length leak through timing. A 401 names both schemes in ``WWW-Authenticate``; browsers pick
Basic, programs see Bearer. Neither is encryption: beyond the pod, serve the port through TLS.

``/healthz``, ``/readyz`` and ``/metrics`` stay open (the kubelet and Prometheus have no token),
and ``/hooks/sync`` has its own proof, the HMAC signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

import structlog

from faas_gitops.secret_files import read_secret_file

log = structlog.get_logger(__name__)

FLAG = "--status-token-file"
REALM = "faas-gitops status"
#: The challenges of a 401, one header each; browsers prompt for Basic, programs read Bearer.
CHALLENGES = (f'Bearer realm="{REALM}"', f'Basic realm="{REALM}", charset="UTF-8"')


class StatusToken:
    """The token the status page asks for; only its digest is kept for comparisons."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an empty status token would admit everyone")
        self._digest = _digest(token.encode())

    def admits(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token (Bearer, or Basic's password)."""
        presented = _presented(authorization)
        if presented is None:
            return False
        return hmac.compare_digest(_digest(presented), self._digest)


def read_status_token(path: Path | None) -> StatusToken | None:
    """The token of ``--status-token-file``, read under the one secret-file rule (and so
    registered for redaction), or None when the page is open."""
    if path is None:
        return None
    return StatusToken(read_secret_file(path, FLAG))


def warn_if_open(host: str, port: int, *, loopback: bool, token: StatusToken | None) -> None:
    """Once at start: the page and ``/api/status`` answer anyone who can reach a public port."""
    if token is not None or loopback:
        return
    log.warning(
        "daemon.status_unauthenticated",
        listen=f"{host}:{port}",
        detail="anyone who can reach this address can read the status page (/) and "
        "/api/status: package ids, keyset ids, commits, errors; set --status-token-file, "
        "or listen on 127.0.0.1",
    )


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _presented(authorization: str | None) -> bytes | None:
    """The credential in ``Authorization``: a bearer token, or the password of Basic."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    scheme = scheme.lower()
    # Headers reach us decoded as latin-1; back to the bytes the client sent.
    raw = credentials.encode("latin-1", "replace")
    if scheme == "bearer":
        return raw
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    _user, colon, password = decoded.partition(b":")
    return password if colon and password else None


__all__ = ["CHALLENGES", "FLAG", "StatusToken", "read_status_token", "warn_if_open"]

"""The daemon's time and input rules: how long a sync may run, how long to back off, the
webhook secret. Plain functions of the settings, so they are tested without a daemon."""

from __future__ import annotations

from faas_gitops.errors import ConfigError
from faas_gitops.settings import Settings
from faas_gitops.source.mirror import GIT_TIMEOUT_S

#: First retry after a failed sync; doubles per consecutive failure up to ``--interval``.
RETRY_BASE_S = 1.0


def stuck_after(settings: Settings) -> float:
    """Seconds one sync may run before ``/healthz`` reports the loop as stuck.

    A sync is at most one ``git fetch`` (bounded by ``GIT_TIMEOUT_S``) plus API calls that each
    give up after ``--timeout`` and a few retries; 20 timeouts on top of the fetch leaves room for
    a large first sync while still catching a wedged one. Never less than 10 minutes. Default:
    300 + 20 x 30 = 900 s.
    """
    api_timeout: float = settings.api.timeout
    return max(600.0, GIT_TIMEOUT_S + 20 * api_timeout)


def retry_delay(failures: int, cap: float) -> float:
    """Backoff before retrying after ``failures`` consecutive failed syncs: 1, 2, 4 ... cap."""
    return min(cap, RETRY_BASE_S * 2.0 ** max(0, failures - 1))


def read_webhook_secret(settings: Settings) -> bytes | None:
    """The secret, read once at start; a trailing newline (``echo > file``) is not part of it."""
    path = settings.loop.webhook_secret_file
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"--webhook-secret-file {path}: {exc.strerror or exc}") from None
    if not secret:
        raise ConfigError(f"--webhook-secret-file {path}: the file is empty")
    return secret

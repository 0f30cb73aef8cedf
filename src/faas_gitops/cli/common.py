"""Exit codes and the one-line error every command prints."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int) -> int:
    """Print ``message`` (secrets redacted) as the one error line; return ``code``."""
    from faas_gitops import logs  # noqa: PLC0415 - structlog only when there is an error

    sys.stderr.write(f"faas-gitops: error: {logs.redact(message)}\n")
    return code

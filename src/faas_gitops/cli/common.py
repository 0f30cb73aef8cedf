"""Exit codes, the one-line error every command prints, and the ledger its readers open."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from faas_gitops.errors import ConfigError, FaasGitopsError

if TYPE_CHECKING:
    from faas_gitops.state import LedgerReader

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int) -> int:
    """Print ``message`` (secrets redacted) as the one error line; return ``code``."""
    from faas_gitops import logs  # noqa: PLC0415 - structlog only when there is an error

    sys.stderr.write(f"faas-gitops: error: {logs.redact(message)}\n")
    return code


def report(produce: Callable[[], str]) -> int:
    """Run a command that reads and prints (``history``, ``status``): logs for a person at a
    terminal, what ``produce`` returns on stdout; any ``FaasGitopsError`` (a bad flag, no
    ledger, the API refusing) is the one error line and exit 2."""
    from faas_gitops import logs  # noqa: PLC0415 - structlog only when a command runs

    logs.configure("warning", "auto")
    try:
        text = produce()
    except FaasGitopsError as exc:
        return fail(str(exc), EXIT_USAGE)
    sys.stdout.write(text)
    return EXIT_OK


def read_ledger(state_dir: Path) -> LedgerReader:
    """The ledger of ``state_dir`` opened to read (``history``, ``status``).

    ``ConfigError`` naming ``--state-dir`` when no sync has written one there yet: the usual
    cause is a different state dir than the sync's, which the line says how to fix.
    """
    from faas_gitops.state import LEDGER_FILENAME, Ledger  # noqa: PLC0415 - only readers need it

    if not (state_dir / LEDGER_FILENAME).exists():
        raise ConfigError(
            f"--state-dir {state_dir}: no ledger here yet; run a sync first or point "
            "--state-dir at the directory the sync used"
        )
    return Ledger.open_readonly(state_dir)

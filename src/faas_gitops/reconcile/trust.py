"""The sync's signature gate: the resolved commit (and tag) against the runner's keys.

Run in the sync's git thread right after the commit is resolved, before the API is asked
anything: a refused commit writes nothing and reads no revision. A real sync raises
``Untrusted`` (exit 2 for ``--sync-once``; the daemon turns unready with the same line); a dry
run still plans (a pull request's merge commit is usually unsigned) and carries the line as a
note. What verified is recorded in the ledger (``verified_by``) for every sync that writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from faas_gitops.errors import SourceError
from faas_gitops.models import CommitInfo
from faas_gitops.source import Repository

if TYPE_CHECKING:  # loaded by the session only when --verify-signatures is on
    from faas_gitops.source.verify import SignatureVerifier, Verification

log = structlog.get_logger(__name__)


class Untrusted(SourceError):
    """The synced commit or tag failed ``--verify-signatures``; ``str()`` is its one line."""

    def __init__(self, verification: Verification) -> None:
        super().__init__(verification.line())
        self.verification = verification


@dataclass(frozen=True, slots=True)
class Trust:
    """What the gate found: who signed (for history) and the notes for the result."""

    verified_by: str | None = None
    notes: tuple[str, ...] = ()


#: No verification asked for: nothing to record, nothing to say.
UNCHECKED = Trust()


def verify_source(
    verifier: SignatureVerifier, source: Repository, commit: CommitInfo, ref: str | None
) -> Verification:
    """Check ``commit`` (and, in the tag modes, the tag ``ref`` names) in ``source``. Blocking
    git, gpg and ssh-keygen: call it in the git thread."""
    from faas_gitops.source.verify import tag_of  # noqa: PLC0415 - see the imports

    repo_dir = source.top_level()
    tag = tag_of(repo_dir, ref) if verifier.mode.checks_tag else None
    return verifier.verify(repo_dir, commit.sha, tag)


def judge(verification: Verification, *, dry_run: bool) -> Trust:
    """The gate's verdict: ``Untrusted`` for a real sync of a refused commit, else its trust."""
    line = verification.line()
    if verification.ok:
        log.info("source.verified", commit=verification.commit, verification=line)
        return Trust(verified_by=verification.fingerprint)
    if not dry_run:  # the caller shows the line (the CLI's error, the daemon's sync.failed)
        raise Untrusted(verification)
    log.warning("source.refused", commit=verification.commit, verification=line, dry_run=True)
    return Trust(notes=(line,))


__all__ = ["UNCHECKED", "Trust", "Untrusted", "judge", "verify_source"]

"""The notifier of a run, from its settings: shared by ``--sync-once`` and the daemon.

Both send the same events the same way; only the lifetime differs (one sync, or the daemon's
whole life). Secret files are read here, once, so a missing token is exit 2 before any sync.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.mirror import local_checkout

if TYPE_CHECKING:
    from faas_gitops.notify import Notifier, OnResult

#: Seconds ``--sync-once`` waits for notifications in flight before it exits.
DRAIN_SECONDS = 10.0


def notifier_for(settings: Settings, *, on_result: OnResult | None = None) -> Notifier | None:
    """The configured notifier, or ``None`` when no target is set (``ConfigError`` if bad).

    A dry run records nothing in the state dir, so it de-duplicates in memory only. With no
    notification flag at all the notify package is not even imported (start-up time).
    """
    notify = settings.notify
    if not (
        notify.webhooks
        or notify.secret_file
        or notify.slack
        or notify.github_repo
        or notify.github_token_file
    ):
        return None
    from faas_gitops.notify import build_notifier, build_targets  # noqa: PLC0415

    targets = build_targets(
        webhooks=[str(url) for url in notify.webhooks],
        secret_file=notify.secret_file,
        slack=str(notify.slack) if notify.slack else None,
        github_repo=notify.github_repo,
        github_token_file=notify.github_token_file,
        github_api_url=str(notify.github_api_url),
        public_url=str(notify.public_url) if notify.public_url else None,
    )
    state_dir = None if settings.dry_run else settings.state_dir
    return build_notifier(targets, state_dir=state_dir, on_result=on_result)


def head_commit(repo: Path, ref: str) -> str:
    """The sha ``ref`` names in ``repo`` ('' when it names none: the sync will say why)."""
    try:
        with Repository(repo) as repository:
            return repository.rev_parse(ref) or ""
    except Exception:  # noqa: BLE001 - the sync itself reports a bad repo or ref, in one line
        return ""


async def announce_start(notifier: Notifier, settings: Settings) -> tuple[Path, str]:
    """Resolve the commit before the sync, so ``pending`` is posted while it runs.

    Returns the checkout to sync (a URL's mirror, fetched once here) and the commit.
    """
    repo = await asyncio.to_thread(local_checkout, settings)
    ref = settings.git.ref or "HEAD"
    commit = await asyncio.to_thread(head_commit, repo, ref)
    if commit:
        await notifier.sync_started(commit, ref, environments=settings.deploy.environments)
    return repo, commit


__all__ = ["DRAIN_SECONDS", "announce_start", "head_commit", "notifier_for"]

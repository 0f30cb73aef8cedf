"""The notifier of a run, from its settings: shared by ``--sync-once`` and the daemon (so it
lives below both, beside the pipeline whose ``on_resolved`` it announces).

Both send the same events the same way; only the lifetime differs (one sync, or the daemon's
whole life). Secret files are read here, once, so a missing token is exit 2 before any sync.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from faas_gitops.settings import Settings

if TYPE_CHECKING:
    from faas_gitops.models import CommitInfo
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
        or notify.slack_file
        or notify.github_repo
        or notify.github_token_file
    ):
        return None
    from faas_gitops.notify import Links, build_notifier, build_targets  # noqa: PLC0415

    public_url = str(notify.public_url) if notify.public_url else None
    targets = build_targets(
        webhooks=[str(url) for url in notify.webhooks],
        secret_file=notify.secret_file,
        slack=str(notify.slack) if notify.slack else None,
        slack_file=notify.slack_file,
        github_repo=notify.github_repo,
        github_token_file=notify.github_token_file,
        github_api_url=str(notify.github_api_url),
        public_url=public_url,
    )
    state_dir = None if settings.dry_run else settings.state_dir
    return build_notifier(
        targets,
        state_dir=state_dir,
        on_result=on_result,
        retry_for=notify.retry_for,
        links=Links(settings.commit_url, public_url),
    )


def announcer(notifier: Notifier, settings: Settings) -> Callable[[CommitInfo], Awaitable[None]]:
    """``sync_once``'s ``on_resolved``: GitHub ``pending`` (and the like) for the commit the
    pipeline resolved, before any package is asked about or written; the ref by its name
    (``CommitInfo.ref``), as the result will say it."""

    async def announce(commit: CommitInfo) -> None:
        envs = settings.deploy.environments
        await notifier.sync_started(commit.sha, commit.ref, environments=envs)

    return announce


__all__ = ["DRAIN_SECONDS", "announcer", "notifier_for"]

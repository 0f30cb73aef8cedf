"""Build a ``Notifier`` from the settings' plain values; ``None`` when nothing is configured.

This is where secret files are read (once, at start-up, so a missing file is a usage error
before any sync) and where every secret is registered with the log redactor as a last line of
defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faas_gitops import secret_files
from faas_gitops.errors import ConfigError
from faas_gitops.logs import register_secret
from faas_gitops.notify.delivery import DeliveryPolicy
from faas_gitops.notify.github import DEFAULT_API_URL, GitHubStatusTarget, parse_repo
from faas_gitops.notify.notifier import RETRY_FOR_S, Notifier, OnResult
from faas_gitops.notify.outgoing import Links, Target
from faas_gitops.notify.secrets import read_secret_file
from faas_gitops.notify.sentlog import MemorySentLog, SentLog, SqliteSentLog
from faas_gitops.notify.slack import SlackTarget
from faas_gitops.notify.webhook import WebhookTarget


def build_targets(
    *,
    webhooks: Sequence[str] = (),
    secret_file: str | Path | None = None,
    slack: str | None = None,
    slack_file: str | Path | None = None,
    github_repo: str | None = None,
    github_token_file: str | Path | None = None,
    github_api_url: str = DEFAULT_API_URL,
    public_url: str | None = None,
) -> list[Target]:
    """The configured targets; ``ConfigError`` (one line, naming the flag) on a bad combination.

    The Slack URL comes from ``slack`` (``--notify-slack``: other local users see it in ``ps``)
    or from ``slack_file`` (``--notify-slack-file``), read by the one secret-file rule.
    """
    if slack_file is not None:
        if slack:
            raise ConfigError("--notify-slack and --notify-slack-file: give one, not both")
        slack = secret_files.read_secret_file(slack_file, "--notify-slack-file")
        if not slack.startswith(("https://", "http://")):
            raise ConfigError(f"--notify-slack-file {slack_file} does not hold an http(s) URL")
    for url in [*webhooks, *([slack] if slack else []), github_api_url]:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"notification URL {url.split('?')[0][:40]!r} must be http(s)")
    secret = None
    if secret_file is not None:
        if not webhooks:
            raise ConfigError("--notify-secret-file needs at least one --notify-webhook")
        secret = read_secret_file(secret_file, what="--notify-secret-file")
        register_secret(secret.decode(errors="replace"))
    targets: list[Target] = [WebhookTarget(url, secret) for url in webhooks]
    for url in webhooks:
        register_secret(url)
    if slack:
        register_secret(slack)
        targets.append(SlackTarget(slack))
    if github_repo or github_token_file:
        if not (github_repo and github_token_file):
            raise ConfigError("--github-repo and --github-token-file go together: give both")
        parse_repo(github_repo)  # a bad OWNER/NAME is named before the token file is read
        token = read_secret_file(github_token_file, what="--github-token-file")
        register_secret(token.decode(errors="replace"))
        targets.append(GitHubStatusTarget(github_repo, token, github_api_url, public_url))
    return targets


def build_notifier(
    targets: Sequence[Target],
    *,
    state_dir: str | Path | None,
    on_result: OnResult | None = None,
    policy: DeliveryPolicy | None = None,
    retry_for: float = RETRY_FOR_S,
    links: Links | None = None,
) -> Notifier | None:
    """A notifier with the SQLite sent log in ``state_dir`` (in memory without one: a dry run,
    which then keeps nothing for a later run either). ``retry_for``: seconds an undelivered
    notification is kept and sent again by later runs (``--notify-retry-for``); ``links``:
    ``--commit-url`` and ``--public-url``, put in every event and Slack message."""
    if not targets:
        return None
    sent_log: SentLog = SqliteSentLog(state_dir) if state_dir is not None else MemorySentLog()
    return Notifier(
        targets, sent_log, policy=policy, on_result=on_result, retry_for=retry_for, links=links
    )

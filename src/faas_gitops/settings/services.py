"""The groups of what a sync does besides syncing: the daemon, the release, notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field

from faas_gitops.options import Opt
from faas_gitops.settings.base import (
    AtLeastOne,
    EnvironmentName,
    Group,
    HttpUrl,
    Seconds,
    matching,
)


def _repeatable(flag: str, help_text: str, metavar: str, *, secret: bool = False) -> Opt:
    """A list flag: given once per value on the command line, comma-separated in its env twin
    (``options`` splits it); the help says so in the same words for every such flag."""
    return Opt(
        flag,
        f"{help_text} (repeatable; the env twin is comma-separated)",
        metavar,
        doc_default="none",
        secret=secret,
    )


class LoopSettings(Group):
    """The daemon's knobs; unused by ``--sync-once``."""

    model_config = ConfigDict(title="daemon")

    # a sidecar must be reachable by the kubelet
    listen: Annotated[
        str,
        Opt(
            "--listen",
            "daemon: address of the status page, /healthz, /readyz, /metrics and /hooks/sync",
            "HOST:PORT",
        ),
    ] = "0.0.0.0:8080"
    interval: Annotated[
        Seconds,
        Opt(
            "--interval",
            "daemon: seconds between fetches of a remote repository (for a local one, a safety "
            "re-read); also the cap of the retry backoff",
            "SECONDS",
        ),
    ] = 30.0
    resync_interval: Annotated[
        Seconds,
        Opt(
            "--resync-interval",
            "daemon: seconds between full syncs that ask the API about every package (finds "
            "changes made by hand)",
            "SECONDS",
        ),
    ] = 600.0
    unready_after: Annotated[
        AtLeastOne,
        Opt("--unready-after", "daemon: consecutive failed syncs before /readyz says 503", "N"),
    ] = 3
    max_failures: Annotated[
        int | None,
        Field(ge=1),
        Opt(
            "--max-failures",
            "daemon: exit 1 after N consecutive failed syncs (default never)",
            "N",
            doc_default="never",
        ),
    ] = None
    shutdown_timeout: Annotated[
        float,
        Field(ge=0),
        Opt(
            "--shutdown-timeout", "daemon: seconds in-flight work may take after SIGTERM", "SECONDS"
        ),
    ] = 20.0
    webhook_secret_file: Annotated[
        Path | None,
        Opt(
            "--webhook-secret-file",
            "daemon: file with the secret for X-Hub-Signature-256",
            "FILE",
            secret_file=True,
        ),
    ] = None
    status_token_file: Annotated[
        Path | None,
        Opt(
            "--status-token-file",
            "daemon: file with the token the status page (/) and /api/status require, as "
            "Authorization: Bearer TOKEN or as the password of HTTP Basic (default: open)",
            "FILE",
            secret_file=True,
        ),
    ] = None


class DeploySettings(Group):
    """Where synced revisions are deployed (consumed by the deployment stage)."""

    model_config = ConfigDict(title="deploy")

    environments: Annotated[
        tuple[EnvironmentName, ...],
        _repeatable("--environment", "deploy the synced revisions to this environment", "NAME"),
    ] = ()
    timeout: Annotated[
        Seconds,
        Opt("--deploy-timeout", "seconds a deployment may take to finish", "SECONDS"),
    ] = 120.0
    prune: Annotated[
        bool,
        Opt("--prune", "undeploy from the environments what the repository no longer holds"),
    ] = False
    config_ref: Annotated[
        str | None,
        Opt(
            "--config-ref",
            "read the environment policy (keysets, freezes, windows, owner) from the tip of this "
            "branch instead of the synced commit (default: the repository's default branch: "
            "origin's HEAD, else main, else master)",
            "REF",
            doc_default="default branch",
        ),
    ] = None


class NotifySettings(Group):
    """Who hears about a sync's outcome (consumed by the notification stage)."""

    model_config = ConfigDict(title="notify")

    webhooks: Annotated[
        tuple[HttpUrl, ...],
        _repeatable(
            "--notify-webhook", "POST each sync's result as JSON to this URL", "URL", secret=True
        ),
    ] = ()
    secret_file: Annotated[
        Path | None,
        Opt(
            "--notify-secret-file",
            "file with the secret that signs notification webhooks (X-Faas-Gitops-Signature-256)",
            "FILE",
            secret_file=True,
        ),
    ] = None
    slack: Annotated[
        HttpUrl | None,
        Opt(
            "--notify-slack",
            "Slack incoming-webhook URL for a summary of each sync (other local users see a "
            "flag in ps: prefer --notify-slack-file)",
            "URL",
            secret=True,
        ),
    ] = None
    slack_file: Annotated[
        Path | None,
        Opt(
            "--notify-slack-file",
            "file with the Slack incoming-webhook URL (instead of --notify-slack)",
            "FILE",
            secret_file=True,
        ),
    ] = None
    retry_for: Annotated[
        float,
        Field(ge=0),
        Opt(
            "--notify-retry-for",
            "seconds an undelivered notification is kept in the state dir and sent again on "
            "later syncs (0: give up when the sync's own retries do)",
            "SECONDS",
            doc_default="86400 (24 h)",
        ),
    ] = 86400.0
    github_repo: Annotated[
        str | None,
        matching(
            r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$",
            "must be OWNER/NAME, such as acme/functions",
        ),
        Opt(
            "--github-repo",
            "GitHub repository (OWNER/NAME) that gets commit statuses and PR comments",
            "OWNER/NAME",
        ),
    ] = None
    github_token_file: Annotated[
        Path | None,
        Opt("--github-token-file", "file with the GitHub token", "FILE", secret_file=True),
    ] = None
    github_api_url: Annotated[
        HttpUrl,
        Opt("--github-api-url", "GitHub API base URL (GitHub Enterprise: its /api/v3)", "URL"),
    ] = "https://api.github.com"
    public_url: Annotated[
        HttpUrl | None,
        Opt(
            "--public-url",
            "public address of the status page, linked from notifications",
            "URL",
        ),
    ] = None

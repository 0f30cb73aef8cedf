"""Settings: the one declaration of every option of the main command, in small groups.

Each field carries its flag, help, metavar and env twin (``Annotated[..., Opt(...)]``); the
parser, the environment lookup, the README table and shell completion are generated from these
models by ``options``. Validation happens here, once, so a bad value is one line and exit code 2
before any work starts, and nothing deeper in the pipeline re-checks its inputs. The API key is
a ``SecretStr`` with no flag: its ``repr`` and ``str`` are masked, so a settings object can be
logged without leaking it.
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from faas_gitops.api import DEFAULT_API_URL, DEFAULT_API_VERSION
from faas_gitops.options import Opt

OutputFormat = Literal["text", "json", "markdown"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https?://[^\s/]+")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _http_url(value: str) -> str:
    """Any URL option: http or https with a host; a trailing slash is dropped."""
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL such as https://admin-api.pubnub.com")
    return value.rstrip("/")


def _environment_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("an environment name is letters, digits, '.', '_' or '-'")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
EnvironmentName = Annotated[str, AfterValidator(_environment_name)]


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GitSettings(_Group):
    model_config = ConfigDict(title="git")

    repo: Annotated[
        str,
        Opt(
            "--repo",
            "git repository: a local path (may be a git-sync symlink) or a URL "
            "(https, ssh, file) to clone and poll",
            metavar="PATH|URL",
        ),
    ] = "."
    ref: Annotated[
        str | None,
        Opt(
            "--ref",
            "branch, tag or commit to sync (default HEAD; for a URL the remote's default branch)",
            doc_default="`HEAD` (URL: remote default branch)",
        ),
    ] = None
    path: Annotated[
        str,
        Opt(
            "--path",
            "directory inside the repository that holds the packages",
            metavar="DIR",
            doc_default="repo root",
        ),
    ] = ""

    @property
    def is_remote(self) -> bool:
        return is_remote_url(self.repo)


class ApiSettings(_Group):
    model_config = ConfigDict(title="API")

    url: Annotated[
        HttpUrl, Opt("--api-url", "FaaS admin API base URL", env="FAAS_API_URL", metavar="URL")
    ] = DEFAULT_API_URL
    version: Annotated[
        str, Opt("--api-version", "PubNub-Version header (YYYY-MM-DD)", metavar="DATE")
    ] = DEFAULT_API_VERSION
    key_file: Annotated[
        Path | None,
        Opt(
            "--api-key-file",
            "file holding the API key (else env FAAS_API_KEY); there is no "
            "flag that takes the key itself",
            env="FAAS_API_KEY_FILE",
            metavar="FILE",
            doc_default="— (else `FAAS_API_KEY`)",
        ),
    ] = None
    key: SecretStr  # from FAAS_API_KEY or --api-key-file only, never a flag
    ca_bundle: Annotated[
        Path | None,
        Opt(
            "--ca-bundle",
            "PEM bundle of a private CA; TLS verification is always on",
            metavar="FILE",
        ),
    ] = None
    concurrency: Annotated[
        int,
        Field(ge=1, le=64),
        Opt("--concurrency", "packages synced at once (one shared connection pool)", "N"),
    ] = 8
    max_rps: Annotated[
        float | None,
        Field(gt=0),
        Opt(
            "--max-rps",
            "global request rate limit (token bucket shared by all packages)",
            "N",
            doc_default="unlimited",
        ),
    ] = None
    timeout: Annotated[
        float,
        Field(gt=0),
        Opt("--timeout", "seconds before an API call is abandoned", "SECONDS"),
    ] = 30.0

    @field_validator("ca_bundle")
    @classmethod
    def _readable_pem(cls, value: Path | None) -> Path | None:
        """Checked once here, so a bad bundle is exit 2 before any git or API work."""
        if value is not None:
            try:
                ssl.create_default_context(cafile=str(value))
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ValueError(
                    f"not a readable PEM bundle of CA certificates ({reason})"
                ) from None
        return value

    def tls_verify(self) -> ssl.SSLContext | bool:
        """Verification is always on; ``--ca-bundle`` swaps in a private CA."""
        if self.ca_bundle is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    @field_validator("version")
    @classmethod
    def _date(cls, value: str) -> str:
        if not _DATE.match(value):
            raise ValueError("must be a date YYYY-MM-DD (PubNub-Version header)")
        return value


class LimitSettings(_Group):
    """Size limits that keep one hostile or mistaken commit from exhausting memory.

    ``max_manifest_bytes`` and ``max_code_bytes`` fail one package; ``max_packages`` and
    ``max_total_bytes`` (all manifests and code read from one commit) fail the whole read,
    because past them the repository is not what this tool was pointed at.
    """

    model_config = ConfigDict(title="limits")

    max_code_bytes: Annotated[
        int, Field(gt=0), Opt("--max-code-bytes", "largest function file accepted", "BYTES")
    ] = 512 * 1024
    max_manifest_bytes: Annotated[
        int, Field(gt=0), Opt("--max-manifest-bytes", "largest package.yaml accepted", "BYTES")
    ] = 64 * 1024
    max_packages: Annotated[
        int, Field(gt=0), Opt("--max-packages", "most packages one commit may hold", "N")
    ] = 10_000
    max_total_bytes: Annotated[
        int, Field(gt=0), Opt("--max-total-bytes", "most bytes read from one commit", "BYTES")
    ] = 256 * 1024 * 1024


class LogSettings(_Group):
    model_config = ConfigDict(title="logging")

    format: Annotated[
        LogFormat, Opt("--log-format", "log format on stderr (auto: JSON unless a TTY)")
    ] = "auto"
    level: Annotated[LogLevel, Opt("--log-level", "log level")] = "info"


class LoopSettings(_Group):
    """The daemon's knobs; unused by ``--sync-once``."""

    model_config = ConfigDict(title="daemon")

    # a sidecar must be reachable by the kubelet
    listen: Annotated[
        str,
        Opt(
            "--listen",
            "daemon: address of /healthz, /readyz, /metrics and /hooks/sync",
            "HOST:PORT",
        ),
    ] = "0.0.0.0:8080"
    interval: Annotated[
        float,
        Field(gt=0),
        Opt(
            "--interval",
            "daemon: seconds between fetches of a remote repository (for a local one, a safety "
            "re-read); also the cap of the retry backoff",
            "SECONDS",
        ),
    ] = 30.0
    resync_interval: Annotated[
        float,
        Field(gt=0),
        Opt(
            "--resync-interval",
            "daemon: seconds between full syncs that ask the API about every package (finds "
            "changes made by hand)",
            "SECONDS",
        ),
    ] = 600.0
    unready_after: Annotated[
        int,
        Field(ge=1),
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


class DeploySettings(_Group):
    """Where synced revisions are deployed (consumed by the deployment stage)."""

    model_config = ConfigDict(title="deploy")

    environments: Annotated[
        tuple[EnvironmentName, ...],
        Opt(
            "--environment",
            "deploy the synced revisions to this environment (repeatable; the env twin is "
            "comma-separated)",
            "NAME",
            doc_default="none",
        ),
    ] = ()
    timeout: Annotated[
        float,
        Field(gt=0),
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
        ),
    ] = None


class NotifySettings(_Group):
    """Who hears about a sync's outcome (consumed by the notification stage)."""

    model_config = ConfigDict(title="notify")

    webhooks: Annotated[
        tuple[HttpUrl, ...],
        Opt(
            "--notify-webhook",
            "POST each sync's result as JSON to this URL (repeatable; the env twin is "
            "comma-separated)",
            "URL",
            doc_default="none",
            secret=True,
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
            "Slack incoming-webhook URL for a summary of each sync",
            "URL",
            secret=True,
        ),
    ] = None
    github_repo: Annotated[
        str | None,
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

    @field_validator("github_repo")
    @classmethod
    def _owner_name(cls, value: str | None) -> str | None:
        if value is not None and not _GITHUB_REPO.match(value):
            raise ValueError("must be OWNER/NAME, such as acme/functions")
        return value


def default_state_dir() -> Path:
    """The XDG state directory, where a CI runner or a laptop keeps the ledger by default."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "faas-gitops"


def _mode(flag: str, help_text: str) -> Opt:
    return Opt(flag, help_text, group="mode and output")


class Settings(_Group):
    """Everything one run needs; field order is the order of ``--help`` and the README."""

    model_config = ConfigDict(title="sync")

    sync_once: Annotated[
        bool, _mode("--sync-once", "sync once and exit (CI); without it, run as a daemon")
    ] = False
    dry_run: Annotated[
        bool, _mode("--dry-run", "read everything, write nothing; show the plan with diffs")
    ] = False
    output: Annotated[OutputFormat, _mode("--output", "result format on stdout")] = "text"
    quiet: Annotated[bool, _mode("--quiet", "print only the result and errors")] = False
    verbose: Annotated[bool, _mode("--verbose", "more detail in logs (debug-level)")] = False
    progress: Annotated[
        bool, _mode("--progress", "progress lines on stderr even when it is not a TTY")
    ] = False
    git: GitSettings = GitSettings()
    api: ApiSettings
    create_packages: Annotated[
        bool,
        Opt(
            "--create-packages", "create a remote package for a manifest whose 'name' matches none"
        ),
    ] = False
    full_sync: Annotated[
        bool,
        Opt(
            "--full-sync",
            "check every package against the API, even directories unchanged since their last "
            "successful sync (finds changes made by hand)",
        ),
    ] = False
    verify_content: Annotated[
        bool,
        Opt(
            "--verify-content",
            "always fetch the functions of the current revision; never trust a content stamp",
        ),
    ] = False
    state_dir: Annotated[
        Path,
        Field(default_factory=default_state_dir),
        Opt(
            "--state-dir",
            "directory for the ledger and caches (default: the XDG state dir)",
            "DIR",
            doc_default="`$XDG_STATE_HOME/faas-gitops`",
        ),
    ]
    history_days: Annotated[
        float,
        Field(ge=0, le=36_500),  # 100 years: beyond, the horizon is before year 1
        Opt(
            "--history-days",
            "keep the ledger's rows of the last DAYS (0: keep everything); the newest row of "
            "each package and environment is always kept",
            "DAYS",
        ),
    ] = 90.0
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    loop: LoopSettings = LoopSettings()
    deploy: DeploySettings = DeploySettings()
    notify: NotifySettings = NotifySettings()

    @model_validator(mode="after")
    def _one_verbosity(self) -> Settings:
        if self.quiet and self.verbose:
            raise ValueError("--quiet and --verbose cannot be combined; choose one")
        return self


def is_remote_url(repo: str) -> bool:
    """https://, ssh://, git://, file:// URLs and scp-style ``user@host:path`` are remote."""
    return bool(re.match(r"^(https?|ssh|git|file)://", repo)) or bool(
        re.match(r"^[\w.-]+@[\w.-]+:", repo)
    )

"""The table of every flag of the main command, with its environment twin and default.

One table feeds argparse, the env-twin lookup and the README's flag reference, so the three can
never disagree. Precedence: flag, then environment variable, then default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faas_gitops.api import DEFAULT_API_URL, DEFAULT_API_VERSION
from faas_gitops.errors import ConfigError


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


@dataclass(frozen=True, slots=True)
class Option:
    flag: str
    help: str
    default: Any = None
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    is_flag: bool = False  # a switch without a value
    env: str | None = None  # default: FAAS_GITOPS_<FLAG>
    group: str = "sync"

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env_name(self) -> str:
        return self.env or "FAAS_GITOPS_" + self.dest.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "--sync-once",
        "sync once and exit (CI); without it, run as a daemon",
        False,
        is_flag=True,
        group="mode",
    ),
    Option(
        "--dry-run",
        "read everything, write nothing; show the plan with diffs",
        False,
        is_flag=True,
        group="mode",
    ),
    Option(
        "--output",
        "result format on stdout",
        "text",
        choices=("text", "json", "markdown"),
        group="mode",
    ),
    Option(
        "--repo",
        "git repository: a local path (may be a git-sync symlink) or a URL "
        "(https, ssh, file) to clone and poll",
        ".",
        metavar="PATH|URL",
        group="git",
    ),
    Option(
        "--ref",
        "branch, tag or commit to sync (default HEAD; for a URL the remote's default branch)",
        None,
        group="git",
    ),
    Option(
        "--path",
        "directory inside the repository that holds the packages",
        "",
        metavar="DIR",
        group="git",
    ),
    Option(
        "--api-url",
        "FaaS admin API base URL",
        DEFAULT_API_URL,
        env="FAAS_API_URL",
        metavar="URL",
        group="api",
    ),
    Option(
        "--api-version",
        "PubNub-Version header (YYYY-MM-DD)",
        DEFAULT_API_VERSION,
        metavar="DATE",
        group="api",
    ),
    Option(
        "--api-key-file",
        "file holding the API key (else env FAAS_API_KEY); there is no "
        "flag that takes the key itself",
        None,
        env="FAAS_API_KEY_FILE",
        metavar="FILE",
        group="api",
    ),
    Option(
        "--ca-bundle",
        "PEM bundle of a private CA; TLS verification is always on",
        None,
        metavar="FILE",
        group="api",
    ),
    Option(
        "--concurrency",
        "packages synced at once (one shared connection pool)",
        8,
        int,
        metavar="N",
        group="api",
    ),
    Option(
        "--max-rps",
        "global request rate limit (token bucket shared by all packages)",
        None,
        float,
        metavar="N",
        group="api",
    ),
    Option(
        "--timeout",
        "seconds before an API call is abandoned",
        30.0,
        float,
        metavar="SECONDS",
        group="api",
    ),
    Option(
        "--create-packages",
        "create a remote package for a manifest whose 'name' matches none",
        False,
        is_flag=True,
        group="sync",
    ),
    Option(
        "--full-sync",
        "check every package against the API, even directories unchanged since their last "
        "successful sync (finds changes made by hand)",
        False,
        is_flag=True,
        group="sync",
    ),
    Option(
        "--state-dir",
        "directory for the ledger and caches (default: the XDG state dir)",
        None,
        metavar="DIR",
        group="sync",
    ),
    Option(
        "--max-code-bytes",
        "largest function file accepted",
        512 * 1024,
        int,
        metavar="BYTES",
        group="limits",
    ),
    Option(
        "--max-manifest-bytes",
        "largest package.yaml accepted",
        64 * 1024,
        int,
        metavar="BYTES",
        group="limits",
    ),
    Option(
        "--max-packages",
        "most packages one commit may hold",
        10_000,
        int,
        metavar="N",
        group="limits",
    ),
    Option(
        "--max-total-bytes",
        "most bytes read from one commit",
        256 * 1024 * 1024,
        int,
        metavar="BYTES",
        group="limits",
    ),
    Option(
        "--log-format",
        "log format on stderr (auto: JSON unless a TTY)",
        "auto",
        choices=("auto", "json", "console"),
        group="log",
    ),
    Option(
        "--log-level",
        "log level",
        "info",
        choices=("debug", "info", "warning", "error"),
        group="log",
    ),
    Option(
        "--listen",
        "daemon: address of /healthz, /readyz, /metrics and /hooks/sync",
        "0.0.0.0:8080",
        metavar="HOST:PORT",
        group="daemon",
    ),
    Option(
        "--interval",
        "daemon: seconds between fetches of a remote repository (for a local one, a safety "
        "re-read); also the cap of the retry backoff",
        30.0,
        float,
        metavar="SECONDS",
        group="daemon",
    ),
    Option(
        "--resync-interval",
        "daemon: seconds between full syncs that ask the API about every package (finds "
        "changes made by hand)",
        600.0,
        float,
        metavar="SECONDS",
        group="daemon",
    ),
    Option(
        "--unready-after",
        "daemon: consecutive failed syncs before /readyz says 503",
        3,
        int,
        metavar="N",
        group="daemon",
    ),
    Option(
        "--max-failures",
        "daemon: exit 1 after N consecutive failed syncs (default never)",
        None,
        int,
        metavar="N",
        group="daemon",
    ),
    Option(
        "--shutdown-timeout",
        "daemon: seconds in-flight work may take after SIGTERM",
        20.0,
        float,
        metavar="SECONDS",
        group="daemon",
    ),
    Option(
        "--webhook-secret-file",
        "daemon: file with the secret for X-Hub-Signature-256",
        None,
        metavar="FILE",
        group="daemon",
    ),
)

_GROUP_TITLES = {
    "mode": "mode and output",
    "git": "git",
    "api": "API",
    "sync": "sync",
    "limits": "limits",
    "log": "logging",
    "daemon": "daemon",
}


def add_options(parser: argparse.ArgumentParser) -> None:
    groups = {key: parser.add_argument_group(title) for key, title in _GROUP_TITLES.items()}
    for option in OPTIONS:
        default = "" if option.default in (None, "") else f", default {option.default}"
        help_text = f"{option.help} [env {option.env_name}{default}]"
        group = groups[option.group]
        if option.is_flag:
            group.add_argument(
                option.flag, action="store_const", const=True, default=None, help=help_text
            )
        else:
            group.add_argument(
                option.flag,
                default=None,
                choices=option.choices,
                metavar=option.metavar,
                help=help_text,
            )


def resolve(namespace: argparse.Namespace, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flag, else environment twin, else default; converted and checked, or ``ConfigError``."""
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = getattr(namespace, option.dest, None)
        source = option.flag
        if raw is None and option.env_name in environ:
            raw = environ[option.env_name]
            source = f"{option.env_name}"
        if raw is None:
            values[option.dest] = option.default
            continue
        if raw is True:
            values[option.dest] = True
            continue
        try:
            value = _bool(raw) if option.is_flag else option.type(raw)
        except ValueError:
            kind = "true or false" if option.is_flag else option.type.__name__
            raise ConfigError(f"{source}: {raw!r} is not a valid {kind}") from None
        if option.choices and value not in option.choices:
            raise ConfigError(f"{source}: {raw!r} is not one of {', '.join(option.choices)}")
        values[option.dest] = value
    return values

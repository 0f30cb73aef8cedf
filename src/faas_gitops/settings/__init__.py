"""Settings: the one declaration of every option, in small groups composed per command.

Each field carries its flag, help, metavar and env twin (``Annotated[..., Opt(...)]``); the
parser, the environment lookup, the flag reference (docs/reference/flags.md) and shell
completion are generated from these models by ``options``. Validation happens here, once, so
a bad value is one line and exit code 2 before any work starts, and nothing deeper in the
pipeline re-checks its inputs. The API key is a ``SecretStr`` with no flag: its ``repr`` and
``str`` are masked, so a settings object can be logged without leaking it.

``Settings`` holds every group; a command takes only the groups it uses (``GROUPS``, and the
``*_GROUPS`` tuples below), so its ``--help`` lists only those flags, any other flag is a usage
error, and the environment variable of a group it does not use is ignored. The groups a command
leaves out keep their defaults in the ``Settings`` it builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from faas_gitops.options import Opt
from faas_gitops.settings.base import (
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    CommitUrl,
    EnvironmentName,
    Group,
    HttpUrl,
    LogFormat,
    LogLevel,
    OutputFormat,
    StateDir,
    default_state_dir,
    is_remote_url,
)
from faas_gitops.settings.connection import (
    ApiOptions,
    ApiSettings,
    GitSettings,
    LimitSettings,
    LogSettings,
)
from faas_gitops.settings.services import DeploySettings, LoopSettings, NotifySettings
from faas_gitops.settings.verify import VerifySettings


def _mode(flag: str, help_text: str) -> Opt:
    return Opt(flag, help_text, group="mode and output")


class Settings(Group):
    """Everything one run needs; field order is the order of ``--help`` and the flag reference."""

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
    git: GitSettings = Field(default_factory=GitSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
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
    state_dir: StateDir
    history_days: Annotated[
        float,
        Field(ge=0, le=36_500),  # 100 years: beyond, the horizon is before year 1
        Opt(
            "--history-days",
            "prune the state dir to the last DAYS (ledger, cache, notification log; 0: keep "
            "everything); what still runs and the newest row of each package is always kept",
            "DAYS",
        ),
    ] = 90.0
    commit_url: CommitUrl = None
    limits: LimitSettings = Field(default_factory=LimitSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    loop: LoopSettings = Field(default_factory=LoopSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @model_validator(mode="after")
    def _one_verbosity(self) -> Settings:
        if self.quiet and self.verbose:
            raise ValueError("--quiet and --verbose cannot be combined; choose one")
        return self


#: The groups of ``Settings`` a command can take: the fields (dotted paths) each one holds.
GROUPS: dict[str, tuple[str, ...]] = {
    "run": ("sync_once", "quiet", "verbose", "progress"),
    "result": ("dry_run", "output"),
    "git": ("git",),
    "verify": ("verify",),
    "api": ("api",),
    "sync": ("create_packages", "full_sync", "verify_content"),
    "state": ("state_dir",),
    "retention": ("history_days",),
    "limits": ("limits",),
    "log": ("log",),
    "daemon": ("loop",),
    "environments": ("deploy.environments",),
    "release": ("deploy.timeout", "deploy.config_ref"),
    "prune": ("deploy.prune",),
    "notify": ("notify",),
    "links": ("commit_url",),
}

#: The sync and the daemon use every group (``verify`` only they take: ``promote`` and
#: ``rollback`` deploy revisions that a sync, verifying, already made).
SYNC_GROUPS: tuple[str, ...] = tuple(GROUPS)
#: ``promote`` reads the policy and the packages from git (within the limits), deploys through
#: the API with the release stage's timeout, records in the state dir and renders the result;
#: its environments are ``--from``/``--to``, and it neither creates revisions nor notifies.
PROMOTE_GROUPS: tuple[str, ...] = ("result", "git", "api", "state", "limits", "log", "release")
#: ``rollback`` is ``promote``'s reach on the one ``--environment`` it acts on.
ROLLBACK_GROUPS: tuple[str, ...] = (*PROMOTE_GROUPS, "environments")


def group_fields(groups: Iterable[str]) -> tuple[str, ...]:
    """The dotted field paths of ``groups`` (``KeyError`` for a name ``GROUPS`` lacks)."""
    return tuple(path for name in groups for path in GROUPS[name])


__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "GROUPS",
    "PROMOTE_GROUPS",
    "ROLLBACK_GROUPS",
    "SYNC_GROUPS",
    "ApiOptions",
    "ApiSettings",
    "CommitUrl",
    "DeploySettings",
    "EnvironmentName",
    "GitSettings",
    "HttpUrl",
    "LimitSettings",
    "LogFormat",
    "LogLevel",
    "LogSettings",
    "LoopSettings",
    "NotifySettings",
    "OutputFormat",
    "Settings",
    "StateDir",
    "VerifySettings",
    "default_state_dir",
    "group_fields",
    "is_remote_url",
]

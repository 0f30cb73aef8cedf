"""What ``promote`` and ``rollback`` share: load the settings, run the release-stage function
once, render its result like a sync's, and map the outcome to the documented exit code.

Stopped before anything was written (configuration, git, a rejected key, the API out of
reach): exit 2 with one line. A failed deployment: the rendered result, exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from faas_gitops.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, fail
from faas_gitops.errors import RUN_STOPPERS, ConfigError, FaasGitopsError, SourceError
from faas_gitops.options import build

if TYPE_CHECKING:
    from faas_gitops.models import CommitInfo, SyncResult
    from faas_gitops.settings import Settings
    from faas_gitops.source import Repository
    from faas_gitops.source.environments import EnvironmentsConfig

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Failures that stop a promotion or a rollback before it wrote anything (exit code 2).
STOPPED: tuple[type[FaasGitopsError], ...] = (ConfigError, SourceError, *RUN_STOPPERS)


def logger(name: str) -> Any:
    """``structlog``'s logger, imported on first use (``--help`` loads no logging stack)."""
    import structlog  # noqa: PLC0415

    return structlog.get_logger(name)


#: What a command makes of its arguments, own options and settings: the work to run once
#: (``ConfigError`` for a combination it refuses, before anything runs).
Prepare = Callable[[argparse.Namespace, ModelT, "Settings"], Callable[[], Awaitable["SyncResult"]]]


def main(
    parser: argparse.ArgumentParser,
    model: type[ModelT],
    groups: Iterable[str],
    args: list[str],
    prepare: Prepare[ModelT],
) -> int:
    """Parse ``args`` (argparse exits 2 on a flag the command does not take), load the settings
    of ``groups``, and run what ``prepare`` makes of them; a bad value is one line, exit 2."""
    try:
        namespace = parser.parse_args(args)
        options = build(model, namespace, {})
        settings = load(namespace, groups)
        work = prepare(namespace, options, settings)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    return run(settings, work)


def read_policy(
    source: Repository, settings: Settings, command: str
) -> tuple[CommitInfo, EnvironmentsConfig]:
    """The commit ``--ref`` names and the environment policy, which ``command`` cannot do
    without (``ConfigError`` naming the file when there is none)."""
    from faas_gitops.source.environments import CONFIG_NAME  # noqa: PLC0415
    from faas_gitops.source.policy import load_policy  # noqa: PLC0415

    commit = source.resolve(settings.git.ref or "HEAD")
    config, _ = load_policy(source, commit, settings.git.path, settings.deploy.config_ref)
    if config is None:
        raise ConfigError(
            f"{CONFIG_NAME}: not found at the root of --path in {commit.sha[:12]};"
            f" {command} needs the environments it defines"
        )
    return commit, config


def load(namespace: argparse.Namespace, groups: Iterable[str]) -> Settings:
    """The settings of ``groups`` from the command line and the environment (the other groups
    keep their defaults); ``ConfigError`` if bad."""
    from faas_gitops import logs  # noqa: PLC0415 - structlog only once the command runs
    from faas_gitops.cli import load_settings  # noqa: PLC0415 - the package imports this lazily

    settings = load_settings(namespace, os.environ, groups)
    logs.configure(settings.log.level, settings.log.format)
    return settings


def run(settings: Settings, work: Callable[[], Awaitable[SyncResult]]) -> int:
    """Run ``work`` once, print its result on stdout, return the exit code."""
    import asyncio  # noqa: PLC0415 - not for --help

    try:
        return asyncio.run(_run(settings, work))
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)


async def _run(settings: Settings, work: Callable[[], Awaitable[SyncResult]]) -> int:
    from faas_gitops.report import render  # noqa: PLC0415 - keeps --help fast

    try:
        result = await work()
    except STOPPED as exc:
        return fail(str(exc), EXIT_USAGE)
    except FaasGitopsError as exc:
        return fail(str(exc), EXIT_FAILED)
    sys.stdout.write(
        render(result, settings.output, show_diff=False, commit_url=settings.commit_url)
    )
    sys.stdout.flush()
    if result.fatal_error is not None:
        return fail(result.fatal_error, EXIT_USAGE)
    return EXIT_OK if result.ok else EXIT_FAILED


__all__ = ["STOPPED", "Prepare", "load", "logger", "main", "read_policy", "run"]

"""``faas-gitops rollback PACKAGE --environment ENV [--to REVISION] [--release]``.

Parses and renders only: the rollback itself is ``deploy.rollback`` (a function of the release
stage). PACKAGE is a package directory, a manifest name or a package id; a package the commit
no longer holds is found by its directory mark. The environment comes from the policy (the
configuration branch's ``faas-gitops.yaml``). The rollback is recorded in the ledger as a sync
with trigger ``rollback`` (every step with its correlation ID) and rendered like one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import structlog
from pydantic import BaseModel, ConfigDict

from faas_gitops import logs
from faas_gitops.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, fail
from faas_gitops.errors import RUN_STOPPERS, ConfigError, FaasGitopsError, SourceError
from faas_gitops.models import CommitInfo, Outcome, Status, SyncResult
from faas_gitops.options import Opt, add_options, build
from faas_gitops.settings import Settings
from faas_gitops.source.environments import Environment

if TYPE_CHECKING:
    from faas_gitops.deploy.api import TaggedPackage

log = structlog.get_logger(__name__)

_STOPPED: tuple[type[FaasGitopsError], ...] = (ConfigError, SourceError, *RUN_STOPPERS)


class RollbackOptions(BaseModel):
    """Rollback's own options; the sync's connection flags (API, git, state dir) apply too."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="rollback")

    to: Annotated[
        str | None,
        Opt(
            "--to",
            "revision name or id to put back (default: the one that ran there before)",
            "REVISION",
            twin=False,
        ),
    ] = None
    release: Annotated[
        bool,
        Opt("--release", "lift the hold instead: the next sync deploys what git wants", twin=False),
    ] = False


@dataclass(frozen=True, slots=True)
class _Found:
    commit: CommitInfo
    environment: Environment
    path: str
    name: str | None
    package_id: str | None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops rollback",
        description="Put an earlier revision of one package back on one environment now, and "
        "hold it there: no later sync deploys over it until git changes the package's content "
        "or 'rollback --release'.",
        epilog="Exit codes: 0 rolled back (or released), 1 the rollback failed, 2 usage or "
        "configuration error (unknown package, environment or revision).",
    )
    parser.add_argument(
        "package", metavar="PACKAGE", help="package directory, manifest name or package id"
    )
    add_options(parser, RollbackOptions)
    add_options(parser, Settings)
    return parser


def main(args: list[str]) -> int:
    from faas_gitops.cli import load_settings  # noqa: PLC0415 - the package imports this lazily

    namespace = build_parser().parse_args(args)
    try:
        options = build(RollbackOptions, namespace, {})
        settings = load_settings(namespace, os.environ)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    if len(settings.deploy.environments) != 1:
        return fail("--environment NAME: name exactly one environment to roll back on", EXIT_USAGE)
    logs.configure(settings.log.level, settings.log.format)
    try:
        return asyncio.run(_rollback(settings, options, namespace.package))
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)


async def _rollback(settings: Settings, options: RollbackOptions, package: str) -> int:
    from faas_gitops.report import render  # noqa: PLC0415 - keeps --help fast

    try:
        result = await rollback_once(settings, options, package)
    except _STOPPED as exc:
        return fail(str(exc), EXIT_USAGE)
    except FaasGitopsError as exc:
        return fail(str(exc), EXIT_FAILED)
    sys.stdout.write(render(result, settings.output, show_diff=False))
    sys.stdout.flush()
    if result.fatal_error is not None:
        return fail(result.fatal_error, EXIT_USAGE)
    return EXIT_OK if result.ok else EXIT_FAILED


async def rollback_once(settings: Settings, options: RollbackOptions, package: str) -> SyncResult:
    """Roll back (or release), record, and return the result."""
    from faas_gitops.deploy import Timing  # noqa: PLC0415
    from faas_gitops.deploy import api as deploy_api  # noqa: PLC0415
    from faas_gitops.deploy.rollback import RollbackTarget, release_hold, rollback  # noqa: PLC0415
    from faas_gitops.reconcile.journal import SyncJournal  # noqa: PLC0415
    from faas_gitops.reconcile.plan import content_digest  # noqa: PLC0415
    from faas_gitops.reconcile.release import (  # noqa: PLC0415
        DeploymentJournal,
        release_environments,
    )
    from faas_gitops.reconcile.session import Session  # noqa: PLC0415

    started = datetime.now(UTC)
    found = await asyncio.to_thread(_read_repository, settings, package)
    (environment,) = release_environments([found.environment], started)
    async with Session.open(settings) as session:
        inventory = await deploy_api.list_packages(session.api)
        remote = _match(inventory, found, package)
        target = RollbackTarget(found.path, remote.id, remote.tags)
        journal = SyncJournal.begin(session.ledger, found.commit, settings, "rollback", started)
        steps = None
        if session.ledger is not None and journal.sync_id is not None:
            steps = DeploymentJournal(
                session.ledger, journal.sync_id, [environment], {}, {found.path: remote.id}
            )

        async def read_digest(revision_id: str) -> str | None:
            revision = await session.api.get_revision(revision_id)
            return content_digest(revision.functions) if revision.functions else None

        if options.release:
            outcome = await release_hold(
                session.api, target, environment, dry_run=settings.dry_run, journal=steps
            )
        else:
            outcome = await rollback(
                session.api,
                target,
                environment,
                to=options.to,
                dry_run=settings.dry_run,
                timing=Timing(deploy_timeout=settings.deploy.timeout),
                journal=steps,
                read_digest=read_digest,
            )
        if steps is not None:
            steps.result(found.path, outcome)
        result = SyncResult(
            commit=found.commit.sha,
            ref=settings.git.ref or "HEAD",
            dry_run=settings.dry_run,
            outcomes=(
                Outcome(
                    path=found.path,
                    status=Status.UNCHANGED,
                    package_id=remote.id,
                    name=found.name or remote.name,
                    revision_name=outcome.revision_name,
                    revision_id=outcome.revision_id,
                    deployments=(outcome,),
                ),
            ),
            started_at=started,
            finished_at=datetime.now(UTC),
        )
        journal.finish(result)
    log.info(
        "rollback.finished",
        path=found.path,
        environment=environment.name,
        status=outcome.status.value,
        revision=outcome.revision_name,
    )
    return result


def _read_repository(settings: Settings, wanted: str) -> _Found:
    """The commit, the environment and what the commit knows of PACKAGE (git, in a thread)."""
    from faas_gitops.models import PackageFailure  # noqa: PLC0415
    from faas_gitops.reconcile.run import open_source  # noqa: PLC0415
    from faas_gitops.source.environments import CONFIG_NAME, load_policy  # noqa: PLC0415

    source = open_source(settings, None)
    try:
        commit = source.resolve(settings.git.ref or "HEAD")
        config, _ = load_policy(source, commit, settings.git.path, settings.deploy.config_ref)
        if config is None:
            raise ConfigError(
                f"{CONFIG_NAME}: not found; rollback needs the environments it defines"
            )
        defined = config.by_name()
        name = settings.deploy.environments[0]
        if name not in defined:
            raise ConfigError(
                f"--environment {name}: not defined in {CONFIG_NAME} (defined:"
                f" {', '.join(defined)})"
            )
        for ref in source.package_refs(commit, settings.git.path, settings.limits):
            item = source.read_package(ref, settings.limits)
            if isinstance(item, PackageFailure):
                if wanted == ref.path:
                    raise ConfigError(item.error)
                continue
            if wanted in (item.path, item.name, item.package_id):
                return _Found(commit, defined[name], item.path, item.name, item.package_id)
    finally:
        source.close()
    return _Found(commit, defined[name], wanted, None, None)


def _match(inventory: Sequence[TaggedPackage], found: _Found, wanted: str) -> TaggedPackage:
    """The remote package: by the manifest's id, else its name, else a directory mark (a
    package the commit no longer holds), else ``wanted`` as an id or a name."""
    from faas_gitops.deploy import marks  # noqa: PLC0415

    by_id = {p.id: p for p in inventory}
    for key in (found.package_id, wanted):
        if key and key in by_id:
            return by_id[key]
    for name in (found.name, wanted):
        named = [p for p in inventory if p.name == name]
        if len(named) == 1:
            return named[0]
    marked = [
        p for p in inventory if marks.directory_matches(marks.parse(p.tags).directory, wanted)
    ]
    if len(marked) == 1:
        return marked[0]
    raise ConfigError(
        f"{wanted}: no such package (not a package directory, manifest name or package id the"
        " API knows); check the name with 'faas-gitops status'"
    )


__all__ = ["RollbackOptions", "build_parser", "main", "rollback_once"]

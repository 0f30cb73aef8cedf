"""``faas-gitops rollback PACKAGE --environment ENV [--to REVISION] [--release]``.

Parses and renders only: the rollback itself is ``deploy.rollback`` (a function of the release
stage). PACKAGE is a package directory, a manifest name or a package id; a package the commit
no longer holds is found by its directory mark. The environment comes from the policy (the
configuration branch's ``faas-gitops.yaml``). The rollback is recorded in the ledger as a sync
with trigger ``rollback`` (every step with its correlation ID) and rendered like one.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict

from faas_gitops.cli import release_command, settings_part
from faas_gitops.errors import ConfigError
from faas_gitops.options import CommandOptions, Opt, Part, command_parser
from faas_gitops.settings import ROLLBACK_GROUPS

if TYPE_CHECKING:  # imported where used: 'rollback --help' loads none of them
    from faas_gitops.deploy.api import TaggedPackage
    from faas_gitops.models import CommitInfo, SyncResult
    from faas_gitops.settings import Settings
    from faas_gitops.source.environments import Environment


class RollbackOptions(CommandOptions):
    """Rollback's own options; the settings groups of ``ROLLBACK_GROUPS`` apply too."""

    model_config = ConfigDict(title="rollback")

    to: Annotated[
        str | None,
        Opt(
            "--to",
            "revision name or id to put back (default: the one that ran there before)",
            "REVISION",
        ),
    ] = None
    release: Annotated[
        bool,
        Opt("--release", "lift the hold instead: the next sync deploys what git wants"),
    ] = False


@dataclass(frozen=True, slots=True)
class _Declared:
    """A package directory of the commit: its manifest's name and id (``None`` when unread)."""

    path: str
    name: str | None
    package_id: str | None
    error: str | None = None  # its manifest's one line, when it cannot be read
    digest: str | None = None  # its content at --ref


@dataclass(frozen=True, slots=True)
class _Found:
    commit: CommitInfo
    environment: Environment
    packages: tuple[_Declared, ...]


#: Every option of ``rollback``: its own, then its settings groups (parser and completion).
PARTS: tuple[Part, ...] = (Part(RollbackOptions), settings_part(ROLLBACK_GROUPS))


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "faas-gitops rollback",
        "Put an earlier revision of one package back on one environment now, and "
        "hold it there: no later sync deploys over it until git changes the package's content "
        "or 'rollback --release'.",
        PARTS,
        epilog="Which revision: --to REVISION; else, with --ref REF on the command line, the "
        "one with the package's content at REF ('--ref v1.4.0': what that tag deployed); else "
        "the one that ran there before. --ref also names the commit PACKAGE is looked up in "
        "(default HEAD); FAAS_GITOPS_REF only does that. Exit codes: 0 rolled back (or "
        "released), 1 the rollback failed, 2 usage or configuration error (unknown package, "
        "environment or revision).",
    )
    parser.add_argument(
        "package", metavar="PACKAGE", help="package directory, manifest name or package id"
    )
    return parser


def main(args: list[str]) -> int:
    return release_command.main(build_parser(), RollbackOptions, ROLLBACK_GROUPS, args, _prepare)


def _prepare(
    namespace: argparse.Namespace, options: RollbackOptions, settings: Settings
) -> Callable[[], Awaitable[SyncResult]]:
    """The rollback to run; ``ConfigError`` unless exactly one environment is named."""
    if len(settings.deploy.environments) != 1:
        raise ConfigError("--environment NAME: name exactly one environment to roll back on")
    # --ref on the command line (not FAAS_GITOPS_REF, which a daemon's pod sets for its
    # syncs) also says which content to put back: 'rollback X --ref v1.4.0'.
    ref = getattr(namespace, "ref", None)
    return lambda: rollback_once(settings, options, namespace.package, content_of=ref)


async def rollback_once(
    settings: Settings, options: RollbackOptions, package: str, *, content_of: str | None = None
) -> SyncResult:
    """Roll back (or release), record, and return the result.

    ``content_of`` (the ``--ref`` flag): without ``--to``, put back the revision with the
    package's content at that ref, not the one that ran before. ``--ref`` always names the
    commit whose directories and manifests PACKAGE is looked up in.
    """
    import asyncio  # noqa: PLC0415 - not for --help

    from faas_gitops.content import content_digest  # noqa: PLC0415
    from faas_gitops.deploy import Timing  # noqa: PLC0415
    from faas_gitops.deploy import api as deploy_api  # noqa: PLC0415
    from faas_gitops.deploy.rollback import RollbackTarget, release_hold, rollback  # noqa: PLC0415
    from faas_gitops.models import Outcome, Status, SyncResult  # noqa: PLC0415
    from faas_gitops.reconcile.journal import SyncJournal  # noqa: PLC0415
    from faas_gitops.reconcile.release import (  # noqa: PLC0415
        DeploymentJournal,
        release_environments,
    )
    from faas_gitops.reconcile.session import Session  # noqa: PLC0415

    started = datetime.now(UTC)
    found = await asyncio.to_thread(_read_repository, settings)
    (environment,) = release_environments([found.environment], started)
    async with Session.open(settings) as session:
        inventory = await deploy_api.list_packages(session.api)
        remote = _match(inventory, found.packages, package)
        declared = _directory_of(remote, found.packages, package)
        path = declared.path if declared else _marked_directory(remote) or package
        target = RollbackTarget(path, remote.id, remote.tags)
        content = None
        if content_of is not None and options.to is None and not options.release:
            if declared is None or declared.digest is None:
                raise ConfigError(
                    f"--ref {content_of}: {package} is not a readable package directory there;"
                    " name the revision to put back with --to REVISION"
                )
            content = (f"--ref {content_of}", declared.digest)
        journal = SyncJournal.begin(session.ledger, found.commit, settings, "rollback", started)
        steps = None
        if session.ledger is not None and journal.sync_id is not None:
            steps = DeploymentJournal(
                session.ledger, journal.sync_id, [environment], {}, {path: remote.id}
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
                content=content,
                dry_run=settings.dry_run,
                timing=Timing(deploy_timeout=settings.deploy.timeout),
                journal=steps,
                read_digest=read_digest,
            )
        if steps is not None:
            steps.result(path, outcome)
        package_outcome = Outcome(
            path=path,
            status=Status.ROLLED_BACK,
            package_id=remote.id,
            name=declared.name if declared and declared.name else remote.name,
            revision_name=outcome.revision_name,
            revision_id=outcome.revision_id,
            deployments=(outcome,),
        )
        journal.add(package_outcome)  # the row 'faas-gitops history' lists the rollback by
        result = SyncResult(
            commit=found.commit.sha,
            ref=found.commit.ref,
            dry_run=settings.dry_run,
            outcomes=(package_outcome,),
            started_at=started,
            finished_at=datetime.now(UTC),
        )
        journal.finish(result)
    release_command.logger(__name__).info(
        "rollback.finished",
        path=path,
        environment=environment.name,
        status=outcome.status.value,
        revision=outcome.revision_name,
    )
    return result


def _read_repository(settings: Settings) -> _Found:
    """The commit, the environment and the package directories of ``--ref`` (git, in a thread).

    ``--ref`` only names packages (a directory, a manifest name): the rollback acts on what
    runs, so a manifest the bad commit broke does not stand in the way (the package is then
    found by the directory mark the syncs left on it).
    """
    from faas_gitops.content import content_digest  # noqa: PLC0415
    from faas_gitops.models import PackageFailure  # noqa: PLC0415
    from faas_gitops.reconcile.run import open_source  # noqa: PLC0415
    from faas_gitops.source.environments import CONFIG_NAME  # noqa: PLC0415

    source = open_source(settings, None)
    try:
        commit, config = release_command.read_policy(source, settings, "rollback")
        defined = config.by_name()
        name = settings.deploy.environments[0]
        if name not in defined:
            raise ConfigError(
                f"--environment {name}: not defined in {CONFIG_NAME} (defined:"
                f" {', '.join(defined)})"
            )
        packages = []
        for ref in source.package_refs(commit, settings.git.path, settings.limits):
            item = source.read_package(ref, settings.limits)
            if isinstance(item, PackageFailure):
                packages.append(_Declared(ref.path, None, item.package_id, item.error))
            else:
                digest = content_digest(item.functions)
                packages.append(_Declared(item.path, item.name, item.package_id, digest=digest))
    finally:
        source.close()
    return _Found(commit, defined[name], tuple(packages))


def _match(
    inventory: Sequence[TaggedPackage], declared: Sequence[_Declared], wanted: str
) -> TaggedPackage:
    """The remote package ``wanted`` names: a directory of the commit (by its manifest's id,
    else its name, else the directory mark), a package id, a manifest name, or the directory
    mark of a package the commit no longer holds."""
    from faas_gitops.deploy import marks  # noqa: PLC0415

    by_id = {p.id: p for p in inventory}
    local = next((d for d in declared if d.path == wanted), None)
    local = local or next((d for d in declared if wanted in (d.name, d.package_id)), None)
    for key in (local.package_id if local else None, wanted):
        if key and key in by_id:
            return by_id[key]
    for name in (local.name if local else None, wanted):
        named = [p for p in inventory if p.name == name]
        if len(named) == 1:
            return named[0]
    path = local.path if local else wanted
    marked = [p for p in inventory if marks.directory_matches(marks.parse(p.tags).directory, path)]
    if len(marked) == 1:
        return marked[0]
    if local is not None and local.error is not None:
        raise ConfigError(local.error)
    raise ConfigError(
        f"{wanted}: no such package (not a package directory, manifest name or package id the"
        " API knows); check the name with 'faas-gitops status'"
    )


def _directory_of(
    remote: TaggedPackage, declared: Sequence[_Declared], wanted: str
) -> _Declared | None:
    """The commit's directory of ``remote`` (whichever way PACKAGE named it), for every view."""
    from faas_gitops.deploy import marks  # noqa: PLC0415

    directory = marks.parse(remote.tags).directory
    for matches in (
        lambda d: d.package_id == remote.id,
        lambda d: d.package_id is None and d.name == remote.name,
        lambda d: marks.directory_matches(directory, d.path),
        lambda d: d.path == wanted,
    ):
        found = [d for d in declared if matches(d)]
        if len(found) == 1:
            return found[0]
    return None


def _marked_directory(remote: TaggedPackage) -> str | None:
    """The directory a sync marked ``remote`` with (a package the commit no longer holds)."""
    from faas_gitops.deploy import marks  # noqa: PLC0415

    directory = marks.parse(remote.tags).directory
    return directory if directory and "~" not in directory else None


__all__ = ["PARTS", "RollbackOptions", "build_parser", "main", "rollback_once"]

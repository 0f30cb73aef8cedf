"""``faas-gitops promote --from staging --to production``: run what was tested, as it was tested.

No new revision: each package gets onto the ``--to`` keyset exactly the revision id RUNNING on
the ``--from`` keyset, with the deployment stage's own steps, recorded in the ledger as a sync
with trigger ``promote`` and rendered like one. The environments come from ``faas-gitops.yaml``
at HEAD of ``--repo``/``--ref``/``--path`` (the same file a sync reads), package ids from the
manifests or, for a package matched by name, from the state dir's record of the last sync.
A package restricted away from ``--to`` or pinned there is left alone: the manifest wins.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict

from faas_gitops.cli import release_command, settings_part
from faas_gitops.errors import RUN_STOPPERS, ConfigError
from faas_gitops.options import CommandOptions, Opt, Part, command_parser
from faas_gitops.settings import PROMOTE_GROUPS

if TYPE_CHECKING:  # imported where used: 'promote --help' loads none of them
    from faas_gitops.models import CommitInfo, DesiredPackage, Outcome, SyncResult
    from faas_gitops.settings import Settings
    from faas_gitops.source.environments import Environment
    from faas_gitops.state.cache import StateCache, SyncedPackage


class PromoteOptions(CommandOptions):
    """Promote's own options; the settings groups of ``PROMOTE_GROUPS`` apply too."""

    model_config = ConfigDict(title="promote")

    source: Annotated[
        str, Opt("--from", "environment whose running revisions are promoted", "NAME")
    ]
    target: Annotated[str, Opt("--to", "environment to deploy them onto", "NAME")]
    packages: Annotated[
        tuple[str, ...],
        Opt("--package", "only this package directory (repeatable)", "PATH"),
    ] = ()


@dataclass(frozen=True, slots=True)
class _Package:
    """A package directory to promote; ``skip`` (a reason) leaves it alone, ``error`` (its
    manifest's one line) fails it alone."""

    path: str
    name: str | None
    package_id: str | None
    skip: str | None = None
    error: str | None = None


#: Every option of ``promote``: its own, then its settings groups (parser and completion).
PARTS: tuple[Part, ...] = (Part(PromoteOptions), settings_part(PROMOTE_GROUPS))


def build_parser() -> argparse.ArgumentParser:
    return command_parser(
        "faas-gitops promote",
        "Deploy onto one environment exactly the revisions running on another "
        "(environments from faas-gitops.yaml at the synced ref).",
        PARTS,
    )


def main(args: list[str]) -> int:
    return release_command.main(
        build_parser(),
        PromoteOptions,
        PROMOTE_GROUPS,
        args,
        lambda _, options, settings: lambda: promote_once(settings, options),
    )


async def promote_once(settings: Settings, options: PromoteOptions) -> SyncResult:
    """Promote, record, and return the result; ``ConfigError`` for a bad environment or path."""
    import asyncio  # noqa: PLC0415 - not for --help

    from faas_gitops.deploy import Timing, promote  # noqa: PLC0415
    from faas_gitops.deploy.environment import PackageToPromote  # noqa: PLC0415
    from faas_gitops.models import Outcome, Status, SyncResult  # noqa: PLC0415
    from faas_gitops.reconcile.journal import SyncJournal  # noqa: PLC0415
    from faas_gitops.reconcile.release import (  # noqa: PLC0415
        CacheDeployments,
        DeploymentJournal,
        release_environments,
    )
    from faas_gitops.reconcile.session import Session  # noqa: PLC0415

    started = datetime.now(UTC)
    read = await asyncio.to_thread(_read_repository, settings, options)
    commit, packages = read.commit, read.packages
    source_env, target_env = release_environments([read.source, read.target], started)
    async with Session.open(settings) as session:
        known = _synced_packages(settings, session.cache)
        refs: list[PackageToPromote] = []
        failed: dict[str, Outcome] = {}
        for package in packages:
            if package.skip is not None or package.error is not None:
                failed[package.path] = _left_alone_outcome(package, target_env)
                continue
            package_id = package.package_id or getattr(known.get(package.path), "package_id", None)
            if package_id:
                refs.append(PackageToPromote(package.path, package_id))
                continue
            failed[package.path] = Outcome(
                path=package.path,
                status=Status.FAILED,
                name=package.name,
                error=f"{package.path}: no package id yet; sync it once before promoting it",
            )
        journal = SyncJournal.begin(session.ledger, commit, settings, "promote", started)
        deploy_journal = None
        if session.ledger is not None and journal.sync_id is not None:
            ids = {ref.path: ref.package_id for ref in refs}
            deploy_journal = DeploymentJournal(
                session.ledger, journal.sync_id, [target_env], {}, ids
            )
        fatal = None
        results = {}
        try:
            results = await promote(
                session.api,
                source_env=source_env,
                target_env=target_env,
                packages=refs,
                dry_run=settings.dry_run,
                concurrency=settings.api.concurrency,
                known=CacheDeployments(session.cache),
                journal=deploy_journal,
                timing=Timing(deploy_timeout=settings.deploy.timeout),
            )
        except RUN_STOPPERS as exc:
            fatal = str(exc)
        names = {p.path: p.name for p in packages}
        outcomes = dict(failed)
        for ref in refs:
            deployments = results.get(ref.path, ())
            for deployment in deployments:
                if deploy_journal is not None:
                    deploy_journal.result(ref.path, deployment)
            outcomes[ref.path] = Outcome(
                path=ref.path,
                status=Status.PROMOTED,
                package_id=ref.package_id,
                name=names.get(ref.path),
                revision_name=deployments[0].revision_name if deployments else None,
                revision_id=deployments[0].revision_id if deployments else None,
                deployments=deployments,
            )
        for outcome in failed.values():
            for deployment in outcome.deployments:
                if deploy_journal is not None:
                    deploy_journal.result(outcome.path, deployment)
        for outcome in sorted(outcomes.values(), key=lambda o: o.path):
            journal.add(outcome)  # the rows 'faas-gitops history' lists the promotion by
        result = SyncResult(
            commit=commit.sha,
            ref=commit.ref,
            dry_run=settings.dry_run,
            outcomes=tuple(sorted(outcomes.values(), key=lambda o: o.path)),
            started_at=started,
            finished_at=datetime.now(UTC),
            fatal_error=fatal,
        )
        journal.finish(result)
    release_command.logger(__name__).info(
        "promote.finished",
        source=source_env.name,
        target=target_env.name,
        packages=len(outcomes),
        ok=result.ok,
    )
    return result


@dataclass(frozen=True, slots=True)
class _Read:
    commit: CommitInfo
    source: Environment
    target: Environment
    packages: list[_Package]


def _read_repository(settings: Settings, options: PromoteOptions) -> _Read:
    """The commit, the two environments and the packages to promote (git, in a thread)."""
    from faas_gitops.models import PackageFailure  # noqa: PLC0415
    from faas_gitops.reconcile.run import open_source  # noqa: PLC0415
    from faas_gitops.source.environments import CONFIG_NAME  # noqa: PLC0415

    source = open_source(settings, None)
    try:
        commit, config = release_command.read_policy(source, settings, "promote")
        defined = config.by_name()
        chosen = []
        for flag, name in (("--from", options.source), ("--to", options.target)):
            if name not in defined:
                raise ConfigError(
                    f"{flag} {name}: not defined in {CONFIG_NAME} (defined: {', '.join(defined)})"
                )
            chosen.append(defined[name])
        if options.source == options.target:
            raise ConfigError(f"--from and --to both name {options.source}; name two environments")
        refs = source.package_refs(commit, settings.git.path, settings.limits)
        paths = {ref.path for ref in refs}
        for wanted in options.packages:
            if wanted not in paths:
                raise ConfigError(
                    f"--package {wanted}: no package directory there in {commit.sha[:12]}"
                    f" (packages: {', '.join(sorted(paths))})"
                )
        packages: list[_Package] = []
        for ref in refs:
            if options.packages and ref.path not in options.packages:
                continue
            item = source.read_package(ref, settings.limits)
            if isinstance(item, PackageFailure):  # fails that package alone
                packages.append(_Package(item.path, None, item.package_id, error=item.error))
                continue
            skip = _left_alone(item, options.source, options.target)
            if skip is not None:
                release_command.logger(__name__).info(
                    "promote.skipped", path=item.path, environment=options.target, why=skip
                )
            packages.append(_Package(item.path, item.name, item.package_id, skip=skip))
    finally:
        source.close()
    return _Read(commit, chosen[0], chosen[1], packages)


def _synced_packages(settings: Settings, cache: StateCache) -> dict[str, SyncedPackage]:
    """The package ids the last sync found; a dry run's memory-only cache reads the file too."""
    from faas_gitops.state.cache import StateCache  # noqa: PLC0415
    from faas_gitops.state.cache_file import CACHE_FILENAME  # noqa: PLC0415

    if not settings.dry_run or not (settings.state_dir / CACHE_FILENAME).exists():
        return cache.synced_packages()
    on_disk = StateCache(settings.state_dir, settings.api.url)
    try:
        return on_disk.synced_packages()
    finally:
        on_disk.close()


def _left_alone(package: DesiredPackage, source: str, target: str) -> str | None:
    """Why the manifest keeps promote away from this package (restricted, pinned), or None."""
    if package.environments is not None:
        allowed = ", ".join(package.environments)
        if target not in package.environments:
            return f"restricted to {allowed} in package.yaml; not promoted to {target}"
        if source not in package.environments:  # the reason is the source, not the target
            return (
                f"restricted to {allowed} in package.yaml: it is not deployed to {source},"
                " so there is nothing of it to promote"
            )
    pin = dict(package.pins).get(target)
    if pin is not None:
        return f"pinned to {pin} on {target} in package.yaml"
    return None


def _left_alone_outcome(package: _Package, target: Environment | Any) -> Outcome:
    """A skipped package (in-sync for the exit code) or one whose manifest failed."""
    from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status  # noqa: PLC0415

    deployment = DeploymentOutcome(
        environment=target.name,
        keyset_id=target.keyset_id,
        status=DeployStatus.FAILED if package.error else DeployStatus.SKIPPED,
        error=package.error,
        note=package.skip,
        pinned=bool(package.skip and package.skip.startswith("pinned")),
    )
    return Outcome(
        path=package.path,
        status=Status.FAILED if package.error else Status.UNCHANGED,
        package_id=package.package_id,
        name=package.name,
        error=package.error,
        deployments=(deployment,),
    )


__all__ = ["PARTS", "PromoteOptions", "build_parser", "main", "promote_once"]

"""The sync's side of the release stage: freeze its inputs, run it, record what it returned.

``ReleasePrep.prepare`` runs before anything is written: it reads the environment policy
(``faas-gitops.yaml`` at the tip of the configuration branch, so a sync of an old tag obeys
today's freeze), checks ``--environment`` and picks the active environments, so a bad file
stops the sync with one line and no write. No file: no deployment endpoint is ever called.
After the revision stage, ``ReleasePrep.run`` turns the revision outcomes into frozen
``ReleaseInputs`` (reading from git the manifests of packages the revision stage skipped as
unchanged: git is read here, never in ``deploy/``), calls ``deploy.run_release``, journals
every result and returns the outcomes with their deployments attached.

The deployment machinery (``faas_gitops.deploy``) is imported by the methods that use it: most
repositories have no ``faas-gitops.yaml``, and their syncs should not pay for it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from faas_gitops.errors import RUN_STOPPERS
from faas_gitops.models import (
    CommitInfo,
    DeploymentOutcome,
    DeployStatus,
    DesiredPackage,
    Outcome,
    PackageFailure,
    RemoteRevision,
    Status,
)
from faas_gitops.models import PackageRef as TreeRef
from faas_gitops.reconcile.outcomes import debug_logged
from faas_gitops.reconcile.release_records import CacheDeployments, DeploymentJournal
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.environments import Environment, EnvironmentsConfig, active_environments
from faas_gitops.source.owner import default_owner
from faas_gitops.source.policy import load_policy
from faas_gitops.state.cache import StateCache
from faas_gitops.state.ledger import Ledger

if TYPE_CHECKING:
    import asyncio

    from faas_gitops.deploy import DeployTarget, ReleaseEnvironment
    from faas_gitops.deploy.ahead import ReadingAhead, ReleaseReads
    from faas_gitops.deploy.stage import Release

log = structlog.get_logger(__name__)

InGit = Callable[..., Any]  # the sync's git thread: ``await in_git(fn, *args)``
#: Revision-stage results whose revision is known: these packages are deployed.
DEPLOYABLE = (Status.CREATED, Status.ADOPTED, Status.UNCHANGED)


def release_environments(
    environments: Sequence[Environment], now: datetime
) -> tuple[ReleaseEnvironment, ...]:
    """The policy evaluated once, at the run's start: frozen (and why, until when) or not."""
    from faas_gitops.deploy import ReleaseEnvironment  # noqa: PLC0415 - see the top

    released = []
    for env in environments:
        freeze = env.freeze(now)
        note = None
        if freeze.frozen:
            note = freeze.reason or "frozen"
            if freeze.until is not None:
                note += f" until {freeze.until.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        released.append(
            ReleaseEnvironment(env.name, env.keyset_id, freeze.frozen, note, freeze.until)
        )
    return tuple(released)


@dataclass(frozen=True, slots=True)
class ReleasePrep:
    """The environments of this sync, read from the policy (``None`` from ``prepare``: none)."""

    settings: Settings
    config: EnvironmentsConfig
    active: tuple[Environment, ...]
    owner: str
    started: datetime
    notes: tuple[str, ...] = ()

    @classmethod
    async def prepare(
        cls, settings: Settings, source: Repository, commit: CommitInfo, in_git: InGit
    ) -> ReleasePrep | None:
        """Read the policy and pick the active environments; ``ConfigError`` if bad.

        ``--environment`` naming an environment is an error without the file too.
        """
        config, where = await in_git(
            load_policy, source, commit, settings.git.path, settings.deploy.config_ref
        )
        names = tuple(settings.deploy.environments)
        if config is None:
            active_environments(None, branch=None, tags=(), names=names)  # raises if names
            return None
        branch = await in_git(source.branch_of, settings.git.ref)
        active = active_environments(config, branch=branch, tags=commit.tags, names=names)
        owner = config.owner or await in_git(default_owner, source)
        log.info(
            "deploy.environments",
            branch=branch,
            tags=list(commit.tags),
            active=[env.name for env in active],
            policy=where,
            owner=owner,
        )
        notes: tuple[str, ...] = ()
        if not active and branch is None and not commit.tags:
            notes = (
                "no environment is active: HEAD is detached, so no branch names the commit;"
                " pass --ref BRANCH (or set FAAS_GITOPS_REF) or --environment NAME",
            )
        return cls(settings, config, active, owner, datetime.now(UTC), notes)

    def reading_ahead(
        self, api: Any, cache: StateCache, slots: asyncio.Semaphore
    ) -> ReadingAhead | None:
        """The release stage's reads to start while the revision stage runs, sharing its
        ``slots``; ``None`` when no environment is active (nothing is read for it)."""
        if not self.active:
            return None
        from faas_gitops.deploy.ahead import ReadingAhead  # noqa: PLC0415 - see the top

        return ReadingAhead(
            api,
            known=CacheDeployments(cache),
            environments=release_environments(self.active, self.started),
            defined=frozenset(self.config.environments),
            slots=slots,
            configured=self._configured(),
            dry_run=self.settings.dry_run,
        )

    def _configured(self) -> tuple[ReleaseEnvironment, ...]:
        """Every environment ``faas-gitops.yaml`` defines, evaluated at the run's start."""
        return release_environments(tuple(self.config.by_name().values()), self.started)

    async def run(
        self,
        *,
        api: Any,
        cache: StateCache,
        ledger: Ledger | None,
        sync_id: int | None,
        source: Repository,
        refs: Sequence[TreeRef],
        outcomes: Mapping[str, Outcome],
        desired: Mapping[str, DesiredPackage],
        in_git: InGit,
        listed: Mapping[str, Sequence[RemoteRevision]] | None = None,
        ahead: ReleaseReads | None = None,
        digests: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, Outcome], str | None]:
        """Deploy; the outcomes with their deployments attached, and a fatal error if any.

        ``listed``: the revision lists the revision stage read, by package id, handed to the
        release stage so it reads no list twice (``handed_over``); ``ahead``: what
        ``reading_ahead`` read while the revision stage ran; ``digests``: the content digests
        the revision stage planned with, by path (a package missing from it is digested here).
        """
        if not self.active:
            return dict(outcomes), None
        from faas_gitops.deploy import ReleaseInputs, Timing, run_release  # noqa: PLC0415

        settings = self.settings
        targets, failed = await self._targets(
            source, refs, outcomes, desired, in_git, digests=digests or {}
        )
        declared = [desired.get(ref.path) for ref in refs]
        inputs = ReleaseInputs(
            environments=release_environments(self.active, self.started),
            configured=self._configured(),
            targets=tuple(targets.values()),
            owner=self.owner,
            scope=settings.git.path.strip("/"),
            failed=tuple(sorted(failed.items())),
            declared_ids=frozenset(
                {o.package_id for o in outcomes.values() if o.package_id}
                | {d.package_id for d in declared if d is not None and d.package_id}
            ),
            declared_names=frozenset(
                {o.name for o in outcomes.values() if o.name}
                | {d.name for d in declared if d is not None and d.name}
            ),
            failed_paths=frozenset(
                {path for path, o in outcomes.items() if o.status is Status.FAILED} | set(failed)
            ),
            declared_paths=frozenset(ref.path for ref in refs),
            defined_names=frozenset(self.config.environments),
            prune=settings.deploy.prune,
            dry_run=settings.dry_run,
            concurrency=settings.api.concurrency,
        )
        journal = None
        if ledger is not None and sync_id is not None:
            ids = {path: t.package_id for path, t in targets.items()}
            journal = DeploymentJournal(ledger, sync_id, inputs.configured, targets, ids)
        try:
            if journal is not None and ledger is not None and not settings.dry_run:
                # A killed run's unanswered deployment steps are settled first, on their own.
                from faas_gitops.deploy.recover import settle_pending_deployments  # noqa: PLC0415

                await settle_pending_deployments(api, ledger, sync_id=sync_id)
            release = await run_release(
                api,
                inputs,
                known=CacheDeployments(cache),
                journal=journal,
                timing=Timing(deploy_timeout=settings.deploy.timeout),
                listed=handed_over(listed or {}, outcomes),
                ahead=ahead,
            )
        except RUN_STOPPERS as exc:
            return dict(outcomes), str(exc)
        return self._attach(release, outcomes, journal), None

    async def _targets(
        self,
        source: Repository,
        refs: Sequence[TreeRef],
        outcomes: Mapping[str, Outcome],
        desired: Mapping[str, DesiredPackage],
        in_git: InGit,
        *,
        digests: Mapping[str, str],
    ) -> tuple[dict[str, DeployTarget], dict[str, str]]:
        """One target per package with a known revision; unreadable ones fail here. A
        package's digest is the revision stage's when it planned the package (the same
        functions: ``desired`` is what it read), else computed from what git holds."""
        from faas_gitops.content import content_digest  # noqa: PLC0415
        from faas_gitops.deploy import DeployTarget  # noqa: PLC0415 - see the top

        by_path = {ref.path: ref for ref in refs}
        wanted = (*DEPLOYABLE, Status.WOULD_CREATE) if self.settings.dry_run else DEPLOYABLE
        targets: dict[str, DeployTarget] = {}
        failed: dict[str, str] = {}
        for path, outcome in sorted(outcomes.items()):
            if outcome.status not in wanted:
                continue
            package = desired.get(path)
            if package is None and path in by_path:  # skipped as unchanged: read it now
                item = await in_git(source.read_package, by_path[path], self.settings.limits)
                if isinstance(item, PackageFailure):
                    failed[path] = item.error
                    continue
                package = item
            if package is None:
                continue
            planned = digests.get(path) if desired.get(path) is package else None
            targets[path] = DeployTarget.of(
                package,
                outcome.package_id,
                outcome.revision_id,
                outcome.revision_name,
                planned or content_digest(package.functions),
            )
        return targets, failed

    def _attach(
        self,
        release: Release,
        outcomes: Mapping[str, Outcome],
        journal: DeploymentJournal | None,
    ) -> dict[str, Outcome]:
        attached = dict(outcomes)
        results: list[tuple[str, DeploymentOutcome]] = []
        debug = debug_logged()
        for path, deployments in release.deployments.items():
            for deployment in deployments:
                _log_deployment(path, deployment, debug=debug)
                results.append((path, deployment))
            if path in attached:
                attached[path] = replace(attached[path], deployments=deployments)
        for removed in release.removed:
            if journal is not None and removed.package_id is not None:  # always, for a removed one
                journal.know(removed.path, removed.package_id)
            for deployment in removed.deployments:
                _log_deployment(removed.path, deployment, debug=debug)
                results.append((removed.path, deployment))
            attached.setdefault(removed.path, removed)  # reported removed, with where it ran
        if journal is not None:
            journal.results(results)  # one transaction: no write waits on a result row
        return attached


def handed_over(
    listed: Mapping[str, Sequence[RemoteRevision]], outcomes: Mapping[str, Outcome]
) -> dict[str, Sequence[RemoteRevision]]:
    """The revision stage's lists for the release stage, each with the revision this run
    created for its package (read before the create, the list lacks it; new, it has no
    deployment). A package skipped as unchanged has no list here: the release stage reads it.
    """
    handed: dict[str, Sequence[RemoteRevision]] = dict(listed)
    for outcome in outcomes.values():
        package_id, revision_id = outcome.package_id, outcome.revision_id
        if outcome.status is not Status.CREATED or not package_id or not revision_id:
            continue
        revisions = handed.get(package_id)
        if revisions is None or any(rev.id == revision_id for rev in revisions):
            continue
        new = RemoteRevision(
            id=revision_id,
            package_id=package_id,
            name=outcome.revision_name or "",
            created=datetime.now(UTC),
            running=0,
            total=0,
        )
        handed[package_id] = (new, *revisions)
    return handed


_EVENTS = {status: f"deployment.{status.value}" for status in DeployStatus}


def _log_deployment(path: str, deployment: DeploymentOutcome, *, debug: bool = True) -> None:
    """The deployment's line; one in sync is debug, skipped unbuilt when ``debug`` is False."""
    if not debug and deployment.status is DeployStatus.IN_SYNC:
        return
    fields = {
        "path": path,
        "environment": deployment.environment,
        "keyset_id": deployment.keyset_id,
        "status": deployment.status.value,
        "revision_name": deployment.revision_name,
        "revision_id": deployment.revision_id,
        "deployment_id": deployment.deployment_id,
        "correlation_id": deployment.correlation_id,
        "error": deployment.error,
        "note": deployment.note,
    }
    if deployment.status is DeployStatus.FAILED:
        log.warning("deployment.failed", **fields)
    elif deployment.status is DeployStatus.IN_SYNC:
        log.debug("deployment.in_sync", **fields)
    else:
        log.info(_EVENTS[deployment.status], **fields)


__all__ = [
    "DEPLOYABLE",
    "CacheDeployments",
    "DeploymentJournal",
    "ReleasePrep",
    "handed_over",
    "release_environments",
]

"""The sync's deployment stage: after the revisions, run them on the environments git names.

``DeployHook.prepare`` reads ``faas-gitops.yaml`` from the commit before anything is written,
so a bad file (or an unknown ``--environment``) stops the sync with one line and no write. No
file, no hook: no deployment endpoint is ever called. ``DeployHook.run`` comes after the
revision stage; it deploys every package whose revision is known (created, adopted, unchanged;
in a dry run also would-create), prunes with ``--prune``, journals every step and the result
of each package x environment, and attaches the results to the outcomes.

The deployment machinery (``faas_gitops.deploy``) is imported by the methods that use it: most
repositories have no ``faas-gitops.yaml``, and their syncs should not pay for it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
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
    Status,
)
from faas_gitops.models import PackageRef as TreeRef
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.environments import (
    Environment,
    EnvironmentsConfig,
    active_environments,
    load_environments,
)
from faas_gitops.state.cache import StateCache
from faas_gitops.state.ledger import Ledger

if TYPE_CHECKING:
    from faas_gitops.deploy import DeployTarget, PackageRef
    from faas_gitops.deploy.stage import Outcomes

log = structlog.get_logger(__name__)

InGit = Callable[..., Any]  # the sync's git thread: ``await in_git(fn, *args)``
#: Revision-stage results whose revision is known: these packages are deployed.
DEPLOYABLE = (Status.CREATED, Status.ADOPTED, Status.UNCHANGED)


class CacheDeployments:
    """``KnownDeployments`` over the state dir's cache: ids to verify, never to trust."""

    def __init__(self, cache: StateCache) -> None:
        self._cache = cache

    def get(self, package_id: str, keyset_id: int) -> str | None:
        return self._cache.deployment_id(package_id, keyset_id)

    def put(self, package_id: str, keyset_id: int, deployment_id: str) -> None:
        self._cache.remember_deployment(package_id, keyset_id, deployment_id)


class DeploymentJournal:
    """The deployment stage's ``Journal`` writing into the ledger row of one sync."""

    def __init__(
        self,
        ledger: Ledger,
        sync_id: int,
        environments: Sequence[Environment],
        targets: Mapping[str, DeployTarget],
        package_ids: Mapping[str, str | None],
    ) -> None:
        self._ledger = ledger
        self._sync_id = sync_id
        self._keysets = {env.name: env.keyset_id for env in environments}
        self._targets = targets
        self._package_ids = package_ids

    def __call__(  # noqa: PLR0917 - the stage's Journal signature
        self,
        step: str,
        environment: str,
        path: str,
        deployment_id: str | None,
        correlation_id: str | None,
        status: str,
    ) -> None:
        target = self._targets.get(path)
        row = DeploymentOutcome(
            environment=environment,
            keyset_id=self._keysets.get(environment, 0),
            status=DeployStatus.FAILED if status == "failed" else DeployStatus.DEPLOYED,
            revision_name=target.revision_name if target else None,
            revision_id=target.revision_id if target else None,
            deployment_id=deployment_id,
            correlation_id=correlation_id,
        )
        self._ledger.record_deployment(
            self._sync_id,
            path=path,
            package_id=self._package_ids.get(path),
            step=step,
            outcome=row,
            status=status,
        )

    def result(self, path: str, outcome: DeploymentOutcome) -> None:
        """The final outcome of one package on one environment: what the state queries read."""
        self._ledger.record_deployment(
            self._sync_id,
            path=path,
            package_id=self._package_ids.get(path),
            step="result",
            outcome=outcome,
        )


@dataclass(frozen=True, slots=True)
class DeployHook:
    """The environments of this sync, read from the commit (``None`` from ``prepare``: none)."""

    settings: Settings
    config: EnvironmentsConfig
    environments: tuple[Environment, ...]

    @classmethod
    async def prepare(
        cls, settings: Settings, source: Repository, commit: CommitInfo, in_git: InGit
    ) -> DeployHook | None:
        """Read ``faas-gitops.yaml`` and pick the active environments; ``ConfigError`` if bad.

        ``--environment`` naming an environment is an error without the file too.
        """
        config = await in_git(load_environments, source, commit, settings.git.path)
        names = tuple(settings.deploy.environments)
        if config is None:
            active_environments(None, branch=None, tags=(), names=names)  # raises if names
            return None
        branch = await in_git(source.branch_of, settings.git.ref)
        active = active_environments(config, branch=branch, tags=commit.tags, names=names)
        log.info(
            "deploy.environments",
            branch=branch,
            tags=list(commit.tags),
            active=[env.name for env in active],
        )
        return cls(settings, config, active)

    async def run(
        self,
        *,
        api: Any,
        cache: StateCache,
        ledger: Ledger | None,
        sync_id: int | None,
        source: Repository,
        refs: Sequence[TreeRef],
        outcomes: MutableMapping[str, Outcome],
        desired: Mapping[str, DesiredPackage],
        in_git: InGit,
    ) -> str | None:
        """Deploy, attach the results to ``outcomes``; a rejected key is returned as fatal."""
        if not self.environments:
            return None
        from faas_gitops.deploy import Timing, deploy_packages  # noqa: PLC0415 - see the top

        settings = self.settings
        targets, failed = await self._targets(source, refs, outcomes, desired, in_git)
        prune = self._prune_paths(cache, refs) if settings.deploy.prune else []
        package_ids = {path: t.package_id for path, t in targets.items()}
        package_ids.update({ref.path: ref.package_id for ref in prune})
        journal = None
        if ledger is not None and sync_id is not None:
            journal = DeploymentJournal(ledger, sync_id, self.environments, targets, package_ids)
        try:
            results = await deploy_packages(
                api,
                environments=self.environments,
                packages=list(targets.values()),
                dry_run=settings.dry_run,
                concurrency=settings.api.concurrency,
                known=CacheDeployments(cache),
                prune_paths=prune,
                defined_environments=tuple(self.config.environments),
                journal=journal,
                timing=Timing(deploy_timeout=settings.deploy.timeout),
            )
        except RUN_STOPPERS as exc:
            return str(exc)
        results = {**failed, **results}
        self._attach(results, outcomes, prune, journal)
        return None

    async def _targets(
        self,
        source: Repository,
        refs: Sequence[TreeRef],
        outcomes: Mapping[str, Outcome],
        desired: Mapping[str, DesiredPackage],
        in_git: InGit,
    ) -> tuple[dict[str, DeployTarget], Outcomes]:
        """One target per package with a known revision; unreadable ones fail here."""
        from faas_gitops.deploy import DeployTarget  # noqa: PLC0415 - see the top

        by_path = {ref.path: ref for ref in refs}
        wanted = (*DEPLOYABLE, Status.WOULD_CREATE) if self.settings.dry_run else DEPLOYABLE
        targets: dict[str, DeployTarget] = {}
        failed: Outcomes = {}
        for path, outcome in sorted(outcomes.items()):
            if outcome.status not in wanted:
                continue
            package = desired.get(path)
            if package is None and path in by_path:  # skipped as unchanged: read it now
                item = await in_git(source.read_package, by_path[path], self.settings.limits)
                if isinstance(item, PackageFailure):
                    failed[path] = tuple(self._failed(env, item.error) for env in self.environments)
                    continue
                package = item
            if package is None:
                continue
            targets[path] = DeployTarget.of(
                package, outcome.package_id, outcome.revision_id, outcome.revision_name
            )
        return targets, failed

    @staticmethod
    def _prune_paths(cache: StateCache, refs: Sequence[TreeRef]) -> list[PackageRef]:
        """Packages the state dir knew in sync that this commit no longer holds."""
        from faas_gitops.deploy import PackageRef  # noqa: PLC0415 - see the top

        present = {ref.path for ref in refs}
        return [
            PackageRef(path, known.package_id)
            for path, known in sorted(cache.synced_packages().items())
            if path not in present and known.package_id
        ]

    @staticmethod
    def _failed(env: Environment, error: str) -> DeploymentOutcome:
        return DeploymentOutcome(
            environment=env.name, keyset_id=env.keyset_id, status=DeployStatus.FAILED, error=error
        )

    def _attach(
        self,
        results: Outcomes,
        outcomes: MutableMapping[str, Outcome],
        prune: Sequence[PackageRef],
        journal: DeploymentJournal | None,
    ) -> None:
        pruned = {ref.path: ref for ref in prune}
        for path, deployments in sorted(results.items()):
            for deployment in deployments:
                _log_deployment(path, deployment)
                if journal is not None:
                    journal.result(path, deployment)
            outcome = outcomes.get(path)
            if outcome is None and path in pruned:
                # Removed from the commit: reported (and then forgotten by the cache) as an
                # unchanged package whose deployments were stopped.
                outcome = Outcome(
                    path=path, status=Status.UNCHANGED, package_id=pruned[path].package_id
                )
            if outcome is not None:
                outcomes[path] = replace(outcome, deployments=deployments)


_EVENTS = {status: f"deployment.{status.value}" for status in DeployStatus}


def _log_deployment(path: str, deployment: DeploymentOutcome) -> None:
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
    }
    if deployment.status is DeployStatus.FAILED:
        log.warning("deployment.failed", **fields)
    elif deployment.status is DeployStatus.IN_SYNC:
        log.debug("deployment.in_sync", **fields)
    else:
        log.info(_EVENTS[deployment.status], **fields)


__all__ = ["DEPLOYABLE", "CacheDeployments", "DeployHook", "DeploymentJournal"]

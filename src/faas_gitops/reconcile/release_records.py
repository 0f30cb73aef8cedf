"""Where the release stage's results are kept: the state dir's memory of deployments and the
ledger's journal of deployment steps.

Both are handed to ``deploy`` as the small protocols it declares (``KnownDeployments``,
``Journal``), so the deployment machinery never imports the state dir or the ledger. Kept apart
from ``reconcile/release.py`` (the sync's side of the stage) so each module has one job;
``promote`` and ``rollback`` use them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.state.cache import StateCache
from faas_gitops.state.ledger import Ledger

if TYPE_CHECKING:
    from faas_gitops.deploy import DeployTarget
    from faas_gitops.deploy.observe import Remembered


class CacheDeployments:
    """``KnownDeployments`` over the state dir's cache: the release stage's last read of each
    package's deployments, trusted only while the revision list's counters agree with it."""

    def __init__(self, cache: StateCache) -> None:
        self._cache = cache

    def recall(self, package_id: str) -> Remembered | None:
        from faas_gitops.deploy.observe import Remembered  # noqa: PLC0415 - deploy loads lazily

        text = self._cache.observed(package_id)
        return None if text is None else Remembered.from_json(text)

    def keep(self, package_id: str, remembered: Remembered | None) -> None:
        text = None if remembered is None else remembered.to_json()
        self._cache.remember_observed(package_id, text)


class DeploymentJournal:
    """The release stage's ``Journal`` writing into the ledger row of one sync."""

    def __init__(
        self,
        ledger: Ledger,
        sync_id: int,
        environments: Sequence[Any],
        targets: Mapping[str, DeployTarget],
        package_ids: Mapping[str, str | None],
    ) -> None:
        self._ledger = ledger
        self._sync_id = sync_id
        self._keysets = {env.name: env.keyset_id for env in environments}
        self._targets = targets
        self._package_ids = dict(package_ids)

    def know(self, path: str, package_id: str) -> None:
        """A path journaled that is not a target (a removed package being pruned)."""
        self._package_ids[path] = package_id

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

    def results(self, outcomes: Sequence[tuple[str, DeploymentOutcome]]) -> None:
        """The final outcomes ``(path, outcome)`` of a whole stage, in one transaction: no
        write waits on them (each step before its write was journaled on its own), so one
        commit replaces one per package and environment."""
        self._ledger.record_deployments(
            self._sync_id,
            [(path, self._package_ids.get(path), "result", outcome) for path, outcome in outcomes],
        )


__all__ = ["CacheDeployments", "DeploymentJournal"]

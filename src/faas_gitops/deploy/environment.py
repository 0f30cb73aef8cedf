"""What the deployment stage needs to know about an environment, and a target package.

``EnvironmentLike`` is structural: the stage needs only a name, a keyset id and the freeze, so
``faas_gitops.source.environments.Environment`` (the loader's type) fits as it is, and this
package never imports the git edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from faas_gitops.models import DesiredPackage


class EnvironmentLike(Protocol):
    """An environment of ``faas-gitops.yaml``: a name, the numeric keyset id, a change freeze."""

    @property
    def name(self) -> str: ...
    @property
    def keyset_id(self) -> int: ...
    @property
    def frozen(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class DeployTarget:
    """One package to deploy: its remote id and the revision this commit wants running.

    ``revision_id``/``revision_name`` are the revision stage's result (created now, or the
    unchanged latest); ``None`` when it has none (a dry run of a package not created yet).
    ``environments`` and ``pins`` are ``package.yaml``'s keys (``None``: every environment).
    """

    path: str
    package_id: str | None
    revision_id: str | None
    revision_name: str | None
    environments: tuple[str, ...] | None = None
    pins: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        package: DesiredPackage,
        package_id: str | None,
        revision_id: str | None,
        revision_name: str | None,
    ) -> DeployTarget:
        """From the desired package and its revision-stage ``Outcome`` fields."""
        return cls(
            path=package.path,
            package_id=package_id or package.package_id,
            revision_id=revision_id,
            revision_name=revision_name,
            environments=package.environments,
            pins=package.pins,
        )

    def pin_for(self, environment: str) -> str | None:
        return dict(self.pins).get(environment)


@dataclass(frozen=True, slots=True)
class PackageRef:
    """A package by directory and remote id: one to prune (the ledger knows it, the commit
    no longer holds it) or one to promote."""

    path: str
    package_id: str

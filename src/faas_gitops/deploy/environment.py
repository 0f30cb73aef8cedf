"""What the deployment stage needs to know about an environment, and a target package.

``EnvironmentLike`` is structural: the stage needs only a name, a keyset id and the freeze, so
``faas_gitops.source.environments.Environment`` (the loader's type) fits as it is, and this
package never imports the git edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    digest: str | None = None  # git's content digest of the package (content, not ids)
    name: str | None = None  # the manifest's name

    @classmethod
    def of(
        cls,
        package: DesiredPackage,
        package_id: str | None,
        revision_id: str | None,
        revision_name: str | None,
        digest: str | None = None,
    ) -> DeployTarget:
        """From the desired package and its revision-stage ``Outcome`` fields."""
        return cls(
            path=package.path,
            package_id=package_id or package.package_id,
            revision_id=revision_id,
            revision_name=revision_name,
            environments=package.environments,
            pins=package.pins,
            digest=digest,
            name=package.name,
        )

    def pin_for(self, environment: str) -> str | None:
        return dict(self.pins).get(environment)


@dataclass(frozen=True, slots=True)
class PackageToPromote:
    """A package ``promote`` acts on, by directory and remote id (the ledger's packages, or
    those named by ``--package``); not ``models.PackageRef``, a package directory of a commit's
    tree."""

    path: str
    package_id: str


@dataclass(frozen=True, slots=True)
class ReleaseEnvironment:
    """An environment as the release stage acts on it: its policy evaluated once per run.

    ``frozen`` is the policy's answer at the run's start (``frozen: true`` or a window), with
    ``frozen_note`` saying why and until when, for every view.
    """

    name: str
    keyset_id: int
    frozen: bool = False
    frozen_note: str | None = None
    frozen_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReleaseInputs:
    """Everything the release stage decides from, frozen before it starts.

    ``environments`` are those this run acts on; ``configured`` every environment of the
    policy (a keyset none of them names is where a deployment is orphaned). ``targets`` are the
    declared packages whose revision is known; ``failed`` those that cannot deploy (their one
    line). ``declared_ids``/``declared_names`` are every package id and manifest name a
    directory of the commit targets: never a prune candidate (a rename is not a removal).
    ``failed_paths`` are the commit's directories whose package failed this run (a broken
    ``package.yaml``): what they target is unknown, so a package marked with one of them is
    never a prune candidate either. ``declared_paths`` are all the commit's package directories
    (a removed package whose directory now holds another one is shown under another path).
    ``owner`` is this repository's mark; ``scope`` is ``--path``.
    """

    environments: tuple[ReleaseEnvironment, ...]
    configured: tuple[ReleaseEnvironment, ...]
    targets: tuple[DeployTarget, ...]
    owner: str
    scope: str = ""
    failed: tuple[tuple[str, str], ...] = ()
    declared_ids: frozenset[str] = frozenset()
    declared_names: frozenset[str] = frozenset()
    failed_paths: frozenset[str] = frozenset()
    declared_paths: frozenset[str] = frozenset()
    defined_names: frozenset[str] | None = None
    prune: bool = False
    dry_run: bool = False
    concurrency: int = 8
    mark: bool = True  # write ownership marks (off for promote and rollback: they read them)
    notes: tuple[str, ...] = field(default=())

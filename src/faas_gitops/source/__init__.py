"""Everything faas-gitops reads from git: the repository, its mirror, manifests, environments.

``Repository`` is the one door to git; ``manifest`` (with ``yaml_loader``) and
``package_reader`` turn one package directory into a ``DesiredPackage``; ``environments`` reads
the repository-level ``faas-gitops.yaml``.
"""

from __future__ import annotations

from faas_gitops.source.limits import SizeLimits
from faas_gitops.source.repository import Repository
from faas_gitops.source.tags import sort_tags, version_key

__all__ = [
    "Repository",
    "SizeLimits",
    "sort_tags",
    "version_key",
]

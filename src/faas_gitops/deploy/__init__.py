"""The release stage: git decides which revision runs on each environment's keyset.

Entry points: ``run_release`` (a sync's stage after the revisions, from frozen
``ReleaseInputs``), ``promote`` (run on one environment what runs on another) and
``rollback`` (put a revision back and hold it). Pure planning is ``plan_deployment``; the API
calls are in ``deploy.api`` and take any object with ``ApiClient.request``; ownership marks and
holds are the package's tags (``deploy.marks``).
"""

from faas_gitops.deploy.environment import (
    DeployTarget,
    EnvironmentLike,
    PackageToPromote,
    ReleaseEnvironment,
    ReleaseInputs,
)
from faas_gitops.deploy.observe import KnownDeployments
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.deploy.promote import promote
from faas_gitops.deploy.stage import Release, run_release
from faas_gitops.deploy.writer import DEFAULT_DEPLOY_TIMEOUT, Journal, Timing, apply_plan

__all__ = [
    "DEFAULT_DEPLOY_TIMEOUT",
    "DeployAction",
    "DeployTarget",
    "DeploymentPlan",
    "EnvironmentLike",
    "Journal",
    "KnownDeployments",
    "PackageToPromote",
    "Release",
    "ReleaseEnvironment",
    "ReleaseInputs",
    "RevisionRef",
    "Timing",
    "apply_plan",
    "plan_deployment",
    "promote",
    "run_release",
]

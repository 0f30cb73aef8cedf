"""The deployment stage: git decides which revision runs on each environment's keyset.

Entry points: ``deploy_packages`` (a sync's stage after the revisions), ``promote`` (run on one
environment what runs on another). Pure planning is ``plan_deployment``; the API calls are in
``deploy.api`` and take any object with ``ApiClient.request``.
"""

from faas_gitops.deploy.environment import DeployTarget, EnvironmentLike, PackageRef
from faas_gitops.deploy.observe import KnownDeployments
from faas_gitops.deploy.plan import DeployAction, DeploymentPlan, RevisionRef, plan_deployment
from faas_gitops.deploy.promote import promote
from faas_gitops.deploy.stage import deploy_packages
from faas_gitops.deploy.writer import DEFAULT_DEPLOY_TIMEOUT, Journal, Timing, apply_plan

__all__ = [
    "DEFAULT_DEPLOY_TIMEOUT",
    "DeployAction",
    "DeployTarget",
    "DeploymentPlan",
    "EnvironmentLike",
    "Journal",
    "KnownDeployments",
    "PackageRef",
    "RevisionRef",
    "Timing",
    "apply_plan",
    "deploy_packages",
    "plan_deployment",
    "promote",
]

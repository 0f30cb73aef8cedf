"""The daemon's time and input rules: how long a sync may run, how long to back off, the
webhook secret. Plain functions of the settings, so they are tested without a daemon."""

from __future__ import annotations

import math

from faas_gitops.backoff import Backoff
from faas_gitops.secret_files import read_secret_file
from faas_gitops.settings import Settings
from faas_gitops.source.mirror import GIT_TIMEOUT_S

#: First retry after a failed sync; doubles per consecutive failure up to ``--interval``.
RETRY_BASE_S = 1.0


def stuck_after(settings: Settings, *, packages: int = 0, environments: int = 0) -> float:
    """Seconds one sync may run before ``/healthz`` reports the loop as stuck.

    A sync is at most one ``git fetch`` (bounded by ``GIT_TIMEOUT_S``) plus API calls that each
    give up after ``--timeout`` and a few retries; 20 timeouts on top of the fetch leaves room for
    a large first sync while still catching a wedged one. Never less than 10 minutes. Default:
    300 + 20 x 30 = 900 s. On top of that comes the deployment stage's own bound
    (``deploy_stage_bound``) for the ``packages`` x ``environments`` deployments the sync may
    make, so a long legitimate rollout never gets the pod restarted by its liveness probe.
    """
    api_timeout: float = settings.api.timeout
    base = max(600.0, GIT_TIMEOUT_S + 20 * api_timeout)
    return base + deploy_stage_bound(settings, packages, environments)


def deploy_stage_bound(settings: Settings, packages: int, environments: int) -> float:
    """The longest the deployment stage can take for ``packages`` x ``environments``.

    An upper bound known when the sync starts (the package directories of the commit and the
    environments defined), chosen over progress reports that would reset the deadline: a bound
    keeps the probe a function of the clock and the settings alone, needs nothing from the
    stage, and still catches a stage that wedges after reporting progress. The stage runs up
    to ``--concurrency`` packages at once and, inside one package's slot, its environments one
    after the other, each waited on for at most ``--deploy-timeout``::

        ceil(packages / concurrency) x environments x deploy_timeout

    That is never less than ``ceil(deployments / concurrency) x deploy_timeout`` with
    ``deployments = packages x environments`` (the bound if every deployment had a slot of its
    own), which would be too short for one package rolled out on three environments.
    """
    if packages <= 0 or environments <= 0:
        return 0.0
    concurrency = max(1, settings.api.concurrency)
    timeout: float = settings.deploy.timeout
    return math.ceil(packages / concurrency) * environments * timeout


def retry_delay(failures: int, cap: float) -> float:
    """Backoff before retrying after ``failures`` consecutive failed syncs: 1, 2, 4 ... cap.

    Not jittered: one daemon retries one repository, there is no herd to spread.
    """
    return Backoff(first=RETRY_BASE_S, factor=2.0, cap=cap).delay(failures)


def read_webhook_secret(settings: Settings) -> bytes | None:
    """The secret, read once at start under the one rule of ``faas_gitops.secret_files``."""
    path = settings.loop.webhook_secret_file
    if path is None:
        return None
    return read_secret_file(path, "--webhook-secret-file").encode()

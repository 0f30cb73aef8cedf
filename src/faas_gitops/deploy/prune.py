"""The one stop the release stage makes: one deployment, by its id (5.21), checked when the
answer is ambiguous.

Prune (``deploy.orphans``) and the clean-up after overlapping runs (``deploy.stage``) stop
deployments one by one on the keysets a run acts on; never the package-wide stop (5.24), which
would also reach a keyset outside the run (a ``STARTING`` deployment on production while only
staging is synced).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from faas_gitops.backoff import Pacer
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import DeploymentBusy
from faas_gitops.deploy.landed import stop_landed
from faas_gitops.deploy.writer import UNKNOWN, Journal, Timing, Writes, ambiguous
from faas_gitops.errors import ApiError


async def stop_deployment(
    writes: Writes, deployment_id: str, where: tuple[str, str]
) -> tuple[str | None, str | None]:
    """Stop one deployment by its id (5.21): ``(correlation id, error or None)``.

    ``where`` is ``(package path, environment)`` for the journal. The only stop the release
    stage makes: the package-wide stop (5.24) would reach keysets the run does not act on.
    """
    path, environment = where
    return await _stop(
        writes.timing,
        writes.journal,
        (path, environment, deployment_id),
        functools.partial(deploy_api.stop_deployment, writes.api, deployment_id),
        functools.partial(stop_landed, writes.api, deployment_id),
    )


async def _stop(
    timing: Timing,
    journal: Journal,
    where: tuple[str, str, str | None],
    send: Callable[[], Awaitable[str | None]],
    applied: Callable[[], Awaitable[tuple[bool, str | None]]],
) -> tuple[str | None, str | None]:
    """Send one stop until it is applied or the deadline passes: (correlation id, error or None).

    423s are waited out. An ambiguous answer (a 5xx, none) is journaled ``unknown`` and
    ``applied`` reads whether the stop landed: if so that is its answer (``ok``, with the read's
    correlation id); if not it is sent again after a pause. The error names the last call and
    its answer.
    """
    path, environment, deployment_id = where
    pacer = timing.pacer()
    tries = 0
    while True:
        tries += 1
        journal("stop", environment, path, deployment_id, None, "pending")
        try:
            correlation = await send()
        except DeploymentBusy as exc:
            journal("stop", environment, path, deployment_id, exc.correlation_id, "busy")
            if not await pacer.pause():
                return exc.correlation_id, (
                    f"stop still refused as in transition after {timing.deploy_timeout:g} s;"
                    " raise --deploy-timeout"
                )
            continue
        except ApiError as exc:
            if not ambiguous(exc):
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, str(exc)
            journal("stop", environment, path, deployment_id, exc.correlation_id, UNKNOWN)
            looked = await _look(pacer, applied, exc)
            if isinstance(looked, str):
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, looked
            landed, read_correlation = looked
            if landed:
                journal("stop", environment, path, deployment_id, read_correlation, "ok")
                return read_correlation, None
            if not await pacer.pause():
                times = "once" if tries == 1 else f"{tries} times"
                journal("stop", environment, path, deployment_id, exc.correlation_id, "failed")
                return exc.correlation_id, (
                    f"stop not applied: {exc} (sent {times} within {timing.deploy_timeout:g} s)"
                )
            continue
        journal("stop", environment, path, deployment_id, correlation, "ok")
        return correlation, None


async def _look(
    pacer: Pacer,
    applied: Callable[[], Awaitable[tuple[bool, str | None]]],
    cause: ApiError,
) -> tuple[bool, str | None] | str:
    """Read whether an ambiguously answered stop landed, until a read answers.

    ``(landed, the read's correlation id)``, or the error line when no read could tell (the
    deployment is gone, or the reads failed until the deadline).
    """
    while True:
        try:
            return await applied()
        except ApiError as exc:
            if not ambiguous(exc) or not await pacer.pause():
                return f"{cause}; checking whether the stop was applied: {exc}"

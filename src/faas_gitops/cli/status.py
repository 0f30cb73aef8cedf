"""``faas-gitops status``: one row per package, what runs where, from the state dir.

The default reads only the ledger (no API key, no network: it works on a laptop holding a CI
runner's state dir). ``--live`` asks the API instead: one revision list per package the
ledger knows, and the latest revision found there, compared with what the ledger last saw;
and, for a package with deployments, what runs on each environment's keyset *now* (the
deployment stage's own read, ``deploy.observe``: the revision list with its running counts,
then the deployments of the revisions that run), beside the last attempt the ledger recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field

from faas_gitops.cli import load_api_key
from faas_gitops.cli.common import read_ledger, report
from faas_gitops.errors import ApiAuthError, FaasGitopsError
from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.options import CommandOptions, Opt, Part, command_parser, parse
from faas_gitops.records import PackageStatus
from faas_gitops.settings import ApiOptions, ApiSettings, StateDir

if TYPE_CHECKING:
    from faas_gitops.deploy.api import Requester
    from faas_gitops.deploy.observe import PackageView

#: ``--live`` statuses: the API's latest revision is the one the ledger knows, or another.
LIVE_LATEST = "latest"
LIVE_CHANGED = "changed"
LIVE_NO_REVISION = "no-revision"
LIVE_FAILED = "failed"
#: Last attempts after which the wanted revision runs (``report.deployments.PLAIN_SUCCESS``;
#: not imported from there, so ``status`` without ``--live`` loads no more than it needs).
_PLAIN_SUCCESS = frozenset({DeployStatus.DEPLOYED, DeployStatus.IN_SYNC})


class StatusOptions(CommandOptions):
    """Status's own options, with the sync's ``--state-dir`` and API flags (the same
    declarations and env twins: both find the same ledger and the same API)."""

    model_config = ConfigDict(title="status")

    live: Annotated[
        bool,
        Opt(
            "--live",
            "ask the API for each package's latest revision and what runs in each environment"
            " (needs the key)",
        ),
    ] = False
    output: Annotated[Literal["text", "json", "markdown"], Opt("--output", "result format")] = (
        "text"
    )
    state_dir: StateDir
    api: Annotated[ApiOptions, Field(default_factory=ApiOptions)]


#: Every option of ``status`` (parser and completion).
PARTS: tuple[Part, ...] = (Part(StatusOptions),)


def build_parser() -> argparse.ArgumentParser:
    return command_parser(
        "faas-gitops status",
        "One row per package: latest known revision, status, last sync, "
        "correlation ID and what runs in each environment (with the last attempt when it did not "
        "ship). Reads the state dir; --live asks the API.",
        PARTS,
    )


def main(args: list[str]) -> int:
    return report(lambda: _status(args))


def _status(args: list[str]) -> str:
    from faas_gitops.report import render_status  # noqa: PLC0415

    options = parse(build_parser(), StatusOptions, args, os.environ)
    api = _api_settings(options.api) if options.live else None
    with read_ledger(options.state_dir) as ledger:
        packages = ledger.package_statuses()
    if api is not None:
        packages = asyncio.run(live_statuses(api, packages))
    return render_status(packages, options.output)


def _api_settings(options: ApiOptions) -> ApiSettings:
    """The sync's API settings for ``--live``: the same flags, env twins and key rules."""
    key = load_api_key(options.key_file, os.environ)
    return ApiSettings.model_validate({**options.model_dump(), "key": key})


async def live_statuses(api: ApiSettings, packages: Sequence[PackageStatus]) -> list[PackageStatus]:
    """Each package with the API's latest revision: one revision list per package id."""
    from faas_gitops.api import ApiClient  # noqa: PLC0415 - httpx only for --live
    from faas_gitops.reconcile.plan import latest_revision  # noqa: PLC0415

    slots = asyncio.Semaphore(api.concurrency)  # --concurrency, as in a sync
    async with ApiClient.open(api) as client:
        await client.probe()  # a wrong URL or key is one line and exit 2, not N failed rows

        async def one(package: PackageStatus) -> PackageStatus:
            if package.package_id is None:
                return dataclasses.replace(
                    package, status=LIVE_FAILED, error="no package id recorded yet"
                )
            try:
                async with slots:
                    revisions, correlation = await client.list_revisions(package.package_id)
                async with slots:
                    deployments = await live_deployments(
                        client, package.package_id, package.deployments
                    )
            except ApiAuthError:
                raise
            except FaasGitopsError as exc:
                return dataclasses.replace(package, status=LIVE_FAILED, error=str(exc))
            latest = latest_revision(revisions)
            if latest is None:
                status = LIVE_NO_REVISION
            else:
                status = LIVE_LATEST if latest.id == package.revision_id else LIVE_CHANGED
            return dataclasses.replace(
                package,
                status=status,
                revision_name=None if latest is None else latest.name,
                revision_id=None if latest is None else latest.id,
                correlation_id=correlation,
                error=None,
                deployments=deployments,
            )

        return list(await asyncio.gather(*(one(package) for package in packages)))


async def live_deployments(
    api: Requester, package_id: str, recorded: Sequence[DeploymentOutcome]
) -> tuple[DeploymentOutcome, ...]:
    """The ledger's last attempt per environment, with what runs there as the API says now.

    No call at all when the ledger knows no environment of the package (nothing to compare).
    """
    from faas_gitops.deploy.observe import observe_package  # noqa: PLC0415

    if not recorded:
        return ()
    view = await observe_package(api, package_id, sorted({d.keyset_id for d in recorded}))
    return tuple(live_deployment(d, view) for d in recorded)


def live_deployment(recorded: DeploymentOutcome, view: PackageView) -> DeploymentOutcome:
    """``recorded`` (the ledger's last attempt on its keyset) made to say what runs now.

    Its ``status``, wanted revision, note and pin stay the last attempt's, so a frozen, held or
    failed release still shows as such beside what runs. Two cases rewrite the status, because
    the API contradicts the ledger:

    - the last attempt was a plain success (deployed, in-sync) but something else (or nothing)
      runs now: ``would-deploy`` from what runs to what the ledger deployed, with a note; the
      next sync puts it back unless the environment is frozen or held.
    - the last attempt was not a success but the revision it wanted runs now: ``in-sync``.
    """
    running = view.running_on(recorded.keyset_id)
    names = [view.name_of(d.revision_id) or d.revision_id for d in running]
    name = ", ".join(names) or None
    deployment_id = running[0].id if running else None
    if name == recorded.running_revision_name:
        return recorded
    wanted = recorded.revision_name
    if wanted is not None and name == wanted and recorded.status not in _PLAIN_SUCCESS:
        return dataclasses.replace(
            recorded,
            status=DeployStatus.IN_SYNC,
            deployment_id=deployment_id,
            error=None,
            note=f"runs now; the last sync recorded {recorded.status.value}",
        )
    # Otherwise what runs now is not what the last attempt left: it is shown as what ran before.
    now = dataclasses.replace(
        recorded, previous_revision_name=name, previous_deployment_id=deployment_id
    )
    if recorded.status not in _PLAIN_SUCCESS:
        return now
    was = wanted or "nothing"
    note = f"changed outside faas-gitops: the last sync left {was} running here"
    return dataclasses.replace(now, status=DeployStatus.WOULD_DEPLOY, note=note)

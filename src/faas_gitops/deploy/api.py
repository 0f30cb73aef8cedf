"""The deployment calls of the FaaS v2 API (REFERENCE.md §5.12, §5.17-5.25): the only ones.

They take any object with ``ApiClient.request``, ``.listing`` and ``.list_revisions``
(``Requester``), so the deployment stage does not depend on which client class carries them, and
lists get the client's paging rules (a list that repeats or keeps growing fails loudly). The
revision list is the client's own ``list_revisions``, read with ``sort=None`` (every page, the
order not trusted): one reader and one parser of 5.6 for both stages, whose items carry the
running counters the deployment stage needs. Ids are percent-encoded into
paths by ``faas_path``, dots included (an id is input, never a path fragment; an empty one is
refused where the answer carrying it is parsed). The deployment error codes are mapped to three
exceptions the writer acts on, each a subclass of the error ``api.failures`` sorted it into:
``DeploymentExists`` (409 FAAS-1015), ``DeploymentBusy`` (423 FAAS-1008/1009: transitional, wait
and retry) and ``DeploymentStartFailed`` (FAAS-1012/1013).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import Field, field_validator

from faas_gitops.errors import (
    ApiConflict,
    ApiDeploymentFailed,
    ApiError,
    ApiTransitional,
)
from faas_gitops.models import RemoteRevision
from faas_gitops.wire import Call, WireModel, faas_path, parse

EXISTS_CODE = "FAAS-1015"
BUSY_CODES = frozenset({"FAAS-1008", "FAAS-1009"})
FAILED_CODES = frozenset({"FAAS-1012", "FAAS-1013"})

RUNNING = "RUNNING"
STOPPED = "STOPPED"


class Answer(Protocol):
    """What ``ApiClient.request`` returns (``faas_gitops.api.ApiResponse``)."""

    @property
    def data(self) -> Any: ...
    @property
    def correlation_id(self) -> str | None: ...


class Pages(Protocol):
    """What ``ApiClient.listing`` returns (``faas_gitops.api.paging.Listing``)."""

    def pairs(self) -> Iterator[tuple[Any, str | None]]: ...


class Requester(Protocol):
    """Anything with ``ApiClient.request``, ``.listing`` and ``.list_revisions``: retries,
    rate limit, paging and error mapping are its job.

    ``list_revisions`` (5.6) with ``sort=None`` reads every page, trusting no order: the
    deployment stage's read, each revision with its ``running`` and ``total`` counters.
    """

    async def request(self, call: Call) -> Answer: ...

    async def listing(self, path: str, *, endpoint: str, noun: str = "list") -> Pages: ...

    async def list_revisions(
        self, package_id: str, *, sort: str | None = ...
    ) -> tuple[list[RemoteRevision], str | None]: ...


class DeploymentExists(ApiConflict):
    """409 FAAS-1015: this revision already has a deployment on this keyset."""


class DeploymentBusy(ApiTransitional):
    """423 FAAS-1008/1009: the deployment is starting or stopping; try again shortly."""


class DeploymentStartFailed(ApiDeploymentFailed):
    """FAAS-1012/1013: the platform failed to start (or stop) the deployment."""


TRANSITIONAL = frozenset({"STARTING", "STOPPING"})


@dataclass(frozen=True, slots=True)
class Deployment:
    """A package deployment: one revision assigned to one keyset, in some ``state``.

    ``updated`` is the answer's ``updatedDttm`` as sent (ISO 8601 sorts as text), ``""`` when
    absent: it orders a keyset's stopped deployments to find what ran before the current one.
    """

    id: str
    revision_id: str
    keyset_id: int
    state: str
    updated: str = ""

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def in_transition(self) -> bool:
        """Starting or stopping: it holds (or is about to hold) the keyset, not yet settled."""
        return self.state in TRANSITIONAL


@dataclass(frozen=True, slots=True)
class TaggedPackage:
    """A remote package with its ``tags`` (where ownership marks and holds live).

    ``revisions_total`` is the API's ``revisionsTotal`` (``None`` when absent): a revision list
    holding that many revisions is the complete one.
    """

    id: str
    name: str
    tags: tuple[str, ...]
    revisions_total: int | None = None


@dataclass(frozen=True, slots=True)
class RunningLimit:
    """The account's running-deployments limit (5.25): values arrive as strings or numbers."""

    current: int
    maximum: int

    @property
    def headroom(self) -> int:
        return max(0, self.maximum - self.current)


class _DeploymentItem(WireModel):
    id: str = Field(min_length=1)
    package_revision_id: str = Field(min_length=1)
    keyset_id: int
    state: str = STOPPED
    updated_dttm: str | None = None

    @field_validator("state")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def to_value(self) -> Deployment:
        return Deployment(
            self.id, self.package_revision_id, self.keyset_id, self.state, self.updated_dttm or ""
        )


class _PackageItem(WireModel):
    id: str = Field(min_length=1)
    name: str
    tags: list[str] | None = None
    revisions_total: int | None = None


class _LimitItem(WireModel):
    current_value: int = 0  # pydantic turns the docs' "3" into 3
    max_value: int


def _mapped(error: ApiError) -> ApiError:
    """The deployment-specific subclass of ``error``, or ``error`` itself."""
    kind: type[ApiError] | None = None
    if error.code == EXISTS_CODE:
        kind = DeploymentExists
    elif error.status == 423 or error.code in BUSY_CODES:
        kind = DeploymentBusy
    elif error.code in FAILED_CODES:
        kind = DeploymentStartFailed
    if kind is None:
        return error
    return kind(
        error.call,
        error.message,
        status=error.status,
        code=error.code,
        correlation_id=error.correlation_id,
    )


async def _call(
    api: Requester,
    method: str,
    path: str,
    endpoint: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
) -> Answer:
    try:
        return await api.request(Call(method, path, endpoint, params, body))
    except ApiError as exc:
        mapped = _mapped(exc)
        if mapped is exc:
            raise
        raise mapped from None


async def _list(
    api: Requester, path: str, endpoint: str, noun: str
) -> list[tuple[Any, str | None]]:
    """Every item of a paged list (order not trusted) with the correlation id of its page."""
    try:
        listing = await api.listing(path, endpoint=endpoint, noun=noun)
    except ApiError as exc:
        mapped = _mapped(exc)
        if mapped is exc:
            raise
        raise mapped from None
    return list(listing.pairs())


# --------------------------------------------------------------------------- reads
async def list_packages(api: Requester) -> list[TaggedPackage]:
    """5.1 with each package's ``tags``: the inventory of what carries our marks."""
    endpoint = "/v2/faas/packages"
    items = await _list(api, endpoint, endpoint, "package list")
    parsed = [parse(_PackageItem, item, f"GET {endpoint}", cid) for item, cid in items]
    return [TaggedPackage(i.id, i.name, tuple(i.tags or ()), i.revisions_total) for i in parsed]


async def list_revision_deployments(api: Requester, revision_id: str) -> list[Deployment]:
    """5.12: every deployment of one revision, on any keyset, in any state."""
    endpoint = "/v2/faas/package-revisions/{id}/package-deployments"
    path = faas_path("package-revisions", revision_id, "package-deployments")
    items = await _list(api, path, endpoint, "deployment list")
    call = f"GET {endpoint}"
    return [parse(_DeploymentItem, item, call, cid).to_value() for item, cid in items]


async def get_deployment(api: Requester, deployment_id: str) -> tuple[Deployment, str | None]:
    """5.18; raises ``ApiNotFound`` when the id is gone."""
    endpoint = "/v2/faas/package-deployments/{id}"
    answer = await _call(api, "GET", faas_path("package-deployments", deployment_id), endpoint)
    item = parse(_DeploymentItem, answer.data, f"GET {endpoint}", answer.correlation_id)
    return item.to_value(), answer.correlation_id


async def running_limit(api: Requester) -> tuple[RunningLimit, str | None]:
    """5.25: how many deployments run now, and how many may."""
    endpoint = "/v2/faas/limits/package-deployments-running"
    answer = await _call(api, "GET", endpoint, endpoint)
    item = parse(_LimitItem, answer.data, f"GET {endpoint}", answer.correlation_id)
    return RunningLimit(item.current_value, item.max_value), answer.correlation_id


# --------------------------------------------------------------------------- writes
async def update_package_tags(api: Requester, package_id: str, tags: list[str]) -> str | None:
    """5.4 with ``tags`` only (the other fields are left as they are); the correlation id."""
    endpoint = "/v2/faas/packages/{id}"
    path = faas_path("packages", package_id)
    return (await _call(api, "PUT", path, endpoint, body={"tags": tags})).correlation_id


async def create_deployment(
    api: Requester, revision_id: str, keyset_id: int
) -> tuple[Deployment, str | None]:
    """5.17: assign a revision to a keyset, created STOPPED (FAAS-1015: ``DeploymentExists``)."""
    endpoint = "/v2/faas/package-deployments"
    body = {"packageRevisionId": revision_id, "keysetId": keyset_id}
    answer = await _call(api, "POST", endpoint, endpoint, body=body)
    item = parse(_DeploymentItem, answer.data, f"POST {endpoint}", answer.correlation_id)
    return item.to_value(), answer.correlation_id


async def start_deployment(api: Requester, deployment_id: str) -> str | None:
    """5.20: start (or restart) a deployment; returns the answer's correlation id.

    The docs give no body; an empty JSON object is sent, which a server expecting none ignores
    and one that parses every JSON-typed POST body accepts.
    """
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = faas_path("package-deployments", deployment_id, "function-deployments")
    return (await _call(api, "POST", path, endpoint, body={})).correlation_id


async def rolling_update(api: Requester, old_id: str, new_id: str) -> str | None:
    """5.22: swap the running functions of ``old_id`` over to ``new_id`` (created beforehand)."""
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = faas_path("package-deployments", old_id, "function-deployments")
    body = {"newPackageDeploymentId": new_id}
    return (await _call(api, "PUT", path, endpoint, body=body)).correlation_id


async def stop_deployment(api: Requester, deployment_id: str) -> str | None:
    """5.21: stop one deployment (only that keyset)."""
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = faas_path("package-deployments", deployment_id, "function-deployments")
    return (await _call(api, "DELETE", path, endpoint)).correlation_id


async def stop_package(api: Requester, package_id: str) -> str | None:
    """5.24 by ``package_id``: stop every deployment of the package, on every keyset."""
    endpoint = "/v2/faas/function-deployments"
    params = {"package_id": package_id}
    return (await _call(api, "DELETE", endpoint, endpoint, params=params)).correlation_id


__all__ = [
    "Answer",
    "Deployment",
    "DeploymentBusy",
    "DeploymentExists",
    "DeploymentStartFailed",
    "Pages",
    "Requester",
    "RunningLimit",
    "TaggedPackage",
    "create_deployment",
    "get_deployment",
    "list_packages",
    "list_revision_deployments",
    "rolling_update",
    "running_limit",
    "start_deployment",
    "stop_deployment",
    "stop_package",
    "update_package_tags",
]

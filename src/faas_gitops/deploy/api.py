"""The deployment calls of the FaaS v2 API (REFERENCE.md §5.12, §5.17-5.25), over any client.

They take any object with ``ApiClient.request``'s signature, so this stage does not depend on
which client class carries them. Ids are percent-encoded into paths (an id is input, never a
path fragment). The deployment error codes are mapped to three exceptions the writer acts on:
``DeploymentExists`` (409 FAAS-1015), ``DeploymentBusy`` (423 FAAS-1008/1009: transitional, wait
and retry) and ``DeploymentStartFailed`` (FAAS-1012/1013).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from faas_gitops.errors import ApiBadResponse, ApiConflict, ApiError

PAGE_SIZE = 100
MAX_PAGES = 1_000
EXISTS_CODE = "FAAS-1015"
BUSY_CODES = frozenset({"FAAS-1008", "FAAS-1009"})
FAILED_CODES = frozenset({"FAAS-1012", "FAAS-1013"})

_M = TypeVar("_M", bound=BaseModel)

RUNNING = "RUNNING"
STOPPED = "STOPPED"


class Answer(Protocol):
    """What ``ApiClient.request`` returns (``faas_gitops.api.ApiResponse``)."""

    @property
    def data(self) -> Any: ...
    @property
    def correlation_id(self) -> str | None: ...


class Requester(Protocol):
    """Anything with ``ApiClient.request``: retries, rate limit and error mapping are its job."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Answer: ...


class DeploymentExists(ApiConflict):
    """409 FAAS-1015: this revision already has a deployment on this keyset."""


class DeploymentBusy(ApiError):
    """423 FAAS-1008/1009: the deployment is starting or stopping; try again shortly."""


class DeploymentStartFailed(ApiError):
    """FAAS-1012/1013: the platform failed to start (or stop) the deployment."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """A package deployment: one revision assigned to one keyset, in some ``state``."""

    id: str
    revision_id: str
    keyset_id: int
    state: str

    @property
    def running(self) -> bool:
        return self.state == RUNNING


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """A revision as the deployment stage needs it: name, and how many deployments run it.

    ``running`` is ``None`` when the list item did not carry ``packageDeploymentsRunning``
    ("unknown": its deployments must be listed to know).
    """

    id: str
    name: str
    running: int | None


@dataclass(frozen=True, slots=True)
class RunningLimit:
    """The account's running-deployments limit (5.25): values arrive as strings or numbers."""

    current: int
    maximum: int

    @property
    def headroom(self) -> int:
        return max(0, self.maximum - self.current)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use


class _DeploymentItem(_Lenient):
    id: str
    packageRevisionId: str  # noqa: N815 - the API's spelling
    keysetId: int  # noqa: N815
    state: str = STOPPED

    @field_validator("state")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def to_value(self) -> Deployment:
        return Deployment(self.id, self.packageRevisionId, self.keysetId, self.state)


class _RevisionItem(_Lenient):
    id: str
    name: str
    packageDeploymentsRunning: int | None = None  # noqa: N815


class _LimitItem(_Lenient):
    currentValue: int = 0  # noqa: N815 - pydantic turns the docs' "3" into 3
    maxValue: int  # noqa: N815


def _id(value: str) -> str:
    return quote(value, safe="")


def _parse(model: type[_M], data: Any, call: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ApiBadResponse(call, f"unexpected answer: {where}: {first['msg']}") from None


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
        return await api.request(method, path, endpoint=endpoint, params=params, json_body=body)
    except ApiError as exc:
        mapped = _mapped(exc)
        if mapped is exc:
            raise
        raise mapped from None


async def _list(api: Requester, path: str, endpoint: str) -> tuple[list[Any], str | None]:
    """Every item of a paged list (order not trusted), and the first page's correlation id."""
    items: list[Any] = []
    first: str | None = None
    for page in range(MAX_PAGES):
        params = {"page": str(page), "size": str(PAGE_SIZE)}
        answer = await _call(api, "GET", path, endpoint, params=params)
        if page == 0:
            first = answer.correlation_id
        data = answer.data if answer.data is not None else []
        if not isinstance(data, list):
            raise ApiBadResponse(f"GET {endpoint}", "expected a list in 'data'")
        items.extend(data)
        paging = getattr(answer, "paging", None)
        total_pages = getattr(paging, "totalPages", 0) if paging is not None else 0
        if total_pages > 0:
            if page + 1 >= total_pages:
                break
        elif len(data) < PAGE_SIZE:
            break
    return items, first


# --------------------------------------------------------------------------- reads
async def list_revisions(api: Requester, package_id: str) -> list[RevisionInfo]:
    """5.6 with the ``packageDeploymentsRunning`` counter of each revision."""
    endpoint = "/v2/faas/packages/{id}/package-revisions"
    items, _ = await _list(api, f"/v2/faas/packages/{_id(package_id)}/package-revisions", endpoint)
    parsed = [_parse(_RevisionItem, item, f"GET {endpoint}") for item in items]
    return [RevisionInfo(i.id, i.name, i.packageDeploymentsRunning) for i in parsed]


async def list_revision_deployments(api: Requester, revision_id: str) -> list[Deployment]:
    """5.12: every deployment of one revision, on any keyset, in any state."""
    endpoint = "/v2/faas/package-revisions/{id}/package-deployments"
    path = f"/v2/faas/package-revisions/{_id(revision_id)}/package-deployments"
    items, _ = await _list(api, path, endpoint)
    return [_parse(_DeploymentItem, item, f"GET {endpoint}").to_value() for item in items]


async def get_deployment(api: Requester, deployment_id: str) -> tuple[Deployment, str | None]:
    """5.18; raises ``ApiNotFound`` when the id is gone."""
    endpoint = "/v2/faas/package-deployments/{id}"
    answer = await _call(api, "GET", f"/v2/faas/package-deployments/{_id(deployment_id)}", endpoint)
    deployment = _parse(_DeploymentItem, answer.data, f"GET {endpoint}").to_value()
    return deployment, answer.correlation_id


async def running_limit(api: Requester) -> tuple[RunningLimit, str | None]:
    """5.25: how many deployments run now, and how many may."""
    endpoint = "/v2/faas/limits/package-deployments-running"
    answer = await _call(api, "GET", endpoint, endpoint)
    item = _parse(_LimitItem, answer.data, f"GET {endpoint}")
    return RunningLimit(item.currentValue, item.maxValue), answer.correlation_id


# --------------------------------------------------------------------------- writes
async def create_deployment(
    api: Requester, revision_id: str, keyset_id: int
) -> tuple[Deployment, str | None]:
    """5.17: assign a revision to a keyset, created STOPPED (FAAS-1015: ``DeploymentExists``)."""
    endpoint = "/v2/faas/package-deployments"
    body = {"packageRevisionId": revision_id, "keysetId": keyset_id}
    answer = await _call(api, "POST", endpoint, endpoint, body=body)
    deployment = _parse(_DeploymentItem, answer.data, f"POST {endpoint}").to_value()
    return deployment, answer.correlation_id


async def start_deployment(api: Requester, deployment_id: str) -> str | None:
    """5.20: start (or restart) a deployment; returns the answer's correlation id.

    The docs give no body; an empty JSON object is sent, which a server expecting none ignores
    and one that parses every JSON-typed POST body accepts.
    """
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = f"/v2/faas/package-deployments/{_id(deployment_id)}/function-deployments"
    return (await _call(api, "POST", path, endpoint, body={})).correlation_id


async def rolling_update(api: Requester, old_id: str, new_id: str) -> str | None:
    """5.22: swap the running functions of ``old_id`` over to ``new_id`` (created beforehand)."""
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = f"/v2/faas/package-deployments/{_id(old_id)}/function-deployments"
    body = {"newPackageDeploymentId": new_id}
    return (await _call(api, "PUT", path, endpoint, body=body)).correlation_id


async def stop_deployment(api: Requester, deployment_id: str) -> str | None:
    """5.21: stop one deployment (only that keyset)."""
    endpoint = "/v2/faas/package-deployments/{id}/function-deployments"
    path = f"/v2/faas/package-deployments/{_id(deployment_id)}/function-deployments"
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
    "Requester",
    "RevisionInfo",
    "RunningLimit",
    "create_deployment",
    "get_deployment",
    "list_revision_deployments",
    "list_revisions",
    "rolling_update",
    "running_limit",
    "start_deployment",
    "stop_deployment",
    "stop_package",
]

"""Deployment calls: which revision runs on which keyset (REFERENCE §5.12, §5.17-5.25).

A deployment is created STOPPED, then started, or a running one is rolled over to it. The
errors that matter to the caller arrive already sorted by ``failures``: ``ApiConflict``
(``FAAS-1015``: this revision is already deployed on the keyset: find it), ``ApiTransitional``
(423: starting or stopping, wait and retry) and ``ApiDeploymentFailed`` (``FAAS-1012/1013``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from faas_gitops.api.envelope import ApiResponse, _Lenient, faas_path, parse
from faas_gitops.api.session import ApiSession

DEPLOYMENTS = "/v2/faas/package-deployments"
DEPLOYMENT = "/v2/faas/package-deployments/{id}"
DEPLOYMENT_FUNCTIONS = "/v2/faas/package-deployments/{id}/function-deployments"
REVISION_DEPLOYMENTS = "/v2/faas/package-revisions/{id}/package-deployments"
FUNCTION_DEPLOYMENTS = "/v2/faas/function-deployments"
RUNNING_LIMIT = "/v2/faas/limits/package-deployments-running"


@dataclass(frozen=True, slots=True)
class RemoteFunctionDeployment:
    function_revision_id: str
    state: str


@dataclass(frozen=True, slots=True)
class RemoteDeployment:
    """A package revision assigned to a keyset, and its state (``STOPPED``, ``RUNNING``, …)."""

    id: str
    revision_id: str
    keyset_id: int
    state: str
    functions: tuple[RemoteFunctionDeployment, ...] = ()
    created: datetime | None = None
    updated: datetime | None = None

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"


@dataclass(frozen=True, slots=True)
class RunningLimit:
    """How many package deployments run on the account, and how many may."""

    current: int
    maximum: int

    @property
    def headroom(self) -> int:
        return max(0, self.maximum - self.current)


class _FunctionDeploymentItem(_Lenient):
    functionRevisionId: str  # noqa: N815 - the API's spelling
    state: str = ""


class _DeploymentItem(_Lenient):
    id: str
    packageRevisionId: str  # noqa: N815
    keysetId: int  # noqa: N815
    state: str
    functionDeployments: list[_FunctionDeploymentItem] = Field(default_factory=list)  # noqa: N815
    createdDttm: datetime | None = None  # noqa: N815
    updatedDttm: datetime | None = None  # noqa: N815

    def to_remote(self) -> RemoteDeployment:
        return RemoteDeployment(
            id=self.id,
            revision_id=self.packageRevisionId,
            keyset_id=self.keysetId,
            state=self.state,
            functions=tuple(
                RemoteFunctionDeployment(f.functionRevisionId, f.state)
                for f in self.functionDeployments
            ),
            created=self.createdDttm,
            updated=self.updatedDttm,
        )


class _LimitItem(_Lenient):
    maxValue: int  # noqa: N815 - strings ("10") in the docs' example, numbers elsewhere
    currentValue: int  # noqa: N815

    @field_validator("maxValue", "currentValue", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class DeploymentCalls(ApiSession):
    """The deployment endpoints; writes return the correlation id of their own answer."""

    async def create_deployment(
        self, *, revision_id: str, keyset_id: int
    ) -> tuple[RemoteDeployment, str | None]:
        """Assign a revision to a keyset (created STOPPED). ``ApiConflict`` ``FAAS-1015``: it is
        already assigned there; ``ApiAmbiguous``: it may be; list the revision's deployments."""
        body = {"packageRevisionId": revision_id, "keysetId": keyset_id}
        response = await self.request("POST", DEPLOYMENTS, endpoint=DEPLOYMENTS, json_body=body)
        return _deployment(response, f"POST {DEPLOYMENTS}"), response.correlation_id

    async def get_deployment(self, deployment_id: str) -> RemoteDeployment:
        response = await self.request(
            "GET", faas_path("package-deployments", deployment_id), endpoint=DEPLOYMENT
        )
        return _deployment(response, f"GET {DEPLOYMENT}")

    async def list_deployments(self, revision_id: str) -> list[RemoteDeployment]:
        """Every deployment of a revision, on any keyset the key may read."""
        listing = await self.listing(
            faas_path("package-revisions", revision_id, "package-deployments"),
            endpoint=REVISION_DEPLOYMENTS,
            noun="deployment list",
        )
        call = f"GET {REVISION_DEPLOYMENTS}"
        return [parse(_DeploymentItem, i, call, cid).to_remote() for i, cid in listing.pairs()]

    async def start_deployment(
        self, deployment_id: str
    ) -> tuple[RemoteDeployment | None, str | None]:
        """Start (or restart) a deployment; ``None`` when the answer carries no deployment.

        The docs show no body; ``{}`` is sent because every request carries ``Content-Type:
        application/json``, and an empty body under that header reads as malformed JSON.
        """
        return await self._function_deployments("POST", deployment_id, {})

    async def rolling_update(
        self, deployment_id: str, new_deployment_id: str
    ) -> tuple[RemoteDeployment | None, str | None]:
        """Swap what runs in ``deployment_id`` over to ``new_deployment_id`` (same keyset)."""
        body = {"newPackageDeploymentId": new_deployment_id}
        return await self._function_deployments("PUT", deployment_id, body)

    async def stop_package_deployments(
        self, package_id: str
    ) -> tuple[list[RemoteDeployment], str | None]:
        """Stop every deployment of a package (``--prune``); returns what the API stopped."""
        call = f"DELETE {FUNCTION_DEPLOYMENTS}"
        response = await self.request(
            "DELETE",
            FUNCTION_DEPLOYMENTS,
            endpoint=FUNCTION_DEPLOYMENTS,
            params={"package_id": package_id},
        )
        items = response.data if isinstance(response.data, list) else []
        stopped = [parse(_DeploymentItem, i, call, response.correlation_id) for i in items]
        return [item.to_remote() for item in stopped], response.correlation_id

    async def running_deployments_limit(self) -> RunningLimit:
        response = await self.request("GET", RUNNING_LIMIT, endpoint=RUNNING_LIMIT)
        item = parse(_LimitItem, response.data, f"GET {RUNNING_LIMIT}", response.correlation_id)
        return RunningLimit(current=item.currentValue, maximum=item.maxValue)

    async def _function_deployments(
        self, method: str, deployment_id: str, body: dict[str, Any] | None
    ) -> tuple[RemoteDeployment | None, str | None]:
        response = await self.request(
            method,
            faas_path("package-deployments", deployment_id, "function-deployments"),
            endpoint=DEPLOYMENT_FUNCTIONS,
            json_body=body,
        )
        if response.data is None:
            return None, response.correlation_id
        return _deployment(response, f"{method} {DEPLOYMENT_FUNCTIONS}"), response.correlation_id


def _deployment(response: ApiResponse, call: str) -> RemoteDeployment:
    return parse(_DeploymentItem, response.data, call, response.correlation_id).to_remote()

"""A small in-memory deployment API behind ``httpx.MockTransport``, for the stage's unit tests.

It keeps the rules the stage relies on: deployments are created STOPPED and unique per
(revision, keyset) (409 FAAS-1015); a start goes STARTING and becomes RUNNING after
``start_polls`` GETs; a rolling update stops the old one and runs the new one; the revision
counters stay true; the running limit is enforced. ``busy`` answers the next N starts, rolling
updates or stops with 423. ``fail_lists`` names revisions whose deployment list answers 500.
Every request is logged as ``(method, path)``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from faas_gitops.api import ApiClient, RetryPolicy

_CORRELATION = itertools.count(1)


@dataclass
class FakeDeployment:
    id: str
    revision_id: str
    keyset_id: int
    state: str = "STOPPED"
    polls_left: int = 0

    def item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "packageRevisionId": self.revision_id,
            "keysetId": self.keyset_id,
            "state": self.state,
        }


@dataclass
class FakeFaas:
    max_running: int = 5
    start_polls: int = 2
    busy: int = 0  # the next N transitions answer 423
    fail_start: bool = False  # starts answer 500 FAAS-1012
    fail_lists: set[str] = field(default_factory=set)  # revision ids: deployment list 500
    revisions: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (package, name)
    tags: dict[str, list[str]] = field(default_factory=dict)  # package id -> its tags
    deployments: dict[str, FakeDeployment] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def add_revision(self, package_id: str, revision_id: str, name: str) -> None:
        self.revisions[revision_id] = (package_id, name)
        self.tags.setdefault(package_id, [])

    def run(self, revision_id: str, keyset_id: int) -> str:
        """Seed a RUNNING deployment, as if deployed by hand earlier."""
        dep = FakeDeployment(f"dep-{next(self._ids)}", revision_id, keyset_id, "RUNNING")
        self.deployments[dep.id] = dep
        return dep.id

    def running(self, keyset_id: int) -> dict[str, str]:
        """revision name -> deployment id of what runs on a keyset."""
        return {
            self.revisions[d.revision_id][1]: d.id
            for d in self.deployments.values()
            if d.keyset_id == keyset_id and d.state == "RUNNING"
        }

    def writes(self) -> list[tuple[str, str]]:
        return [entry for entry in self.log if entry[0] != "GET"]

    def deployment_writes(self) -> list[tuple[str, str]]:
        """The writes that change what runs (not the ownership marks on package tags)."""
        return [entry for entry in self.writes() if not entry[1].startswith("/v2/faas/packages/")]

    def client(self) -> ApiClient:
        http = httpx.AsyncClient(
            base_url="http://faas.test", transport=httpx.MockTransport(self._handle)
        )
        return ApiClient(http, retry=RetryPolicy(max_attempts=1))

    # ---- the handler -----------------------------------------------------------------------
    def _handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 - a router
        path = unquote(request.url.path)
        self.log.append((request.method, path))
        body: Any = json.loads(request.content) if request.content else {}
        parts = path.removeprefix("/v2/faas/").split("/")
        method = request.method
        if parts == ["packages"] and method == "GET":
            return self._list(
                [
                    {"id": pid, "name": pid, "tags": tags, "revisionsTotal": self._total(pid)}
                    for pid, tags in self.tags.items()
                ]
            )
        if parts[0] == "packages" and len(parts) == 2 and method == "PUT":
            self.tags[parts[1]] = list(body["tags"])
            return _ok({"id": parts[1], "name": parts[1], "tags": self.tags[parts[1]]})
        if method == "GET" and parts[0] == "packages" and parts[2:] == ["package-revisions"]:
            return self._list(
                [self._revision(r) for r, (p, _) in self.revisions.items() if p == parts[1]]
            )
        if method == "GET" and parts[0] == "package-revisions":
            if parts[1] in self.fail_lists:
                return _error(500, "FAAS-500", "Internal Server Error!")
            return self._list(
                [d.item() for d in self.deployments.values() if d.revision_id == parts[1]]
            )
        if parts[0] == "limits":
            current = sum(d.state in ("RUNNING", "STARTING") for d in self.deployments.values())
            return _ok(
                {"name": "running", "currentValue": str(current), "maxValue": str(self.max_running)}
            )
        if parts == ["package-deployments"] and method == "POST":
            return self._create(body["packageRevisionId"], body["keysetId"])
        if parts[0] == "package-deployments" and len(parts) == 2:
            return self._get(parts[1])
        if parts[0] == "package-deployments" and parts[2:] == ["function-deployments"]:
            return self._transition(method, parts[1], body)
        if parts == ["function-deployments"] and method == "DELETE":
            package = request.url.params["package_id"]
            stopped = [
                d
                for d in self.deployments.values()
                if d.state == "RUNNING" and self.revisions[d.revision_id][0] == package
            ]
            for dep in stopped:
                dep.state = "STOPPED"
            return _ok([d.item() for d in stopped])
        return _error(404, "FAAS-1004", f"no route {method} {path}")

    def _total(self, package_id: str) -> int:
        return sum(package == package_id for package, _ in self.revisions.values())

    def _revision(self, revision_id: str) -> dict[str, Any]:
        running = sum(
            d.revision_id == revision_id and d.state == "RUNNING" for d in self.deployments.values()
        )
        total = sum(d.revision_id == revision_id for d in self.deployments.values())
        package_id, name = self.revisions[revision_id]
        return {
            "id": revision_id,
            "packageId": package_id,
            "name": name,
            "createdDttm": "2024-01-01T00:00:00Z",
            "packageDeploymentsRunning": running,
            "packageDeploymentsTotal": total,
        }

    def _list(self, items: list[dict[str, Any]]) -> httpx.Response:
        return _ok(
            items,
            paging={"totalElements": len(items), "totalPages": 1, "pageSize": 100, "pageNumber": 0},
        )

    def _create(self, revision_id: str, keyset_id: int) -> httpx.Response:
        if any(
            d.revision_id == revision_id and d.keyset_id == keyset_id
            for d in self.deployments.values()
        ):
            return _error(409, "FAAS-1015", "revision already assigned to keyset")
        dep = FakeDeployment(f"dep-{next(self._ids)}", revision_id, keyset_id)
        self.deployments[dep.id] = dep
        return _ok(dep.item(), status=201)

    def _get(self, deployment_id: str) -> httpx.Response:
        dep = self.deployments.get(deployment_id)
        if dep is None:
            return _error(400, "FAAS-1004", "not found")
        if dep.state == "STARTING":
            dep.polls_left -= 1
            if dep.polls_left <= 0:
                dep.state = "RUNNING"
        return _ok(dep.item())

    def _transition(self, method: str, deployment_id: str, body: Any) -> httpx.Response:
        dep = self.deployments.get(deployment_id)
        if dep is None:
            return _error(400, "FAAS-1004", "not found")
        if self.busy > 0:
            self.busy -= 1
            return _error(423, "FAAS-1008", "deployment is in a transitional state")
        if method == "POST":
            if self.fail_start:
                return _error(500, "FAAS-1012", "deployment failed to start")
            running = sum(d.state in ("RUNNING", "STARTING") for d in self.deployments.values())
            if running >= self.max_running:
                return _error(422, "FAAS-400", "running limit")
            dep.state, dep.polls_left = "STARTING", self.start_polls
        elif method == "PUT":
            new = self.deployments[body["newPackageDeploymentId"]]
            dep.state = "STOPPED"
            new.state, new.polls_left = "STARTING", self.start_polls
        else:
            dep.state = "STOPPED"
        return _ok(dep.item())


def _ok(data: Any, *, status: int = 200, paging: dict[str, int] | None = None) -> httpx.Response:
    meta: dict[str, Any] = {"correlationId": f"corr-{next(_CORRELATION)}"}
    if paging:
        meta["paging"] = paging
    return httpx.Response(status, json={"data": data, "meta": meta, "errors": []})


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "meta": {"correlationId": f"err-{code}"},
            "errors": [{"code": code, "message": message}],
        },
    )

"""Package deployments: a revision assigned to a keyset, started, rolled over, stopped.

The rules (REFERENCE.md §5.17-5.25, §4; where the docs are silent, the emulator's choice):

* a deployment is created ``STOPPED``; (revision, keyset) is unique: ``409 FAAS-1015``, whose
  message names the existing deployment's id (the client can also list the revision's
  deployments);
* start: ``STOPPED`` (or ``RUNNING``: a restart) → ``STARTING`` → ``RUNNING`` after the deploy
  delay; a start that would exceed the running-deployments limit answers ``422 FAAS-1005``
  (the docs name no code for it; 1005 is the documented "limit reached" code);
* rolling update of a ``RUNNING`` deployment to a ``STOPPED`` one of the same package on the
  same keyset: old ``STOPPING`` and new ``STARTING``, then old ``STOPPED`` and new ``RUNNING``
  at the same moment, after the delay; it holds no extra slot of the limit;
* stop (one, or every deployment of a package or revision) is immediate: ``STOPPED``;
* while a deployment is ``STARTING``/``STOPPING``: start and rolling update answer
  ``423 FAAS-1008``, stop answers ``423 FAAS-1009``; delete of an active one ``409 FAAS-1014``;
* a start (or rolling update) that tests made fail answers ``500 FAAS-1012`` and changes
  nothing;
* a deployment write (create, start, rolling update, stop) that tests gave a fault
  (``fault_deployment_writes``) answers 500 without applying, or applies and then answers 500
  or closes the connection unanswered: what a client must check before it sends again.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from faas_gitops.emulator import lifecycle
from faas_gitops.emulator.clock import format_timestamp
from faas_gitops.emulator.forced import (
    AnswerLost,
    DeploymentWrite,
    InjectedWriteFault,
    WriteFaultMode,
)
from faas_gitops.emulator.lifecycle import RUNNING, STARTING, STOPPED, STOPPING
from faas_gitops.emulator.problems import (
    ApiProblem,
    NotFound,
    invalid,
    package_not_found,
    revision_not_found,
)
from faas_gitops.emulator.requestlog import FAULT_WRITE_APPLIED_500, FAULT_WRITE_UNAPPLIED
from faas_gitops.emulator.store_core import StoreCore

_log = structlog.get_logger(__name__)

LIMIT_NAME = "max_package_deployments_running"


def deployment_not_found(deployment_id: str) -> NotFound:
    return NotFound(f"Package deployment with ID [{deployment_id}] was not found!")


def _transitional(record: dict[str, Any], code: str, action: str) -> ApiProblem:
    return ApiProblem(
        423,
        code,
        f"Package deployment with ID [{record['id']}] cannot be {action}: "
        f"it is in a transitional state ({record['state']})",
    )


class DeploymentStore(StoreCore):
    def create_deployment(self, revision_id: str, keyset_id: int) -> dict[str, Any]:
        """A ``STOPPED`` deployment of the revision on the keyset; ``FAAS-1015`` if one exists."""
        with self._lock:
            revision = self._data.revisions.get(revision_id)
            if revision is None:
                raise revision_not_found(revision_id)
            for record in self._deployments():
                if record["packageRevisionId"] == revision_id and record["keysetId"] == keyset_id:
                    raise ApiProblem(
                        409,
                        "FAAS-1015",
                        f"Package revision [{revision_id}] is already assigned to keyset "
                        f"[{keyset_id}] as package deployment [{record['id']}]",
                    )
            fault = self._write_fault("create", revision["packageId"])
            did = str(uuid.uuid4())
            created = self._created_now()
            self._data.deployments[did] = {
                "id": did,
                "packageRevisionId": revision_id,
                "keysetId": keyset_id,
                "state": STOPPED,
                "functionDeployments": [
                    {
                        "functionRevisionId": function["functionRevisionId"],
                        "state": STOPPED,
                        **created,
                    }
                    for function in revision["functions"]
                ],
                **created,
                lifecycle.PACKAGE_ID: revision["packageId"],
            }
            self._save()
            _log.debug("deployment created", deployment_id=did, revision_id=revision_id)
            _after_write(fault)
            return lifecycle.view(self._data.deployments[did])

    def get_deployment(self, deployment_id: str) -> dict[str, Any]:
        with self._lock:
            return lifecycle.view(self._deployment(deployment_id))

    def revision_deployments(self, revision_id: str) -> list[dict[str, Any]]:
        """The revision's deployments, in creation order."""
        with self._lock:
            if revision_id not in self._data.revisions:
                raise revision_not_found(revision_id)
            return [
                lifecycle.view(record)
                for record in self._deployments()
                if record["packageRevisionId"] == revision_id
            ]

    def running_deployments(self) -> int:
        """Deployments holding a slot of the running limit (``RUNNING`` or ``STARTING``)."""
        with self._lock:
            return sum(1 for r in self._deployments() if r["state"] in lifecycle.HOLDS_SLOT)

    def start_deployment(
        self, deployment_id: str, *, delay_ms: int, max_running: int
    ) -> dict[str, Any]:
        """Start (or restart) the deployment; see the module docstring for the errors."""
        with self._lock:
            record = self._deployment(deployment_id)
            if record["state"] in lifecycle.TRANSITIONAL:
                raise _transitional(record, "FAAS-1008", "started")
            if record["state"] == STOPPED and self.running_deployments() >= max_running:
                raise ApiProblem(
                    422,
                    "FAAS-1005",
                    f"Running package deployments limit reached ({max_running}); stop one "
                    "first (GET /v2/faas/limits/package-deployments-running)",
                )
            self._fail_if_forced(record)
            fault = self._write_fault("start", record[lifecycle.PACKAGE_ID])
            lifecycle.begin(record, STARTING, RUNNING, self._ticker.now_ms(), delay_ms)
            self._save()
            _after_write(fault)
            return lifecycle.view(record)

    def rolling_update(self, old_id: str, new_id: str, *, delay_ms: int) -> dict[str, Any]:
        """Swap what runs from ``old_id`` to ``new_id``; answers the new deployment."""
        with self._lock:
            old, new = self._deployment(old_id), self._deployment(new_id)
            for record in (old, new):
                if record["state"] in lifecycle.TRANSITIONAL:
                    raise _transitional(record, "FAAS-1008", "started")
            field = "newPackageDeploymentId"
            if old_id == new_id:
                raise invalid(field, "must name another deployment than the path")
            if old["state"] != RUNNING:
                raise invalid(
                    "packageDeploymentId",
                    f"deployment [{old_id}] is {old['state']}, not RUNNING; start [{new_id}]",
                )
            if new["state"] != STOPPED:
                raise invalid(field, f"deployment [{new_id}] is {new['state']}, not STOPPED")
            if new["keysetId"] != old["keysetId"]:
                raise invalid(field, f"deployment [{new_id}] is on another keyset")
            if new[lifecycle.PACKAGE_ID] != old[lifecycle.PACKAGE_ID]:
                raise invalid(field, f"deployment [{new_id}] is of another package")
            self._fail_if_forced(new)
            fault = self._write_fault("rolling-update", old[lifecycle.PACKAGE_ID])
            now = self._ticker.now_ms()
            lifecycle.begin(old, STOPPING, STOPPED, now, delay_ms)
            lifecycle.begin(new, STARTING, RUNNING, now, delay_ms)
            self._save()
            _after_write(fault)
            return lifecycle.view(new)

    def stop_deployment(self, deployment_id: str) -> dict[str, Any]:
        with self._lock:
            record = self._deployment(deployment_id)
            self._stop([record], record[lifecycle.PACKAGE_ID])
            return lifecycle.view(record)

    def stop_deployments(
        self, *, package_id: str | None = None, revision_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Stop every active deployment of the package (or revision); answers those stopped."""
        with self._lock:
            if package_id is not None and package_id not in self._data.packages:
                raise package_not_found(package_id)
            if revision_id is not None and revision_id not in self._data.revisions:
                raise revision_not_found(revision_id)
            chosen = [
                record
                for record in self._deployments()
                if record["state"] != STOPPED
                and (package_id is None or record[lifecycle.PACKAGE_ID] == package_id)
                and (revision_id is None or record["packageRevisionId"] == revision_id)
            ]
            if package_id is None and revision_id is not None:
                package_id = self._data.revisions[revision_id]["packageId"]
            self._stop(chosen, package_id or "")
            return [lifecycle.view(record) for record in chosen]

    def delete_deployment(self, deployment_id: str) -> None:
        with self._lock:
            record = self._deployment(deployment_id)
            if record["state"] != STOPPED:
                raise ApiProblem(
                    409,
                    "FAAS-1014",
                    f"Package deployment with ID [{deployment_id}] cannot be deleted: "
                    f"it is {record['state']}; stop it first",
                )
            del self._data.deployments[deployment_id]
            self._save()

    def fail_deployment_starts(
        self, package_id: str | None = None, times: int | None = None
    ) -> None:
        """Make starts (and rolling updates) answer ``500 FAAS-1012`` for tests.

        ``package_id=None`` means deployments of any package; ``times=None`` means forever.
        """
        self._forced.add_start_failure(package_id, times)

    def fault_deployment_writes(
        self,
        operation: DeploymentWrite,
        *,
        applied: bool = False,
        answer: str = "drop",
        times: int | None = 1,
        package_id: str | None = None,
    ) -> None:
        """Give the next ``times`` writes of ``operation`` a fault, for tests of the client.

        ``operation``: ``create``, ``start``, ``rolling-update`` or ``stop`` (one deployment,
        or all of a package or revision). ``applied=False``: answer ``500 FAAS-500`` and
        change nothing. ``applied=True``: apply the write, then ``answer="drop"`` closes the
        connection without an answer, ``answer="500"`` answers 500 anyway. Only writes that
        would otherwise succeed meet the fault (a 423 or 409 is answered as usual).
        ``package_id=None``: deployments of any package; ``times=None``: forever.
        """
        if not applied:
            mode: WriteFaultMode = "unapplied"
        elif answer == "drop":
            mode = "dropped"
        elif answer == "500":
            mode = "applied-500"
        else:
            raise ValueError("answer must be 'drop' or '500'")
        self._forced.add_write_fault(operation, mode, package_id, times)

    def _write_fault(self, operation: DeploymentWrite, package_id: str) -> WriteFaultMode | None:
        """The fault forced on this write; an ``unapplied`` one is answered here, unapplied."""
        mode = self._forced.take_write_fault(operation, package_id)
        if mode == "unapplied":
            raise InjectedWriteFault(FAULT_WRITE_UNAPPLIED)
        return mode

    def _stop(self, records: list[dict[str, Any]], package_id: str) -> None:
        busy = [record for record in records if record["state"] in lifecycle.TRANSITIONAL]
        if busy:
            raise _transitional(busy[0], "FAAS-1009", "stopped")
        fault = self._write_fault("stop", package_id)
        stamp = format_timestamp(self._ticker.now_ms())
        for record in records:
            lifecycle.set_state(record, STOPPED, stamp)
        self._save()
        _after_write(fault)

    def _fail_if_forced(self, record: dict[str, Any]) -> None:
        if self._forced.take_start_failure(record[lifecycle.PACKAGE_ID]):
            raise ApiProblem(
                500,
                "FAAS-1012",
                f"Package deployment with ID [{record['id']}] failed to start (forced)",
            )

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        record = self._data.deployments.get(deployment_id)
        if record is None:
            raise deployment_not_found(deployment_id)
        lifecycle.settle(record, self._ticker.now_ms())
        return record


def _after_write(fault: WriteFaultMode | None) -> None:
    """After an applied write (saved): lose its answer, or answer 500, if a fault says so."""
    if fault == "dropped":
        raise AnswerLost("the write was applied; its answer is lost (injected)")
    if fault == "applied-500":
        raise InjectedWriteFault(FAULT_WRITE_APPLIED_500)

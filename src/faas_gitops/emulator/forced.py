"""Errors tests force on purpose: per-package answers, deployment starts that fail, and
deployment writes whose answer is a 5xx or never comes (applied or not)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from faas_gitops.emulator.problems import ApiProblem

#: The deployment writes a fault can be forced on (the names the client's journal uses).
DeploymentWrite = Literal["create", "start", "rolling-update", "stop"]
DEPLOYMENT_WRITES: tuple[str, ...] = get_args(DeploymentWrite)

#: What a forced deployment-write fault does: answer 500 and change nothing (``unapplied``),
#: apply the write and close the connection unanswered (``dropped``), or apply it and answer
#: 500 anyway (``applied-500``).
WriteFaultMode = Literal["unapplied", "dropped", "applied-500"]
WRITE_FAULT_MODES: tuple[str, ...] = get_args(WriteFaultMode)


class AnswerLost(Exception):
    """Raised after a write was applied: the gateway closes the connection unanswered."""


class InjectedWriteFault(ApiProblem):
    """The 500 of a forced deployment-write fault; ``fault`` names it in the request log."""

    def __init__(self, fault: str) -> None:
        super().__init__(500, "FAAS-500", "Internal Server Error!")
        self.fault = fault


@dataclass(slots=True)
class _Uses:
    """A forced behaviour that applies ``remaining`` more times (``None``: forever)."""

    remaining: int | None

    def take(self) -> bool:
        """Whether it still applies, counting one use."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass(slots=True)
class _WriteFault(_Uses):
    mode: WriteFaultMode


@dataclass(slots=True)
class _Forced(_Uses):
    status: int
    code: str
    message: str
    methods: frozenset[str] | None


class ForcedErrors:
    """Thread-safe registry; see ``EmulatorStore.force_error`` and ``fail_deployment_starts``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_package: dict[str, list[_Forced]] = {}
        self._start_failures: dict[str | None, list[_Forced]] = {}
        self._write_faults: dict[tuple[str, str | None], list[_WriteFault]] = {}

    def add(  # noqa: PLR0917 - mirrors the error envelope; callers pass keywords
        self,
        package_id: str,
        status: int,
        code: str,
        message: str,
        methods: Iterable[str] | None,
        times: int | None,
    ) -> None:
        allowed = None if methods is None else frozenset(m.upper() for m in methods)
        with self._lock:
            self._by_package.setdefault(package_id, []).append(
                _Forced(times, status, code, message, allowed)
            )

    def take(self, package_id: str, method: str) -> ApiProblem | None:
        with self._lock:
            for forced in self._by_package.get(package_id, []):
                if forced.methods is not None and method.upper() not in forced.methods:
                    continue
                if forced.take():
                    return ApiProblem(forced.status, forced.code, forced.message)
            return None

    def add_start_failure(self, package_id: str | None, times: int | None) -> None:
        with self._lock:
            self._start_failures.setdefault(package_id, []).append(
                _Forced(times, 500, "FAAS-1012", "", None)
            )

    def take_start_failure(self, package_id: str) -> bool:
        """Whether a start of a deployment of ``package_id`` must fail now (counts one use)."""
        with self._lock:
            for key in (package_id, None):
                if any(forced.take() for forced in self._start_failures.get(key, [])):
                    return True
            return False

    def add_write_fault(
        self,
        operation: DeploymentWrite,
        mode: WriteFaultMode,
        package_id: str | None,
        times: int | None,
    ) -> None:
        if operation not in DEPLOYMENT_WRITES:
            raise ValueError(f"operation must be one of {', '.join(DEPLOYMENT_WRITES)}")
        if mode not in WRITE_FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(WRITE_FAULT_MODES)}")
        with self._lock:
            self._write_faults.setdefault((operation, package_id), []).append(
                _WriteFault(times, mode)
            )

    def take_write_fault(self, operation: str, package_id: str) -> WriteFaultMode | None:
        """The fault a write of a deployment of ``package_id`` meets now (counts one use).

        Faults forced on the package come before those forced on any package.
        """
        with self._lock:
            for key in ((operation, package_id), (operation, None)):
                for fault in self._write_faults.get(key, []):
                    if fault.take():
                        return fault.mode
            return None

    def clear(self) -> None:
        with self._lock:
            self._by_package.clear()
            self._start_failures.clear()
            self._write_faults.clear()

"""Errors tests force on purpose: per-package answers, and deployment starts that fail."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from faas_gitops.emulator.problems import ApiProblem


@dataclass(slots=True)
class _Forced:
    status: int
    code: str
    message: str
    methods: frozenset[str] | None
    remaining: int | None

    def take(self) -> bool:
        """Whether this forced answer still applies, counting one use."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class ForcedErrors:
    """Thread-safe registry; see ``EmulatorStore.force_error`` and ``fail_deployment_starts``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_package: dict[str, list[_Forced]] = {}
        self._start_failures: dict[str | None, list[_Forced]] = {}

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
                _Forced(status, code, message, allowed, times)
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
                _Forced(500, "FAAS-1012", "", None, times)
            )

    def take_start_failure(self, package_id: str) -> bool:
        """Whether a start of a deployment of ``package_id`` must fail now (counts one use)."""
        with self._lock:
            for key in (package_id, None):
                if any(forced.take() for forced in self._start_failures.get(key, [])):
                    return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._by_package.clear()
            self._start_failures.clear()

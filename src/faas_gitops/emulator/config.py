"""The emulator's settings: one frozen value, validated once, shared by the app, store and CLI.

Every field has a default so a test only names what it cares about. The choices exist because
REFERENCE.md leaves them open (not-found status, create status, list order, whether revision list
items embed code, how long a deployment takes to start); a client that works against every
combination works against the real API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from faas_gitops.emulator.list_faults import REVISION_LIST_FAULTS, RevisionListFault

ListOrder = Literal["shuffled", "created"]
RevisionListCode = Literal["include", "omit"]

DEFAULT_API_KEY = "emulator-key"
#: The ``PubNub-Version`` the emulator advertises in docs and examples (REFERENCE.md §2).
PUBNUB_VERSION = "2026-05-26"


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator behaves where the docs are silent, and how much it misbehaves.

    Probabilities are in ``[0, 1]`` and are drawn from one ``random.Random(seed)``, so the same
    sequence of requests meets the same faults in every run. Faults apply only to ``/v2/faas``.
    """

    api_key: str = DEFAULT_API_KEY
    list_order: ListOrder = "shuffled"
    revision_list_code: RevisionListCode = "omit"
    not_found_status: int = 400
    create_status: int = 201
    max_page_size: int = 100
    max_functions: int = 50
    seed: int = 0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    fault_5xx: float = 0.0
    fault_429: float = 0.0
    retry_after: int = 1
    fault_drop_after_commit: float = 0.0
    revision_list_fault: RevisionListFault = "none"
    deploy_delay_ms: int = 200
    max_running_deployments: int = 5
    state_file: Path | None = None

    def __post_init__(self) -> None:
        problems = self._choice_problems() + self._range_problems()
        if problems:
            raise ValueError("invalid emulator config: " + "; ".join(problems))

    def _choice_problems(self) -> list[str]:
        problems: list[str] = []
        if not self.api_key:
            problems.append("api_key must not be empty")
        if self.list_order not in ("shuffled", "created"):
            problems.append("list_order must be 'shuffled' or 'created'")
        if self.revision_list_code not in ("include", "omit"):
            problems.append("revision_list_code must be 'include' or 'omit'")
        if self.not_found_status not in (400, 404):
            problems.append("not_found_status must be 400 or 404")
        if self.create_status not in (200, 201):
            problems.append("create_status must be 200 or 201")
        if self.revision_list_fault not in REVISION_LIST_FAULTS:
            problems.append("revision_list_fault must be one of " + ", ".join(REVISION_LIST_FAULTS))
        return problems

    def _range_problems(self) -> list[str]:
        problems: list[str] = []
        for name in ("max_page_size", "max_functions", "max_running_deployments"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        for name in ("latency_ms", "latency_jitter_ms", "retry_after", "deploy_delay_ms"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in ("fault_5xx", "fault_429", "fault_drop_after_commit"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be between 0 and 1")
        return problems

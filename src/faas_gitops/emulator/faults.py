"""Deliberate misbehaviour: latency, 429s, 5xx and connections dropped after a commit.

All draws come from one ``random.Random(seed)`` under a lock, and every ``/v2/faas`` request
that passes the auth and version checks draws the same number of values whatever the outcome,
so the n-th such request of a run meets the same fault in every run with that seed. With
concurrent clients the arrival order, and so which request meets which fault, may vary.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.problems import ApiProblem

_5XX = (500, 502, 503)
_5XX_MESSAGES = {
    500: "Internal Server Error!",
    502: "Bad Gateway (injected by the emulator)",
    503: "Service Unavailable (injected by the emulator)",
}


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What happens to one request: wait ``delay_s``, then answer ``problem`` if set.

    ``drop_after_commit`` only matters for creates: store the object, then close the
    connection without an answer.
    """

    delay_s: float
    problem: ApiProblem | None
    drop_after_commit: bool


class FaultInjector:
    """Draws a ``FaultPlan`` per request from the seeded generator."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducible faults, not crypto
        self._lock = threading.Lock()

    def draw(self) -> FaultPlan:
        cfg = self._config
        with self._lock:
            jitter, r429, r5xx, rdrop = (self._rng.random() for _ in range(4))
            status = self._rng.choice(_5XX)
        delay_s = (cfg.latency_ms + jitter * cfg.latency_jitter_ms) / 1000
        problem: ApiProblem | None = None
        if r429 < cfg.fault_429:
            problem = ApiProblem(
                429,
                "FAAS-429",
                "Too many requests (injected by the emulator)",
                headers={"Retry-After": str(cfg.retry_after)},
            )
        elif r5xx < cfg.fault_5xx:
            problem = ApiProblem(status, "FAAS-500", _5XX_MESSAGES[status])
        return FaultPlan(delay_s, problem, rdrop < cfg.fault_drop_after_commit)

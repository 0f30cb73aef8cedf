"""The request log tests read to see what a client actually sent and what it was answered."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

#: ``RequestRecord.fault`` values.
FAULT_DROPPED = "drop-after-commit"
#: A forced deployment-write fault (``EmulatorStore.fault_deployment_writes``): answered 500
#: and not applied; applied and answered 500; applied and dropped (the status is ``0``).
FAULT_WRITE_UNAPPLIED = "write-unapplied"
FAULT_WRITE_APPLIED_500 = "write-applied-500"
FAULT_WRITE_DROPPED = "write-dropped"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request, recorded once its answer is known.

    ``body`` is the request body: parsed JSON, the raw text if it was not JSON, ``None`` if
    empty. ``status`` is the HTTP status answered, or ``0`` when the connection was dropped
    on purpose (``fault == "drop-after-commit"``; the create was stored nonetheless).
    ``fault`` also names injected ``"429"`` and ``"5xx"`` answers and forced deployment-write
    faults (``"write-unapplied"``, ``"write-applied-500"``, ``"write-dropped"``). ``headers``
    are the request headers (lower-case names) without ``authorization``: the key is never
    recorded.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any | None
    fault: str | None = None
    correlation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class RequestLog:
    """Thread-safe list of ``RequestRecord`` in arrival order.

    A request takes its place when it arrives (``arrive``) and is filled in when answered
    (``complete``), so concurrent requests stay in arrival order; ``snapshot`` shows only the
    answered ones.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord | None] = []
        self._offset = 0  # slots handed out before the last clear()

    def arrive(self) -> int:
        with self._lock:
            self._records.append(None)
            return self._offset + len(self._records) - 1

    def complete(self, slot: int, record: RequestRecord) -> None:
        with self._lock:
            index = slot - self._offset
            if 0 <= index < len(self._records):
                self._records[index] = record

    def append(self, record: RequestRecord) -> None:
        self.complete(self.arrive(), record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return [record for record in self._records if record is not None]

    def clear(self) -> None:
        """Forget every record; requests still in flight are not recorded either."""
        with self._lock:
            self._offset += len(self._records)
            self._records.clear()

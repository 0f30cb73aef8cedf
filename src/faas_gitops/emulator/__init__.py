"""A local emulator of PubNub's Functions v2 admin API (``/v2/faas``), for users and tests.

It serves real HTTP (Starlette under uvicorn) from its own in-memory store, behaves like the
real API as far as ``REFERENCE.md`` knows, lets the caller choose where the docs are silent
(``EmulatorConfig``), models deployments and the running limit, and misbehaves on purpose,
reproducibly, when asked (``faults``, ``list_faults``).

    with serve_in_thread(EmulatorConfig(api_key="k")) as emu:
        emu.store.add_package(name="chat")
        httpx.get(f"{emu.url}/v2/faas/packages", headers=...)
"""

from __future__ import annotations

from faas_gitops.emulator.app import create_app
from faas_gitops.emulator.config import DEFAULT_API_KEY, PUBNUB_VERSION, EmulatorConfig
from faas_gitops.emulator.problems import ApiProblem
from faas_gitops.emulator.requestlog import RequestLog, RequestRecord
from faas_gitops.emulator.server import RunningEmulator, serve_in_thread
from faas_gitops.emulator.store import EmulatorStore
from faas_gitops.models import FUNCTION_TYPES, LANGUAGES

__all__ = [
    "DEFAULT_API_KEY",
    "FUNCTION_TYPES",
    "LANGUAGES",
    "PUBNUB_VERSION",
    "ApiProblem",
    "EmulatorConfig",
    "EmulatorStore",
    "RequestLog",
    "RequestRecord",
    "RunningEmulator",
    "create_app",
    "serve_in_thread",
]

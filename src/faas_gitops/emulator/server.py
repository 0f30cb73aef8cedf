"""Run the emulator under uvicorn: in a background thread for tests, or in the foreground.

Both paths build the server the same way (h11, no websockets, no lifespan, access log off by
default) so what the tests exercise is what ``faas-gitops emulator`` serves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from faas_gitops.emulator.app import create_app
from faas_gitops.emulator.config import EmulatorConfig
from faas_gitops.emulator.gateway import ConnectionDropped
from faas_gitops.emulator.requestlog import RequestLog, RequestRecord
from faas_gitops.emulator.store import EmulatorStore

_STARTUP_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 10.0

_log = structlog.get_logger(__name__)


class _HideInjectedDrops(logging.Filter):
    """uvicorn logs the exception that aborts a dropped response; it is no error of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def _install_drop_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedDrops) for f in logger.filters):
        logger.addFilter(_HideInjectedDrops())


class _EmulatorServer(uvicorn.Server):
    """uvicorn's server, announcing the real URL once it listens (port 0 becomes a number)."""

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            _log.info("emulator listening", url=f"http://{self.config.host}:{bound_port(self)}")


def build_server(
    config: EmulatorConfig,
    store: EmulatorStore,
    request_log: RequestLog,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    access_log: bool = False,
    configure_logging: bool = False,
) -> uvicorn.Server:
    """A uvicorn server for the emulator app (``port=0`` picks a free port).

    ``configure_logging`` lets uvicorn install its own stderr handlers (the CLI wants that);
    tests leave the process's logging alone.
    """
    _install_drop_filter()
    app = create_app(config, store, request_log)
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        ws="none",
        lifespan="off",
        log_level=log_level.lower(),
        access_log=access_log,
        timeout_graceful_shutdown=5,
        log_config=LOGGING_CONFIG if configure_logging else None,
    )
    return _EmulatorServer(uv_config)


def bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on (useful after asking for port 0)."""
    sockets = [sock for srv in server.servers for sock in srv.sockets]
    return int(sockets[0].getsockname()[1])


@dataclass(slots=True)
class RunningEmulator:
    """A started emulator: where it listens, its store and what it was asked."""

    url: str
    host: str
    port: int
    config: EmulatorConfig
    store: EmulatorStore
    request_log: RequestLog

    @property
    def requests(self) -> list[RequestRecord]:
        """Answered requests so far, in arrival order (a copy)."""
        return self.request_log.snapshot()

    def clear_requests(self) -> None:
        self.request_log.clear()


@contextmanager
def serve_in_thread(
    config: EmulatorConfig | None = None,
    store: EmulatorStore | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningEmulator]:
    """Serve the emulator on a background thread for the duration of the ``with`` block.

    The server is listening before the body runs and has stopped (connections closed, thread
    joined) when the block exits, so tests leak neither sockets nor threads.
    """
    cfg = config if config is not None else EmulatorConfig()
    emulator_store = store if store is not None else EmulatorStore(cfg.state_file)
    request_log = RequestLog()
    server = build_server(cfg, emulator_store, request_log, host=host, port=port)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="faas-emulator", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, failure)
        actual_port = bound_port(server)
        yield RunningEmulator(
            url=f"http://{host}:{actual_port}",
            host=host,
            port=actual_port,
            config=cfg,
            store=emulator_store,
            request_log=request_log,
        )
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT_S)


def _wait_started(server: uvicorn.Server, thread: threading.Thread, failure: list[Any]) -> None:
    """Block until uvicorn listens; raise if its thread died or it took too long."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if failure:
            raise RuntimeError(f"emulator failed to start: {failure[0]}") from failure[0]
        if not thread.is_alive():
            raise RuntimeError("emulator thread exited before the server started")
        if time.monotonic() > deadline:
            raise RuntimeError(f"emulator did not start within {_STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(0.005)

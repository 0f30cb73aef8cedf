"""``faas-gitops emulator``: serve the local FaaS API emulator until SIGINT/SIGTERM.

The flags are ``flags``; behaviour lives in ``config``, ``store`` and ``server``. The API key
is never printed or logged: not on start, not in errors, not in the request log.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
from types import FrameType

import structlog

from faas_gitops.emulator.config import DEFAULT_API_KEY, EmulatorConfig
from faas_gitops.emulator.flags import (
    API_KEY_ENV,
    EmulatorOptions,
    build_parser,
    parse_args,
    write_fault_of,
)
from faas_gitops.emulator.requestlog import RequestLog
from faas_gitops.emulator.server import build_server
from faas_gitops.emulator.store import EmulatorStore
from faas_gitops.errors import ConfigError
from faas_gitops.secret_files import read_secret_file


def _configure_logging(level: str) -> None:
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def _api_key(args: EmulatorOptions) -> str:
    log = structlog.get_logger(__name__)
    if args.api_key_file is not None:
        try:  # the one rule of every secret file (faas_gitops.secret_files)
            key = read_secret_file(args.api_key_file, "--api-key-file")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        log.info("api key read from file", file=str(args.api_key_file))
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    if key:
        log.info("api key taken from the environment", variable=API_KEY_ENV)
        return key
    log.warning(
        "no api key configured; expecting the default emulator key (see --help)",
        hint=f"set {API_KEY_ENV} or --api-key-file to choose one",
    )
    return DEFAULT_API_KEY


def _prepare(args: EmulatorOptions) -> tuple[EmulatorConfig, EmulatorStore]:
    """The validated config and the (loaded) store; ``ValueError`` names the bad flag."""
    config = EmulatorConfig(
        api_key=_api_key(args),
        list_order=args.list_order,
        revision_list_code=args.revision_list_code,
        not_found_status=args.not_found_status,
        create_status=args.create_status,
        max_page_size=args.max_page_size,
        max_functions=args.max_functions,
        seed=args.seed,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        fault_5xx=args.fault_5xx,
        fault_429=args.fault_429,
        retry_after=args.retry_after,
        fault_drop_after_commit=args.fault_drop_after_commit,
        revision_list_fault=args.revision_list_fault,
        deploy_delay_ms=args.deploy_delay_ms,
        max_running_deployments=args.max_running_deployments,
        state_file=args.state_file,
    )
    if args.seed_from is not None and not args.seed_from.is_dir():
        raise ValueError(f"--seed-from: {args.seed_from} is not a directory")
    faults = [write_fault_of(spec) for spec in args.fault_deployment_write]
    try:
        store = EmulatorStore(config.state_file)
    except OSError as exc:
        raise ValueError(f"--state-file: cannot read {config.state_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--state-file: {exc}") from None
    for operation, mode, times, package_id in faults:
        store.fault_deployment_writes(
            operation,
            applied=mode != "unapplied",
            answer="500" if mode == "applied-500" else "drop",
            times=times,
            package_id=package_id,
        )
    return config, store


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM, return the exit code (0, or 2 on bad usage)."""
    parser = build_parser()
    try:
        args = parse_args(parser, argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    _configure_logging(args.log_level)
    log = structlog.get_logger(__name__)
    try:
        config, store = _prepare(args)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.seed_from is not None:
        created = store.seed_from(args.seed_from)
        log.info("seeding done", directory=str(args.seed_from), created=len(created))
    try:
        sock = _listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"faas-gitops: error: {_bind_error(args.host, args.port, exc)}", file=sys.stderr)
        return 2
    server = build_server(
        config,
        store,
        RequestLog(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        configure_logging=True,
    )
    # uvicorn re-raises the signal that stopped it once it is done; with these no-op handlers
    # in place that re-raise is harmless and the process exits 0 as documented.
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits 1 on a startup failure
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("emulator stopped")
    return 0


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bind here rather than in uvicorn, whose bind failure is a raw log line and exit 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> str:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {address}: the address is already in use (another process "
            "listens there); stop it or pick another --port (0: any free port)"
        )
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {address}: unknown host {host!r}; check --host"
    reason = exc.strerror or str(exc)
    return f"cannot listen on {address}: {reason}; check --host and --port"


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Swallow the signal uvicorn re-raises after its graceful shutdown."""

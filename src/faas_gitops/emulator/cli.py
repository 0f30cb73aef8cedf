"""``faas-gitops emulator``: serve the local FaaS API emulator until SIGINT/SIGTERM.

Argument parsing only; behaviour lives in ``config``, ``store`` and ``server``. The API key
is never printed or logged: not on start, not in errors, not in the request log.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Literal, cast

import structlog
from pydantic import BaseModel, ConfigDict, Field

from faas_gitops.emulator.config import DEFAULT_API_KEY, PUBNUB_VERSION, EmulatorConfig
from faas_gitops.emulator.forced import DEPLOYMENT_WRITES, WRITE_FAULT_MODES, DeploymentWrite
from faas_gitops.emulator.list_faults import RevisionListFault
from faas_gitops.emulator.requestlog import RequestLog
from faas_gitops.emulator.server import build_server
from faas_gitops.emulator.store import EmulatorStore
from faas_gitops.errors import ConfigError
from faas_gitops.options import Opt, add_options, parse

API_KEY_ENV = "FAAS_API_KEY"

_NET = "listening"
_SILENT = "behaviour where the API docs are silent"
_FAULTS = "fault injection (applies to /v2/faas requests only)"
_STATE = "state"
_LOGS = "logging (stderr)"
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _opt(flag: str, help_text: str, group: str, metavar: str | None = None) -> Opt:
    """The emulator's flags have no environment twins (only the key comes from the env)."""
    return Opt(flag, help_text, metavar, twin=False, group=group)


class EmulatorOptions(BaseModel):
    """Every flag of ``faas-gitops emulator``, declared like the main command's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="emulator")

    host: Annotated[str, _opt("--host", "interface to listen on", _NET)] = "127.0.0.1"
    port: Annotated[
        int, Field(ge=0), _opt("--port", "TCP port to listen on (0: any free port)", _NET)
    ] = 8090
    api_key_file: Annotated[
        Path | None,
        _opt(
            "--api-key-file",
            "file holding the API key clients must send in 'Authorization' (surrounding "
            f"whitespace ignored); else the {API_KEY_ENV} environment variable; else the "
            f"well-known default key '{DEFAULT_API_KEY}'",
            _NET,
        ),
    ] = None
    list_order: Annotated[
        Literal["shuffled", "created"],
        _opt(
            "--list-order",
            "order of lists requested without 'sort': a stable shuffle or creation order",
            _SILENT,
        ),
    ] = "shuffled"
    revision_list_code: Annotated[
        Literal["include", "omit"],
        _opt(
            "--revision-list-code",
            "whether items of a package's revision list embed each function's 'code'",
            _SILENT,
        ),
    ] = "omit"
    not_found_status: Annotated[
        Literal[400, 404],
        _opt(
            "--not-found-status",
            "HTTP status of FAAS-1004 'entity not found' (the docs show both)",
            _SILENT,
        ),
    ] = 400
    create_status: Annotated[
        Literal[200, 201],
        _opt(
            "--create-status", "HTTP status of a successful create (package or revision)", _SILENT
        ),
    ] = 201
    max_page_size: Annotated[
        int,
        Field(ge=1),
        _opt(
            "--max-page-size",
            "largest page a list returns; a bigger 'size' is capped to it",
            _SILENT,
        ),
    ] = 100
    max_functions: Annotated[
        int,
        Field(ge=1),
        _opt(
            "--max-functions", "functions allowed per revision; more answers 422 FAAS-1006", _SILENT
        ),
    ] = 50
    seed: Annotated[
        int,
        _opt(
            "--seed",
            "seed of the random generator behind shuffling and faults: same seed, same run",
            _FAULTS,
        ),
    ] = 0
    latency_ms: Annotated[
        int, Field(ge=0), _opt("--latency-ms", "delay added to every request", _FAULTS)
    ] = 0
    latency_jitter_ms: Annotated[
        int,
        Field(ge=0),
        _opt(
            "--latency-jitter-ms",
            "extra random delay, uniform between 0 and this, added to --latency-ms",
            _FAULTS,
        ),
    ] = 0
    fault_5xx: Annotated[
        Probability,
        _opt(
            "--fault-5xx",
            "probability (0..1) that a request answers 500, 502 or 503 (FAAS-500)",
            _FAULTS,
        ),
    ] = 0.0
    fault_429: Annotated[
        Probability,
        _opt(
            "--fault-429",
            "probability (0..1) that a request answers 429 (FAAS-429) with Retry-After",
            _FAULTS,
        ),
    ] = 0.0
    retry_after: Annotated[
        int,
        Field(ge=0),
        _opt(
            "--retry-after",
            "seconds sent in the Retry-After header of injected 429 answers",
            _FAULTS,
        ),
    ] = 1
    fault_drop_after_commit: Annotated[
        Probability,
        _opt(
            "--fault-drop-after-commit",
            "probability (0..1) that a create (POST) is stored and then the connection is "
            "closed without an answer, so the client cannot know it succeeded",
            _FAULTS,
        ),
    ] = 0.0
    revision_list_fault: Annotated[
        RevisionListFault,
        _opt(
            "--revision-list-fault",
            "make revision list answers lie: data null, no meta.paging, totalPages always 1, "
            "the page parameter ignored, or totalPages always one more than the page asked",
            _FAULTS,
        ),
    ] = "none"
    fault_deployment_write: Annotated[
        tuple[str, ...],
        _opt(
            "--fault-deployment-write",
            "force a fault on the next deployment writes (repeatable): OP is create, start, "
            "rolling-update or stop; MODE unapplied (500, nothing changes), dropped (applied, "
            "then the connection closes unanswered) or applied-500 (applied, answered 500); "
            "TIMES how many writes meet it (default 1, 'forever'); PACKAGE_ID limits it to "
            "deployments of that package",
            _FAULTS,
            "OP:MODE[:TIMES[:PACKAGE_ID]]",
        ),
    ] = ()
    deploy_delay_ms: Annotated[
        int,
        Field(ge=0),
        _opt(
            "--deploy-delay-ms",
            "how long a started or rolled-over deployment stays STARTING before RUNNING",
            _SILENT,
        ),
    ] = 200
    max_running_deployments: Annotated[
        int,
        Field(ge=1),
        _opt(
            "--max-running-deployments",
            "running-deployments limit of the account; starting beyond it answers 422",
            _SILENT,
        ),
    ] = 5
    seed_from: Annotated[
        Path | None,
        _opt(
            "--seed-from",
            "create the packages named by the package.yaml files under DIR (with their "
            "packageId and name, no revisions) before serving; existing ones are skipped",
            _STATE,
            "DIR",
        ),
    ] = None
    state_file: Annotated[
        Path | None,
        _opt(
            "--state-file",
            "JSON file that keeps the emulator's data across restarts (default: memory only)",
            _STATE,
        ),
    ] = None
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        _opt("--log-level", "verbosity of the emulator's logs", _LOGS),
    ] = "info"
    access_log: Annotated[
        bool, _opt("--access-log", "also log one line per request (uvicorn)", _LOGS)
    ] = False


def build_parser(prog: str = "faas-gitops emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Serve a local emulator of PubNub's Functions v2 admin API (/v2/faas: packages, "
            "package revisions, functions of a revision) so repositories can be synced and "
            "tested without an account. Clients must send the configured key in "
            f"'Authorization' and a 'PubNub-Version: YYYY-MM-DD' header (e.g. {PUBNUB_VERSION})."
            " Runs until SIGINT or SIGTERM, then exits 0."
        ),
    )
    add_options(parser, EmulatorOptions)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> EmulatorOptions:
    """Flags into ``EmulatorOptions``; a bad value is argparse's usage error (exit 2)."""
    try:
        return parse(parser, EmulatorOptions, sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        parser.error(str(exc))


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
        try:
            key = str(args.api_key_file.read_text(encoding="utf-8")).strip()
        except OSError as exc:
            raise ValueError(
                f"--api-key-file: cannot read {args.api_key_file}: {exc.strerror}"
            ) from None
        if not key:
            raise ValueError(f"--api-key-file: {args.api_key_file} is empty")
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


def write_fault_of(spec: str) -> tuple[DeploymentWrite, str, int | None, str | None]:
    """``OP:MODE[:TIMES[:PACKAGE_ID]]`` as (operation, mode, times, package id).

    ``ValueError`` names the flag and the part that is wrong.
    """
    flag = "--fault-deployment-write"
    parts = spec.split(":", 3)
    if len(parts) < 2:
        raise ValueError(f"{flag}: {spec!r} is not OP:MODE[:TIMES[:PACKAGE_ID]]")
    operation, mode = parts[0], parts[1]
    if operation not in DEPLOYMENT_WRITES:
        raise ValueError(f"{flag}: {operation!r} is not one of {', '.join(DEPLOYMENT_WRITES)}")
    if mode not in WRITE_FAULT_MODES:
        raise ValueError(f"{flag}: {mode!r} is not one of {', '.join(WRITE_FAULT_MODES)}")
    times: int | None = 1
    if len(parts) > 2 and parts[2] != "":
        if parts[2] == "forever":
            times = None
        elif parts[2].isdigit() and int(parts[2]) > 0:
            times = int(parts[2])
        else:
            raise ValueError(f"{flag}: TIMES {parts[2]!r} is not a positive number or 'forever'")
    package_id = (parts[3] or None) if len(parts) > 3 else None
    return cast("DeploymentWrite", operation), mode, times, package_id


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

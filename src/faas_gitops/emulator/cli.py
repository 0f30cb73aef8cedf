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

import structlog

from faas_gitops.emulator.config import DEFAULT_API_KEY, PUBNUB_VERSION, EmulatorConfig
from faas_gitops.emulator.list_faults import REVISION_LIST_FAULTS
from faas_gitops.emulator.requestlog import RequestLog
from faas_gitops.emulator.server import build_server
from faas_gitops.emulator.store import EmulatorStore

API_KEY_ENV = "FAAS_API_KEY"
_LOG_LEVELS = ("debug", "info", "warning", "error")


def _probability(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {raw}")
    return value


def _non_negative(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {raw!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {raw}")
    return value


def _positive(raw: str) -> int:
    value = _non_negative(raw)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser(prog: str = "faas-gitops emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Serve a local emulator of PubNub's Functions v2 admin API (/v2/faas: packages, "
            "package revisions, functions of a revision, deployments and the running limit) so "
            "repositories can be synced and tested without an account. Clients must send the "
            "configured key in 'Authorization' and a 'PubNub-Version: YYYY-MM-DD' header "
            f"(e.g. {PUBNUB_VERSION}). Runs until SIGINT or SIGTERM, then exits 0."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    net = parser.add_argument_group("listening")
    net.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    net.add_argument(
        "--port", type=_non_negative, default=8090, help="TCP port to listen on (0: any free port)"
    )
    net.add_argument(
        "--api-key-file",
        type=Path,
        default=None,
        help=(
            "file holding the API key clients must send in 'Authorization' (surrounding "
            f"whitespace ignored); else the {API_KEY_ENV} environment variable; else the "
            f"well-known default key '{DEFAULT_API_KEY}'"
        ),
    )
    behaviour = parser.add_argument_group("behaviour where the API docs are silent")
    behaviour.add_argument(
        "--list-order",
        choices=("shuffled", "created"),
        default="shuffled",
        help="order of lists requested without 'sort': a stable shuffle or creation order",
    )
    behaviour.add_argument(
        "--revision-list-code",
        choices=("include", "omit"),
        default="omit",
        help="whether items of a package's revision list embed each function's 'code'",
    )
    behaviour.add_argument(
        "--not-found-status",
        type=int,
        choices=(400, 404),
        default=400,
        help="HTTP status of FAAS-1004 'entity not found' (the docs show both)",
    )
    behaviour.add_argument(
        "--create-status",
        type=int,
        choices=(200, 201),
        default=201,
        help="HTTP status of a successful create (package or revision)",
    )
    behaviour.add_argument(
        "--max-page-size",
        type=_positive,
        default=100,
        help="largest page a list returns; a bigger 'size' is capped to it",
    )
    behaviour.add_argument(
        "--max-functions",
        type=_positive,
        default=50,
        help="functions allowed per revision; more answers 422 FAAS-1006",
    )
    behaviour.add_argument(
        "--deploy-delay-ms",
        type=_non_negative,
        default=200,
        help="how long a started or rolled-over deployment stays STARTING before RUNNING",
    )
    behaviour.add_argument(
        "--max-running-deployments",
        type=_positive,
        default=5,
        help="running-deployments limit of the account; starting beyond it answers 422",
    )
    faults = parser.add_argument_group("fault injection (applies to /v2/faas requests only)")
    faults.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the random generator behind shuffling and faults: same seed, same run",
    )
    faults.add_argument(
        "--latency-ms", type=_non_negative, default=0, help="delay added to every request"
    )
    faults.add_argument(
        "--latency-jitter-ms",
        type=_non_negative,
        default=0,
        help="extra random delay, uniform between 0 and this, added to --latency-ms",
    )
    faults.add_argument(
        "--fault-5xx",
        type=_probability,
        default=0.0,
        help="probability (0..1) that a request answers 500, 502 or 503 (FAAS-500)",
    )
    faults.add_argument(
        "--fault-429",
        type=_probability,
        default=0.0,
        help="probability (0..1) that a request answers 429 (FAAS-429) with Retry-After",
    )
    faults.add_argument(
        "--retry-after",
        type=_non_negative,
        default=1,
        help="seconds sent in the Retry-After header of injected 429 answers",
    )
    faults.add_argument(
        "--fault-drop-after-commit",
        type=_probability,
        default=0.0,
        help=(
            "probability (0..1) that a create (POST) is stored and then the connection is "
            "closed without an answer, so the client cannot know it succeeded"
        ),
    )
    faults.add_argument(
        "--revision-list-fault",
        choices=REVISION_LIST_FAULTS,
        default="none",
        help=(
            "make revision list answers lie: data null, no meta.paging, totalPages always 1, "
            "the page parameter ignored, or totalPages always one more than the page asked"
        ),
    )
    state = parser.add_argument_group("state")
    state.add_argument(
        "--seed-from",
        type=Path,
        default=None,
        metavar="DIR",
        help=(
            "create the packages named by the package.yaml files under DIR (with their "
            "packageId and name, no revisions) before serving; existing ones are skipped"
        ),
    )
    state.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="JSON file that keeps the emulator's data across restarts (default: memory only)",
    )
    logs = parser.add_argument_group("logging (stderr)")
    logs.add_argument(
        "--log-level", choices=_LOG_LEVELS, default="info", help="verbosity of the emulator's logs"
    )
    logs.add_argument(
        "--access-log", action="store_true", help="also log one line per request (uvicorn)"
    )
    return parser


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


def _api_key(args: argparse.Namespace) -> str:
    log = structlog.get_logger("faas_gitops.emulator.cli")
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


def _prepare(args: argparse.Namespace) -> tuple[EmulatorConfig, EmulatorStore]:
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
    try:
        store = EmulatorStore(config.state_file)
    except OSError as exc:
        raise ValueError(f"--state-file: cannot read {config.state_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--state-file: {exc}") from None
    return config, store


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM, return the exit code (0, or 2 on bad usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    _configure_logging(args.log_level)
    log = structlog.get_logger("faas_gitops.emulator.cli")
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

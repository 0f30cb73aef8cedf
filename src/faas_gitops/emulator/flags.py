"""The flags of ``faas-gitops emulator``: ``EmulatorOptions``, declared like the main command's
settings (one ``Opt`` per field), its parser, and the ``--fault-deployment-write`` spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Annotated, Literal, cast

from pydantic import ConfigDict, Field

from faas_gitops.emulator.config import DEFAULT_API_KEY, PUBNUB_VERSION
from faas_gitops.emulator.forced import DEPLOYMENT_WRITES, WRITE_FAULT_MODES, DeploymentWrite
from faas_gitops.emulator.list_faults import RevisionListFault
from faas_gitops.errors import ConfigError
from faas_gitops.options import CommandOptions, Opt, Part, add_options, parse

API_KEY_ENV = "FAAS_API_KEY"

_NET = "listening"
_SILENT = "behaviour where the API docs are silent"
_FAULTS = "fault injection (applies to /v2/faas requests only)"
_STATE = "state"
_LOGS = "logging (stderr)"
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _opt(flag: str, help_text: str, group: str, metavar: str | None = None) -> Opt:
    """An emulator flag in its help section (no environment twin: a ``CommandOptions`` field;
    only the key comes from the environment)."""
    return Opt(flag, help_text, metavar, group=group)


class EmulatorOptions(CommandOptions):
    """Every flag of ``faas-gitops emulator``, declared like the main command's settings."""

    model_config = ConfigDict(title="emulator")

    host: Annotated[str, _opt("--host", "interface to listen on", _NET)] = "127.0.0.1"
    port: Annotated[
        int, Field(ge=0), _opt("--port", "TCP port to listen on (0: any free port)", _NET)
    ] = 8090
    api_key_file: Annotated[
        Path | None,
        _opt(
            "--api-key-file",
            "file holding the API key clients must send in 'Authorization' (one trailing "
            f"newline ignored); else the {API_KEY_ENV} environment variable; else the "
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


#: Every option of ``emulator``, for completion (its own: no settings group of the sync).
PARTS: tuple[Part, ...] = (Part(EmulatorOptions),)


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


__all__ = ["API_KEY_ENV", "EmulatorOptions", "build_parser", "parse_args", "write_fault_of"]

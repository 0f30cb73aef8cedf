"""Command line: flags with env twins, subcommands, exit codes. No sync logic lives here.

Exit codes (documented in the README):
  0  every package is in sync (or planned, with --dry-run)
  1  at least one package failed (the others still synced); daemon: --max-failures reached
  2  usage or configuration error: bad flag or value, repo/ref/path not found, no or invalid
     API key (a 401 stops the run at once)
  130 interrupted (Ctrl-C) during --sync-once
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from faas_gitops import __version__, logs
from faas_gitops.errors import ConfigError, FaasGitopsError, SourceError
from faas_gitops.options import OPTIONS, add_options, resolve
from faas_gitops.settings import (
    ApiSettings,
    GitSettings,
    LimitSettings,
    LogSettings,
    LoopSettings,
    Settings,
    default_state_dir,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SUBCOMMANDS = ("history", "emulator", "demo")

log = structlog.get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops",
        description="Reconcile a git repository of PubNub Functions packages into the FaaS v2 "
        "API. Subcommands: 'history' (the ledger of syncs), 'emulator' (a local FaaS API), "
        "'demo' (a throw-away end-to-end run).",
        epilog="Exit codes: 0 in sync, 1 a package failed, 2 usage/configuration error "
        "(including a rejected API key), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"faas-gitops {__version__}")
    add_options(parser)
    return parser


def build_history_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops history",
        description="Show recorded syncs, newest first, with the API's correlation IDs.",
    )
    parser.add_argument("--package", metavar="PATH|ID", help="only this package path or id")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="rows (default 50)")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="directory of the ledger [env FAAS_GITOPS_STATE_DIR, default the XDG state dir]",
    )
    return parser


def load_api_key(key_file: str | None, env: Mapping[str, str]) -> str:
    """The key from ``--api-key-file``/``FAAS_API_KEY_FILE``, else ``FAAS_API_KEY``."""
    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise ConfigError(f"--api-key-file {key_file}: {reason}") from None
        if not key:
            raise ConfigError(f"--api-key-file {key_file}: the file is empty")
        return key
    key = env.get("FAAS_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "no API key: set FAAS_API_KEY or pass --api-key-file FILE "
            "(a Service Integration key from the Admin Portal)"
        )
    return key


def build_settings(values: dict[str, Any], env: Mapping[str, str]) -> Settings:
    key = load_api_key(values["api_key_file"], env)
    logs.register_secret(key)
    try:
        return Settings(
            git=GitSettings(repo=values["repo"], ref=values["ref"], path=values["path"]),
            api=ApiSettings(
                url=values["api_url"],
                version=values["api_version"],
                key=key,
                ca_bundle=values["ca_bundle"],
                concurrency=values["concurrency"],
                max_rps=values["max_rps"],
                timeout=values["timeout"],
            ),
            limits=LimitSettings(
                max_manifest_bytes=values["max_manifest_bytes"],
                max_code_bytes=values["max_code_bytes"],
                max_packages=values["max_packages"],
                max_total_bytes=values["max_total_bytes"],
            ),
            log=LogSettings(format=values["log_format"], level=values["log_level"]),
            loop=LoopSettings(
                listen=values["listen"],
                interval=values["interval"],
                resync_interval=values["resync_interval"],
                unready_after=values["unready_after"],
                max_failures=values["max_failures"],
                shutdown_timeout=values["shutdown_timeout"],
                webhook_secret_file=values["webhook_secret_file"],
            ),
            state_dir=Path(values["state_dir"]) if values["state_dir"] else default_state_dir(),
            dry_run=bool(values["dry_run"]),
            create_packages=bool(values["create_packages"]),
            full_sync=bool(values["full_sync"]),
            output=values["output"],
        )
    except ValidationError as exc:
        raise ConfigError(_validation_line(exc)) from None


def _validation_line(exc: ValidationError) -> str:
    """Turn pydantic's report into one line that names the flag a person typed."""
    first = exc.errors()[0]
    field = str(first["loc"][-1]) if first["loc"] else "value"
    flags = {option.dest: option.flag for option in OPTIONS}
    aliases = {
        "url": "api_url",
        "version": "api_version",
        "format": "log_format",
        "level": "log_level",
    }
    flag = flags.get(aliases.get(field, field), field)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{flag}: {message} (got {first.get('input')!r})"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return _subcommand(args[0], args[1:])
    namespace = build_parser().parse_args(args)
    env = os.environ
    try:
        values = resolve(namespace, env)
        logs.configure(values["log_level"], values["log_format"])
        settings = build_settings(values, env)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if settings.loop.webhook_secret_file is not None:
        try:
            logs.register_secret(settings.loop.webhook_secret_file.read_text().strip())
        except OSError as exc:
            return _fail(f"--webhook-secret-file {exc.filename}: {exc.strerror}", EXIT_USAGE)
    try:
        if values["sync_once"]:
            return asyncio.run(_sync_once(settings))
        from faas_gitops.daemon import run_daemon  # noqa: PLC0415 - only the daemon needs it

        return run_daemon(settings)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


async def _sync_once(settings: Settings) -> int:
    from faas_gitops.reconcile.run import sync_once  # noqa: PLC0415
    from faas_gitops.remote import local_checkout  # noqa: PLC0415 - keeps --help fast
    from faas_gitops.report import render  # noqa: PLC0415

    try:
        repo = await asyncio.to_thread(local_checkout, settings)
        result = await sync_once(settings, repo=repo)
    except (ConfigError, SourceError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except FaasGitopsError as exc:
        return _fail(str(exc), EXIT_FAILED)
    sys.stdout.write(render(result, settings.output, show_diff=settings.dry_run))
    sys.stdout.flush()
    if result.fatal_error is not None:
        return _fail(result.fatal_error, EXIT_USAGE)
    return EXIT_OK if result.ok else EXIT_FAILED


def _subcommand(name: str, args: list[str]) -> int:
    if name == "emulator":
        from faas_gitops.emulator.cli import main as emulator_main  # noqa: PLC0415

        return emulator_main(args)
    if name == "demo":
        from faas_gitops.demo import main as demo_main  # noqa: PLC0415

        return demo_main(args)
    return _history(args)


def _history(args: list[str]) -> int:
    from faas_gitops.report import render_history  # noqa: PLC0415
    from faas_gitops.state import Ledger  # noqa: PLC0415

    namespace = build_history_parser().parse_args(args)
    logs.configure("warning", "auto")
    state_dir = namespace.state_dir or os.environ.get("FAAS_GITOPS_STATE_DIR")
    directory = Path(state_dir) if state_dir else default_state_dir()
    if namespace.limit < 1:
        return _fail("--limit: must be 1 or more", EXIT_USAGE)
    if not (directory / "ledger.sqlite3").exists():
        return _fail(
            f"--state-dir {directory}: no ledger here yet; run a sync first or point "
            "--state-dir at the directory the sync used",
            EXIT_USAGE,
        )
    try:
        with Ledger(directory) as ledger:
            entries = ledger.history(package=namespace.package, limit=namespace.limit)
    except FaasGitopsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    sys.stdout.write(render_history(entries, namespace.output))
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"faas-gitops: error: {logs.redact(message)}\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line: flags with env twins, subcommands, exit codes. No sync logic lives here.

Exit codes (documented in docs/reference/exit-codes.md):
  0  every package is in sync (or planned, with --dry-run)
  1  at least one package failed (the others still synced); daemon: --max-failures reached
  2  usage or configuration error: bad flag or value, repo/ref/path not found, no or invalid
     API key (a 401 stops the run at once), unusable --trusted-keys, a commit or tag that
     --verify-signatures refuses (nothing is written)
  130 interrupted (Ctrl-C) during --sync-once

Every flag comes from the fields of ``settings.Settings`` (see ``options``); a command takes
the groups it uses (``settings.GROUPS``): the main command all of them, ``promote`` and
``rollback`` theirs (``settings_part`` and ``load_settings`` with their groups). This module only
adds the API key, which by design has no flag. Start-up matters (``--help``, completion, CI):
nothing here imports asyncio, structlog or httpx before a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import faas_gitops
from faas_gitops.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, fail
from faas_gitops.cli.subcommands import SUBCOMMANDS, run_subcommand
from faas_gitops.errors import ConfigError, FaasGitopsError, SourceError
from faas_gitops.options import Part, add_parts, given_secrets, resolve, validate
from faas_gitops.secret_files import read_secret_file
from faas_gitops.settings import SYNC_GROUPS, Settings, group_fields

if TYPE_CHECKING:
    from faas_gitops.models import CommitInfo
    from faas_gitops.notify import Notifier

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PARTS",
    "SUBCOMMANDS",
    "build_parser",
    "load_api_key",
    "load_settings",
    "main",
    "settings_part",
]


def settings_part(groups: Iterable[str]) -> Part:
    """The options of ``Settings`` in ``groups`` (names of ``settings.GROUPS``)."""
    return Part(Settings, group_fields(groups))


#: The main command's options: every group of the sync and the daemon.
PARTS: tuple[Part, ...] = (settings_part(SYNC_GROUPS),)


class _Version(argparse.Action):
    """``--version``, looking the version up only when asked (see ``faas_gitops``)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"faas-gitops {faas_gitops.__version__}")  # a result: stdout, as argparse does
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops",
        description="Reconcile a git repository of PubNub Functions packages into the FaaS v2 "
        "API. Subcommands: 'status' (what runs where), 'history' (the ledger of syncs), "
        "'promote' (run on one environment what runs on another), 'rollback' (put an earlier "
        "revision back and hold it), 'emulator' (a local FaaS API), 'demo' (a throw-away "
        "end-to-end run), 'completion bash|zsh' (a shell completion script).",
        epilog="Exit codes: 0 in sync, 1 a package failed, 2 usage/configuration error "
        "(including a rejected API key), 130 interrupted.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    add_parts(parser, PARTS)
    return parser


def load_api_key(key_file: Path | None, env: Mapping[str, str]) -> str:
    """The key from ``--api-key-file``/``FAAS_API_KEY_FILE``, else ``FAAS_API_KEY``.

    Registered for redaction; ``ConfigError`` (one line) when there is none or the file is bad.
    """
    if key_file:
        return read_secret_file(key_file, "--api-key-file")
    key = env.get("FAAS_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "no API key: set FAAS_API_KEY or pass --api-key-file FILE "
            "(a Service Integration key from the Admin Portal)"
        )
    from faas_gitops import logs  # noqa: PLC0415 - structlog only once a command runs

    logs.register_secret(key)
    return key


def load_settings(
    namespace: argparse.Namespace, env: Mapping[str, str], groups: Iterable[str] = SYNC_GROUPS
) -> Settings:
    """Flags and env twins of ``groups`` into ``Settings`` (other groups keep their defaults,
    their variables ignored); every secret they name is read once and registered for redaction.
    """
    data, sources = resolve(Settings, namespace, env, group_fields(groups))
    api = data.setdefault("api", {})
    api["key"] = load_api_key(api.get("key_file"), env)
    settings = validate(Settings, data, sources)
    from faas_gitops import logs  # noqa: PLC0415

    for flag, value, is_file in given_secrets(settings):
        if is_file:
            read_secret_file(value, flag)  # a bad file is exit 2 before any work
        else:
            logs.register_secret(str(value))
    if settings.verify.mode != "off":  # unusable trusted keys: exit 2 before any git or API work
        from faas_gitops.source.verify import verifier_for  # noqa: PLC0415 - git code, only then

        verifier_for(settings.verify)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return run_subcommand(args[0], args[1:])
    namespace = build_parser().parse_args(args)
    try:
        settings = load_settings(namespace, os.environ)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    import asyncio  # noqa: PLC0415 - not for --help

    from faas_gitops import logs  # noqa: PLC0415

    logs.configure(
        settings.log.level, settings.log.format, quiet=settings.quiet, verbose=settings.verbose
    )
    try:
        if settings.sync_once:
            return asyncio.run(_sync_once(settings))
        from faas_gitops.daemon import run_daemon  # noqa: PLC0415 - only the daemon needs it

        return run_daemon(settings)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)


async def _sync_once(settings: Settings) -> int:
    from faas_gitops.reconcile.notifying import DRAIN_SECONDS, notifier_for  # noqa: PLC0415

    try:
        notifier = notifier_for(settings)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        return await _sync_and_report(settings, notifier)
    finally:
        if notifier is not None:  # bounded: a dead receiver never holds up CI for long
            await notifier.drain(DRAIN_SECONDS)
            await notifier.aclose()


async def _sync_and_report(settings: Settings, notifier: Notifier | None) -> int:
    from faas_gitops import logs  # noqa: PLC0415
    from faas_gitops.cli.progress import Progress  # noqa: PLC0415
    from faas_gitops.errors import RUN_STOPPERS  # noqa: PLC0415
    from faas_gitops.reconcile.notifying import announcer  # noqa: PLC0415
    from faas_gitops.reconcile.run import sync_once  # noqa: PLC0415 - keeps --help fast
    from faas_gitops.report import render  # noqa: PLC0415

    resolved: list[CommitInfo] = []  # the commit the pipeline resolved, for a failure's status

    async def on_resolved(commit: CommitInfo) -> None:
        resolved.append(commit)
        if notifier is not None:
            await announcer(notifier, settings)(commit)

    # On stderr only: stdout carries nothing but the result, whatever the terminal.
    progress = Progress(sys.stderr, enabled=not settings.quiet, plain=settings.progress)
    try:
        result = await sync_once(
            settings,
            on_resolved=on_resolved if notifier is not None else None,
            on_start=progress.start if progress.active else None,
            on_package=(lambda outcome: progress.advance(outcome.path))
            if progress.active
            else None,
        )
    except FaasGitopsError as exc:
        if notifier is not None:
            # Stopped before the ref resolved: it is known only as it was given.
            sha, ref = (resolved[0].sha, resolved[0].ref) if resolved else ("", settings.git.ref)
            await notifier.sync_failed(sha, ref or "HEAD", logs.redact(str(exc)))
        # Stopped before any package was synced: one line, no misleading summary.
        stopped = isinstance(exc, (ConfigError, SourceError, *RUN_STOPPERS))
        return fail(str(exc), EXIT_USAGE if stopped else EXIT_FAILED)
    finally:
        progress.finish()
    if notifier is not None:
        await notifier.sync_finished(result)
    sys.stdout.write(
        render(result, settings.output, show_diff=settings.dry_run, commit_url=settings.commit_url)
    )
    sys.stdout.flush()
    if result.fatal_error is not None:
        return fail(result.fatal_error, EXIT_USAGE)
    return EXIT_OK if result.ok else EXIT_FAILED

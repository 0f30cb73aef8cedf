"""The ``faas-gitops`` program: a plain ``--help`` is answered before anything heavy loads.

``faas-gitops --help`` and ``faas-gitops promote --help`` are what a newcomer runs first and what
shell tooling runs often; they print from the record in ``help_pages.json`` (see ``helpspec``) in
well under 0.2 s. Everything else, including a ``--help`` among other arguments, goes to
``faas_gitops.cli.main``, which parses with the real parser.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_HELP = ("-h", "--help")


def help_command(args: Sequence[str]) -> str | None:
    """The command whose recorded help answers ``args``, or ``None`` when the real CLI must."""
    if len(args) == 1 and args[0] in _HELP:
        return ""
    if len(args) == 2 and args[1] in _HELP and not args[0].startswith("-"):
        return args[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = help_command(args)
    if command is not None:
        from faas_gitops.helpspec import load, rebuild  # noqa: PLC0415

        page = load().get(command)
        if page is not None:
            rebuild(page).print_help()
            return 0
    from faas_gitops import process  # noqa: PLC0415

    process.start()  # before the CLI's imports: they are most of a start-up's allocations
    from faas_gitops.cli import main as cli_main  # noqa: PLC0415 - the whole CLI, parsers and all

    return process.finish(cli_main(args))

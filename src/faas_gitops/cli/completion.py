"""``faas-gitops completion bash|zsh``: a completion script generated from the option models.

Built from the same fields as ``--help`` and the flag reference, so a new flag completes as
soon as it is declared. Values: choices for choice options, file names for FILE/DIR/PATH options.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from faas_gitops.cli.common import EXIT_OK, EXIT_USAGE, fail
from faas_gitops.cli.subcommands import SUBCOMMANDS
from faas_gitops.options import Option, Part, options

SHELLS = ("bash", "zsh")
_PATHS = ("FILE", "DIR", "PATH")


def command_parts() -> dict[str, tuple[Part, ...]]:
    """Main command under ``""``; each subcommand with the options its parser takes (the same
    ``PARTS`` its parser is built from, so completion offers no flag the command refuses)."""
    from faas_gitops.cli import PARTS  # noqa: PLC0415 - only for completion
    from faas_gitops.cli.demo import PARTS as DEMO  # noqa: PLC0415
    from faas_gitops.cli.history import PARTS as HISTORY  # noqa: PLC0415
    from faas_gitops.cli.promote import PARTS as PROMOTE  # noqa: PLC0415
    from faas_gitops.cli.rollback import PARTS as ROLLBACK  # noqa: PLC0415
    from faas_gitops.cli.status import PARTS as STATUS  # noqa: PLC0415
    from faas_gitops.emulator.flags import PARTS as EMULATOR  # noqa: PLC0415

    parts: dict[str, tuple[Part, ...]] = {
        "": PARTS,
        "history": HISTORY,
        "emulator": EMULATOR,
        "demo": DEMO,
        "status": STATUS,
        "promote": PROMOTE,
        "rollback": ROLLBACK,
    }
    return parts


def _commands() -> dict[str, tuple[Option, ...]]:
    return {
        name: tuple(option for part in each for option in part.options())
        for name, each in command_parts().items()
    }


def shared_flags_table() -> str:
    """The flag reference's table of which flags of the main table each subcommand takes.

    A flag counts when the subcommand takes the very declaration of ``Settings`` (a group, or
    ``--state-dir`` and the API flags that ``status`` and ``history`` compose in). Identity,
    not equality, and mind ``typing``'s cache: ``Annotated[T, Opt(...)]`` written twice with
    equal arguments is one object, so a subcommand's own flag must differ from the main one's
    in something (its help says what it does there).
    """
    from faas_gitops.settings import Settings  # noqa: PLC0415

    shared = {id(option.spec) for option in options(Settings)}
    lines = ["| subcommand | flags of the table it takes |", "|---|---|"]
    for name, opts in _commands().items():
        if not name:
            continue
        flags = [f"`{o.flag}`" for o in opts if id(o.spec) in shared]
        lines.append(f"| `{name}` | {' '.join(flags) or 'none'} |")
    return "\n".join(lines) + "\n"


def _takes_path(option: Option) -> bool:
    metavar = option.spec.metavar or ""
    return any(word in metavar for word in _PATHS)


def _flags(opts: Sequence[Option], extra: Sequence[str] = ()) -> str:
    return " ".join([*(option.flag for option in opts), "--help", *extra])


def bash_script() -> str:
    commands = _commands()
    names = " ".join(SUBCOMMANDS)
    flag_cases: list[str] = []
    value_cases: list[str] = []
    for command, opts in commands.items():
        extra = ("--version",) if command == "" else ()
        flag_cases.append(f'        "{command}") opts="{_flags(opts, extra)}" ;;')
        for option in opts:
            if option.choices:
                words = " ".join(option.choices)
                reply = f'COMPREPLY=($(compgen -W "{words}" -- "$cur"))'
            elif _takes_path(option):
                reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
            elif option.takes_value:
                reply = "COMPREPLY=()"
            else:
                continue
            value_cases.append(f'        "{command}:{option.flag}") {reply}; return 0 ;;')
    shells = " ".join(SHELLS)
    return "\n".join(
        [
            "# bash completion for faas-gitops (generated: faas-gitops completion bash)",
            "_faas_gitops() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '    local sub="" opts=""',
            "    if [[ ${COMP_CWORD} -gt 1 ]]; then",
            '        case "${COMP_WORDS[1]}" in',
            f'            {"|".join(SUBCOMMANDS)}) sub="${{COMP_WORDS[1]}}" ;;',
            "        esac",
            "    fi",
            '    if [[ "$sub" == completion ]]; then',
            f'        COMPREPLY=($(compgen -W "{shells}" -- "$cur")); return 0',
            "    fi",
            '    case "$sub:$prev" in',
            *value_cases,
            "    esac",
            '    if [[ ${COMP_CWORD} -eq 1 && "$cur" != -* ]]; then',
            f'        COMPREPLY=($(compgen -W "{names}" -- "$cur")); return 0',
            "    fi",
            '    case "$sub" in',
            *flag_cases,
            "    esac",
            '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            "}",
            "complete -F _faas_gitops faas-gitops",
            "",
        ]
    )


def _zsh_quote(text: str) -> str:
    """One ``_arguments`` spec inside single quotes: brackets and colons escaped."""
    for char in ("\\", "[", "]", ":"):
        text = text.replace(char, "\\" + char)
    return text.replace("'", "'\\''")


def _zsh_spec(option: Option) -> str:
    described = _zsh_quote(option.spec.help.split(";")[0])
    repeat = "*" if option.kind == "list" else ""
    spec = f"{repeat}{option.flag}[{described}]"
    if option.choices:
        spec += f":{option.dest}:({' '.join(option.choices)})"
    elif _takes_path(option):
        spec += f":{option.dest}:_files"
    elif option.takes_value:
        spec += f":{_zsh_quote(option.spec.metavar or option.dest)}: "
    return f"'{spec}'"


def zsh_script() -> str:
    commands = _commands()
    cases: list[str] = []
    for command, opts in commands.items():
        if command:
            specs = " ".join(_zsh_spec(option) for option in opts)
            cases.append(f"    {command}) _arguments {specs} ;;")
    main_specs = " \\\n    ".join(_zsh_spec(option) for option in commands[""])
    names = " ".join(SUBCOMMANDS)
    return "\n".join(
        [
            "#compdef faas-gitops",
            "# zsh completion for faas-gitops (generated: faas-gitops completion zsh)",
            "_faas_gitops() {",
            "  if (( CURRENT > 2 )); then",
            "    case ${words[2]} in",
            *cases,
            f"    completion) _arguments '1:shell:({' '.join(SHELLS)})' ;;",
            "    esac",
            "    case ${words[2]} in",
            f"    {'|'.join(SUBCOMMANDS)}) return ;;",
            "    esac",
            "  fi",
            "  _arguments '--version[print the version]' \\",
            f"    {main_specs} \\",
            f"    '1:subcommand:({names})'",
            "}",
            '_faas_gitops "$@"',
            "",
        ]
    )


def main(args: list[str]) -> int:
    if len(args) != 1 or args[0] not in SHELLS:
        if args and args[0] in ("-h", "--help"):
            sys.stdout.write("usage: faas-gitops completion bash|zsh\n")
            return EXIT_OK
        usage = "usage: faas-gitops completion bash|zsh (the shell to complete for)"
        return fail(usage, EXIT_USAGE)
    sys.stdout.write(bash_script() if args[0] == "bash" else zsh_script())
    return EXIT_OK


__all__ = ["SHELLS", "bash_script", "command_parts", "main", "shared_flags_table", "zsh_script"]

"""``faas-gitops completion``: scripts generated from the option models, driven in a real shell.

Every subcommand, every flag its parser accepts (and none it refuses) and every choice is
checked by running the completion function in bash and in zsh, against the parsers themselves.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from faas_gitops import cli
from faas_gitops.cli import completion, demo, history, promote, rollback, status
from faas_gitops.cli.subcommands import SUBCOMMANDS
from faas_gitops.emulator import flags as emulator_cli

BASH = shutil.which("bash")
ZSH = shutil.which("zsh")

#: The parser of every command that takes flags ("" is the main command).
PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "": cli.build_parser,
    "history": history.build_parser,
    "emulator": emulator_cli.build_parser,
    "demo": demo.build_parser,
    "status": status.build_parser,
    "promote": promote.build_parser,
    "rollback": rollback.build_parser,
}


def parser_flags(command: str) -> set[str]:
    """The long flags ``command``'s parser accepts."""
    actions = PARSERS[command]()._actions
    return {flag for action in actions for flag in action.option_strings if flag.startswith("--")}


def parser_choices(command: str) -> dict[str, list[str]]:
    return {
        action.option_strings[0]: [str(choice) for choice in action.choices]
        for action in PARSERS[command]()._actions
        if action.option_strings and action.choices is not None
    }


def script(shell: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "faas_gitops.cli", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def complete_in_bash(tmp_path: Path, *lines: tuple[str, ...]) -> list[list[str]]:
    """Source the script once and, for each ``words``, call its function as bash would."""
    assert BASH is not None
    source = tmp_path / "faas-gitops.bash"
    source.write_text(script("bash"))
    driver = [f"source {source}", "complete -p faas-gitops"]
    for words in lines:
        quoted = " ".join(f"'{word}'" for word in words)
        driver += [
            f"COMP_WORDS=(faas-gitops {quoted}); COMP_CWORD={len(words)}; COMPREPLY=()",
            "_faas_gitops",
            'echo "@@"; printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    done = subprocess.run(
        [BASH, "--norc", "-c", "\n".join(driver)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    registered, *blocks = done.stdout.split("@@\n")
    assert registered.strip() == "complete -F _faas_gitops faas-gitops"
    return [[reply for reply in block.splitlines() if reply] for block in blocks]


def zsh_specs(*commands: str) -> list[list[str]]:
    """The ``_arguments`` specs the zsh function hands over for each command (zsh evaluates the
    script; ``_arguments`` is stubbed to print what it is given)."""
    assert ZSH is not None
    driver = ['_arguments() { print -rl -- "$@"; }', script("zsh"), 'print -r -- "@@"']
    for command in commands:
        words = f"faas-gitops {command} ''" if command else "faas-gitops ''"
        driver += [
            f"words=({words}); CURRENT={3 if command else 2}",
            "_faas_gitops",
            'print -r -- "@@"',
        ]
    done = subprocess.run(
        [ZSH, "-f", "-c", "\n".join(driver)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    _at_source, *blocks = done.stdout.split("@@\n")
    return [block.splitlines() for block in blocks[: len(commands)]]


bash_only = pytest.mark.skipif(BASH is None, reason="bash is not installed")
zsh_only = pytest.mark.skipif(ZSH is None, reason="zsh is not installed")


@pytest.mark.slow
@bash_only
def test_bash_registers_the_completion_and_completes_a_flag(tmp_path: Path) -> None:
    assert complete_in_bash(tmp_path, ("--out",)) == [["--output"]]


@pytest.mark.slow
@bash_only
def test_bash_offers_every_subcommand(tmp_path: Path) -> None:
    (names,) = complete_in_bash(tmp_path, ("",))
    assert names == list(SUBCOMMANDS)
    assert complete_in_bash(tmp_path, ("completion", "")) == [["bash", "zsh"]]


@pytest.mark.slow
@bash_only
def test_bash_offers_exactly_the_flags_each_parser_accepts(tmp_path: Path) -> None:
    commands = list(PARSERS)
    replies = complete_in_bash(tmp_path, *[(c, "--") if c else ("--",) for c in commands])
    for command, offered in zip(commands, replies, strict=True):
        assert set(offered) == parser_flags(command), command or "main"
    promote_flags = replies[commands.index("promote")]
    assert "--deploy-timeout" in promote_flags
    assert "--prune" not in promote_flags


@pytest.mark.slow
@bash_only
def test_bash_offers_every_choice_of_every_choice_flag(tmp_path: Path) -> None:
    cases = [(c, flag, choices) for c in PARSERS for flag, choices in parser_choices(c).items()]
    assert len(cases) > 10
    replies = complete_in_bash(
        tmp_path, *[(c, flag, "") if c else (flag, "") for c, flag, _ in cases]
    )
    for (command, flag, choices), offered in zip(cases, replies, strict=True):
        assert offered == choices, f"{command} {flag}"


@pytest.mark.slow
@bash_only
def test_bash_completes_file_names_for_file_options(tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text("k\n")
    prefix = str(tmp_path / "api-")
    replies = complete_in_bash(
        tmp_path, ("--api-key-file", prefix), ("status", "--state-dir", prefix)
    )
    assert replies == [[str(tmp_path / "api-key")]] * 2


@pytest.mark.slow
@zsh_only
def test_the_zsh_script_is_valid_zsh() -> None:
    assert ZSH is not None
    done = subprocess.run(
        [ZSH, "-n"], input=script("zsh"), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@zsh_only
def test_zsh_offers_exactly_the_flags_and_choices_each_parser_accepts() -> None:
    commands = list(PARSERS)
    for command, specs in zip(commands, zsh_specs(*commands), strict=True):
        flags = {}
        for spec in specs:
            match = re.match(r"^\*?(--[a-z0-9-]+)\[.*?\](?::[^:]*:\((.*)\))?", spec)
            if match:
                flags[match.group(1)] = match.group(2).split() if match.group(2) else None
        expected = parser_flags(command) - {"--help"} - ({"--version"} if command else set())
        assert set(flags) - {"--version"} == expected - {"--version"}, command or "main"
        for flag, choices in parser_choices(command).items():
            assert flags[flag] == choices, f"{command} {flag}"
    main_specs = zsh_specs("")[0]
    assert "1:subcommand:(history emulator demo completion status promote rollback)" in main_specs
    assert any(spec.startswith("*--environment[") for spec in main_specs)  # repeatable


def test_every_subcommand_that_takes_flags_is_completed() -> None:
    assert set(completion.command_parts()) == set(PARSERS)
    assert set(SUBCOMMANDS) - set(PARSERS) == {"completion"}


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert completion.main(["fish"]) == 2
    assert "completion bash|zsh" in capsys.readouterr().err

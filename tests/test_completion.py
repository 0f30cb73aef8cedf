"""``faas-gitops completion``: scripts generated from the option models, driven in a real shell."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops.cli import completion

BASH = shutil.which("bash")


def script(shell: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "faas_gitops.cli", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def complete_in_bash(tmp_path: Path, *words: str) -> tuple[str, list[str]]:
    """Source the script, call its function as bash would for ``words``, return the replies."""
    assert BASH is not None
    source = tmp_path / "faas-gitops.bash"
    source.write_text(script("bash"))
    quoted = " ".join(f"'{word}'" for word in words)
    driver = (
        f"source {source}\n"
        "complete -p faas-gitops\n"
        f"COMP_WORDS=(faas-gitops {quoted}); COMP_CWORD={len(words)}\n"
        "_faas_gitops\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        [BASH, "--norc", "-c", driver], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    registered, *replies = done.stdout.splitlines()
    return registered, [reply for reply in replies if reply]


pytestmark = pytest.mark.skipif(BASH is None, reason="bash is not installed")


def test_bash_registers_the_completion_and_completes_a_flag(tmp_path: Path) -> None:
    registered, replies = complete_in_bash(tmp_path, "--out")
    assert registered == "complete -F _faas_gitops faas-gitops"
    assert replies == ["--output"]


def test_bash_offers_the_choices_of_a_choice_option(tmp_path: Path) -> None:
    assert complete_in_bash(tmp_path, "--log-format", "")[1] == ["auto", "json", "console"]
    assert complete_in_bash(tmp_path, "history", "--output", "")[1] == ["text", "json", "markdown"]


def test_bash_offers_every_subcommand_and_their_own_flags(tmp_path: Path) -> None:
    names = complete_in_bash(tmp_path, "")[1]
    assert names == ["history", "emulator", "demo", "completion", "status", "promote", "rollback"]
    assert "--release" in complete_in_bash(tmp_path, "rollback", "--rel")[1]
    assert complete_in_bash(tmp_path, "emulator", "--fault-4")[1] == ["--fault-429"]
    assert complete_in_bash(tmp_path, "completion", "")[1] == ["bash", "zsh"]


def test_bash_completes_new_options_as_soon_as_they_are_declared(tmp_path: Path) -> None:
    assert complete_in_bash(tmp_path, "--notify-")[1] == [
        "--notify-webhook",
        "--notify-secret-file",
        "--notify-slack",
    ]


def test_the_zsh_script_declares_flags_with_their_help_and_choices() -> None:
    text = script("zsh")
    assert text.startswith("#compdef faas-gitops\n")
    assert "'--output[result format on stdout]:output:(text json markdown)'" in text
    assert "'*--environment[" in text  # repeatable
    assert "'1:subcommand:(history emulator demo completion status promote rollback)'" in text


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_is_valid_zsh() -> None:
    zsh = shutil.which("zsh")
    assert zsh is not None
    done = subprocess.run(
        [zsh, "-n"], input=script("zsh"), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert completion.main(["fish"]) == 2
    assert "completion bash|zsh" in capsys.readouterr().err

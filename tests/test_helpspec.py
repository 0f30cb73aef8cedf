"""``--help`` from the record: the same text as the real parsers, without loading pydantic."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from faas_gitops.entry import help_command, main
from faas_gitops.helpspec import COMMANDS, load, rebuild, recorded_pages

PAGES = load()

STALE = "the help record is stale: run `python -m faas_gitops.helpspec` and commit help_pages.json"


def test_the_record_is_what_the_parsers_say_today() -> None:
    assert recorded_pages() == PAGES, STALE


@pytest.mark.parametrize("columns", ["50", "80", "160"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_recorded_help_prints_as_the_real_parser_at_any_width(
    command: str, columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    real = importlib.import_module(COMMANDS[command]).build_parser().format_help()
    assert rebuild(PAGES[command]).format_help() == real


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["--help"], ""),
        (["-h"], ""),
        (["promote", "--help"], "promote"),
        (["status", "-h"], "status"),
        (["--sync-once", "--help"], None),  # anything more: the real parser answers
        (["promote", "--from", "a", "--help"], None),
        ([], None),
    ],
)
def test_only_a_plain_help_is_answered_from_the_record(
    args: list[str], command: str | None
) -> None:
    assert help_command(args) == command


def test_the_program_prints_the_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--commit-url TEMPLATE" in capsys.readouterr().out


def test_a_command_without_a_record_goes_to_the_real_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["completion", "--help"]) == 0
    assert "bash" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--help"], ["promote", "--help"]])
def test_help_loads_neither_pydantic_nor_httpx(args: list[str]) -> None:
    probe = (
        "import sys\nfrom faas_gitops.entry import main\n"
        f"main({args!r})\n"
        "print(sorted(m for m in ('pydantic', 'httpx', 'structlog') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"

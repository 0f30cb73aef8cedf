"""The README is part of the product: its flag table is the one the settings model generates."""

from __future__ import annotations

from faas_gitops.cli import build_parser
from faas_gitops.cli.completion import command_parts, shared_flags_table
from faas_gitops.emulator.flags import EmulatorOptions
from faas_gitops.options import flag_table, options
from faas_gitops.settings import Settings
from tests.harness import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TABLE_HEAD = "| flag | environment | default | what it does |\n"


def readme_flag_table() -> str:
    start = README.index(TABLE_HEAD)
    return README[start : README.index("\n\n", start) + 1]


def test_the_readme_flag_table_is_the_generated_one() -> None:
    generated = flag_table(Settings)
    assert readme_flag_table() == generated, "paste this table into the README:\n" + generated


def test_every_flag_of_the_parser_is_in_the_table_and_no_other() -> None:
    parser_flags = {s for action in build_parser()._actions for s in action.option_strings}
    table_flags = {line.split("`")[1] for line in readme_flag_table().splitlines()[2:]}
    assert table_flags == parser_flags - {"-h", "--help", "--version"}


def test_every_flag_has_its_environment_twin_in_the_table() -> None:
    for option in options(Settings):
        assert f"| `{option.flag}` | `{option.env_name}` |" in README, option.flag


SUBCOMMAND_HEAD = "| subcommand | flags of the table it takes |\n"


def test_the_readme_says_which_flags_each_subcommand_takes_as_generated() -> None:
    start = README.index(SUBCOMMAND_HEAD)
    documented = README[start : README.index("\n\n", start) + 1]
    generated = shared_flags_table()
    assert documented == generated, "paste this table into the README:\n" + generated
    for name in command_parts():
        assert not name or f"| `{name}` |" in documented, name


def test_every_emulator_flag_is_documented_in_its_section() -> None:
    section = README.split("## The emulator", 1)[1].split("\n## ", 1)[0]
    for option in options(EmulatorOptions):
        assert f"`{option.flag}" in section, option.flag


def test_the_first_commands_are_the_demo_and_the_test_suite() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "scripts/demo" in first_block
    assert "faas-gitops demo" in first_block
    assert "scripts/test" in first_block

"""The docs are part of the product: the flag reference (docs/reference/flags.md) is the table the
settings model generates, the emulator reference names every emulator flag, and the README opens
with the two commands."""

from __future__ import annotations

from faas_gitops.cli import build_parser
from faas_gitops.cli.completion import command_parts, shared_flags_table
from faas_gitops.emulator.flags import EmulatorOptions
from faas_gitops.options import flag_table, options
from faas_gitops.settings import Settings
from tests.harness import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
FLAGS = (ROOT / "docs" / "reference" / "flags.md").read_text(encoding="utf-8")
EMULATOR = (ROOT / "docs" / "reference" / "emulator.md").read_text(encoding="utf-8")
TABLE_HEAD = "| flag | environment | default | what it does |\n"


def table_at(start: int) -> str:
    """The markdown table of the flag reference that starts at ``start``, up to its blank line."""
    end = (FLAGS + "\n").index("\n\n", start)
    return FLAGS[start : end + 1]


def flag_reference_table() -> str:
    start = FLAGS.index(TABLE_HEAD)
    return table_at(start)


def test_the_flag_reference_table_is_the_generated_one() -> None:
    generated = flag_table(Settings)
    assert flag_reference_table() == generated, (
        "paste this table into docs/reference/flags.md:\n" + generated
    )


def test_every_flag_of_the_parser_is_in_the_table_and_no_other() -> None:
    parser_flags = {s for action in build_parser()._actions for s in action.option_strings}
    table_flags = {line.split("`")[1] for line in flag_reference_table().splitlines()[2:]}
    assert table_flags == parser_flags - {"-h", "--help", "--version"}


def test_every_flag_has_its_environment_twin_in_the_table() -> None:
    for option in options(Settings):
        assert f"| `{option.flag}` | `{option.env_name}` |" in FLAGS, option.flag


SUBCOMMAND_HEAD = "| subcommand | flags of the table it takes |\n"


def test_the_flag_reference_says_which_flags_each_subcommand_takes_as_generated() -> None:
    start = FLAGS.index(SUBCOMMAND_HEAD)
    documented = table_at(start)
    generated = shared_flags_table()
    assert documented == generated, "paste this table into docs/reference/flags.md:\n" + generated
    for name in command_parts():
        assert not name or f"| `{name}` |" in documented, name


def test_every_emulator_flag_is_documented_in_its_reference() -> None:
    for option in options(EmulatorOptions):
        assert f"`{option.flag}" in EMULATOR, option.flag


def test_the_first_commands_are_the_demo_and_the_test_suite() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "scripts/demo" in first_block
    assert "faas-gitops demo" in first_block
    assert "scripts/test" in first_block

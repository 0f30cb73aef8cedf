"""The README is part of the product: its flag table must match the CLI, flag for flag."""

from __future__ import annotations

from pathlib import Path

from faas_gitops.cli import build_parser
from faas_gitops.options import OPTIONS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_flag_and_its_environment_twin_is_documented() -> None:
    for option in OPTIONS:
        assert f"| `{option.flag}` | `{option.env_name}` |" in README, option.flag


def test_the_readme_documents_no_flag_the_cli_lacks() -> None:
    known = {s for action in build_parser()._actions for s in action.option_strings}
    rows = [line for line in README.splitlines() if line.startswith("| `--")]
    flag_table = [line for line in rows if line.split("|")[2].strip().startswith("`FAAS_")]
    documented = {line.split("`")[1] for line in flag_table}
    assert len(documented) == len(OPTIONS)
    assert documented <= known


def test_the_first_commands_are_the_demo_and_the_test_suite() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "scripts/demo" in first_block
    assert "faas-gitops demo" in first_block
    assert "scripts/test" in first_block

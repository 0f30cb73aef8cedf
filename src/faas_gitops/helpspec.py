"""``--help`` without pydantic: each command's parser, recorded once as plain data.

Every flag is declared once, on the settings models, and the parsers are built from them; but
building them means importing pydantic (~0.13 s here), which made ``faas-gitops --help`` miss
its 0.2 s budget. So the parsers' help-relevant shape (groups, flags, metavars, choices, help
text) is recorded into ``help_pages.json`` and ``entry`` rebuilds an argparse parser from it for a
plain ``--help``: argparse formats it, so it wraps to the terminal exactly as the real parser's
help does. ``tests/test_helpspec.py`` asserts the two print the same text for every command, so
the record cannot drift: ``python -m faas_gitops.helpspec`` rewrites it after a flag changes.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

#: The record, beside this module (package data: a wheel carries it).
RECORD = Path(__file__).with_name("help_pages.json")

#: The commands whose ``--help`` is answered from the record: name -> module with
#: ``build_parser()`` (``""`` is the main command).
COMMANDS: dict[str, str] = {
    "": "faas_gitops.cli",
    "status": "faas_gitops.cli.status",
    "history": "faas_gitops.cli.history",
    "promote": "faas_gitops.cli.promote",
    "rollback": "faas_gitops.cli.rollback",
    "demo": "faas_gitops.cli.demo",
}

Page = dict[str, Any]


def record(parser: argparse.ArgumentParser) -> Page:
    """What ``format_help`` reads of ``parser``, as literals (no callables, no defaults)."""
    groups = []
    for group in parser._action_groups:
        actions = [
            {
                "flags": list(action.option_strings),
                "dest": action.dest,
                "takes_value": action.nargs != 0,
                "nargs": action.nargs if action.nargs not in (0, None) else None,
                "metavar": action.metavar,
                "choices": list(action.choices) if action.choices is not None else None,
                "help": action.help,
                "required": action.required,
            }
            for action in group._group_actions
            if not isinstance(action, argparse._HelpAction)
        ]
        groups.append({"title": group.title, "description": group.description, "actions": actions})
    return {
        "prog": parser.prog,
        "description": parser.description,
        "epilog": parser.epilog,
        "groups": groups,
    }


def rebuild(page: Page) -> argparse.ArgumentParser:
    """A parser that prints the recorded help (and parses nothing else usefully)."""
    parser = argparse.ArgumentParser(
        prog=page["prog"], description=page["description"], epilog=page["epilog"]
    )
    existing = {group.title: group for group in parser._action_groups}
    for spec in page["groups"]:
        group = existing.get(spec["title"]) or parser.add_argument_group(
            spec["title"], spec["description"]
        )
        for action in spec["actions"]:
            kwargs: dict[str, Any] = {"help": action["help"]}
            if action["takes_value"]:
                kwargs.update(metavar=action["metavar"], choices=action["choices"])
                if action["nargs"] is not None:
                    kwargs["nargs"] = action["nargs"]
            else:
                kwargs["action"] = "store_true"
            if action["flags"]:
                kwargs.update(dest=action["dest"], required=action["required"])
                group.add_argument(*action["flags"], **kwargs)
            else:
                group.add_argument(action["dest"], **kwargs)
    return parser


def recorded_pages() -> dict[str, Page]:
    """Every command's page, recorded from the real parsers (imports them all: slow)."""
    return {
        name: record(importlib.import_module(module).build_parser())
        for name, module in COMMANDS.items()
    }


def load(path: Path = RECORD) -> dict[str, Page]:
    pages: dict[str, Page] = json.loads(path.read_text(encoding="utf-8"))
    return pages


def write(path: Path = RECORD) -> None:
    path.write_text(json.dumps(recorded_pages(), indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    write()

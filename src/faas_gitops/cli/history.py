"""``faas-gitops history``: the recorded syncs, newest first, with the API's correlation IDs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from faas_gitops import logs
from faas_gitops.cli.common import EXIT_OK, EXIT_USAGE, fail
from faas_gitops.errors import ConfigError, FaasGitopsError
from faas_gitops.options import Opt, add_options, parse
from faas_gitops.settings import default_state_dir


class HistoryOptions(BaseModel):
    """Only ``--state-dir`` has an env twin: it must match the one the sync used."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="history")

    package: Annotated[
        str | None, Opt("--package", "only this package path or id", "PATH|ID", twin=False)
    ] = None
    limit: Annotated[int, Opt("--limit", "rows", "N", twin=False)] = 50
    output: Annotated[Literal["text", "json"], Opt("--output", "result format", twin=False)] = (
        "text"
    )
    state_dir: Annotated[
        Path,
        Field(default_factory=default_state_dir),
        Opt(
            "--state-dir",
            "directory of the ledger (default: the XDG state dir)",
            "DIR",
            doc_default="`$XDG_STATE_HOME/faas-gitops`",
        ),
    ]

    @field_validator("limit")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops history",
        description="Show recorded syncs, newest first, with the API's correlation IDs.",
    )
    add_options(parser, HistoryOptions)
    return parser


def main(args: list[str]) -> int:
    from faas_gitops.report import render_history  # noqa: PLC0415
    from faas_gitops.state import Ledger  # noqa: PLC0415 - only history reads the ledger

    logs.configure("warning", "auto")
    try:
        options = parse(build_parser(), HistoryOptions, args, os.environ)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    directory = options.state_dir
    if not (directory / "ledger.sqlite3").exists():
        return fail(
            f"--state-dir {directory}: no ledger here yet; run a sync first or point "
            "--state-dir at the directory the sync used",
            EXIT_USAGE,
        )
    try:
        with Ledger(directory) as ledger:
            entries = ledger.history(package=options.package, limit=options.limit)
    except FaasGitopsError as exc:
        return fail(str(exc), EXIT_USAGE)
    sys.stdout.write(render_history(entries, options.output))
    return EXIT_OK

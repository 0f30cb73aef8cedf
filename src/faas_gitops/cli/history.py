"""``faas-gitops history``: what changed, newest first, with the API's correlation IDs.

The default answers "what happened": revisions created, adopted or failed and deployments
deployed, pruned or failed (with from -> to, environment and trigger). Rows that changed nothing
(``unchanged``, ``in-sync``, ``frozen``...; a daemon records some every few minutes) are hidden:
``--all`` shows them. ``--steps`` adds every recorded deployment step (create, start, poll...)
and ``--correlation-id`` finds the row whose API answer carried that ID (exit 1 when none does).
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, field_validator

from faas_gitops.cli.common import EXIT_FAILED, EXIT_OK, fail, read_ledger, report
from faas_gitops.models import DeployStatus, Status
from faas_gitops.options import CommandOptions, Opt, Part, command_parser, parse
from faas_gitops.settings import CommitUrl, StateDir

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
#: Every status a row can have: a package outcome, or a deployment's with --environment.
KNOWN_STATUSES = tuple(s.value for s in Status) + tuple(
    s.value for s in DeployStatus if s.value not in {x.value for x in Status}
)


def parse_since(text: str, now: datetime) -> datetime:
    """``2h``/``30m``/``7d``/``90s`` before ``now``, or a date or ISO time (UTC unless given).

    ``ValueError`` with the accepted forms otherwise.
    """
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            "must be a date (2026-11-01), a time (2026-11-01T09:30) or an age (30m, 2h, 7d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class HistoryOptions(CommandOptions):
    """Only ``--state-dir`` and ``--commit-url`` (the sync's own declarations) have env twins:
    they must match the ones the sync used."""

    model_config = ConfigDict(title="history")

    package: Annotated[
        str | None,
        Opt(
            "--package", "only this package: its path, package id or manifest name", "PATH|ID|NAME"
        ),
    ] = None
    status: Annotated[
        tuple[str, ...],
        Opt(
            "--status",
            "only rows with these statuses, shown even if they changed nothing, comma-separated "
            "(created,failed)",
            "STATUS[,STATUS]",
        ),
    ] = ()
    since: Annotated[
        str | None,
        Opt(
            "--since", "only syncs since a date, a time or an age (2026-11-01, 2h, 30m, 7d)", "WHEN"
        ),
    ] = None
    environment: Annotated[
        str | None,
        Opt("--environment", "only that environment's deployment rows", "NAME"),
    ] = None
    all: Annotated[
        bool,
        Opt(
            "--all",
            "also the rows that changed nothing (unchanged, in-sync, frozen, held, ...)",
        ),
    ] = False
    steps: Annotated[
        bool,
        Opt(
            "--steps",
            "also every recorded deployment step (create, start, running, ...) with its "
            "correlation ID",
        ),
    ] = False
    correlation_id: Annotated[
        str | None,
        Opt(
            "--correlation-id",
            "only the revision or deployment step whose API answer carried this ID "
            "(any environment); exit 1 when none did",
            "ID",
        ),
    ] = None
    limit: Annotated[int, Opt("--limit", "rows", "N")] = 50
    output: Annotated[Literal["text", "json", "markdown"], Opt("--output", "result format")] = (
        "text"
    )
    state_dir: StateDir
    commit_url: CommitUrl = None

    @field_validator("limit")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wanted = tuple(part.strip() for item in value for part in item.split(",") if part.strip())
        unknown = [status for status in wanted if status not in KNOWN_STATUSES]
        if unknown:
            raise ValueError(f"unknown status {unknown[0]!r}; one of {', '.join(KNOWN_STATUSES)}")
        return wanted

    @field_validator("since")
    @classmethod
    def _readable_since(cls, value: str | None) -> str | None:
        if value is not None:
            parse_since(value, datetime.now(UTC))
        return value


#: Every option of ``history`` (parser and completion).
PARTS: tuple[Part, ...] = (Part(HistoryOptions),)


def build_parser() -> argparse.ArgumentParser:
    return command_parser(
        "faas-gitops history",
        "Show what changed, newest first: revisions created, adopted or failed and "
        "deployments (from -> to, environment, trigger), with the API's correlation IDs. "
        "Rows that changed nothing are hidden unless --all; --steps shows every step.",
        PARTS,
    )


def main(args: list[str]) -> int:
    """Exit 0 with the rows; 1 when ``--correlation-id`` names no recorded step; 2 on bad input."""
    missing: list[str] = []
    code = report(lambda: _history(args, missing))
    if code == EXIT_OK and missing:
        return fail(missing[0], EXIT_FAILED)
    return code


def _history(args: list[str], missing: list[str]) -> str:
    """The rendered rows; appends the one line for a correlation ID nothing carried."""
    from faas_gitops.report import render_history  # noqa: PLC0415

    options = parse(build_parser(), HistoryOptions, args, os.environ)
    since = None if options.since is None else parse_since(options.since, datetime.now(UTC))
    with read_ledger(options.state_dir) as ledger:
        entries = ledger.history(
            package=options.package,
            statuses=options.status,
            since=since,
            environment=options.environment,
            include_quiet=options.all,
            steps=options.steps,
            correlation_id=options.correlation_id,
            limit=options.limit,
        )
        where = ledger.path
    if options.correlation_id is not None and not entries:
        missing.append(
            f"--correlation-id {options.correlation_id!r}: no recorded revision or deployment "
            f"step in {where} carries it (with the other filters given); the ledger holds only "
            "what syncs using this --state-dir did, for --history-days"
        )
        return (
            render_history(entries, options.output, commit_url=options.commit_url)
            if options.output == "json"
            else ""
        )
    steps = options.steps or options.correlation_id is not None
    return render_history(entries, options.output, steps=steps, commit_url=options.commit_url)

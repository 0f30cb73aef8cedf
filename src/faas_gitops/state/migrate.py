"""A store's identity and schema history: is the file ours, and which schema does it hold.

* ``PRAGMA application_id`` marks a file as ours, so ``--state-dir`` pointed at someone else's
  database fails with one clear line instead of scribbling tables into it.
* ``PRAGMA user_version`` versions the schema: ``migrations[i]`` takes version ``i`` to ``i + 1``,
  all inside the opener's one ``BEGIN IMMEDIATE`` transaction, so an upgrade is all or nothing.
* A reader never migrates: a file of an older schema is shown to it as the newest schema (TEMP
  views over the old tables, with each missing column's default), so a reader of a newer
  faas-gitops still answers while an older daemon keeps writing the file.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faas_gitops.errors import ConfigError
from faas_gitops.state.guard import connect


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """What makes a store's file its own: name, identity and schema history."""

    filename: str
    application_id: int
    migrations: Sequence[str]
    label: str  # how errors name it: "ledger", "cache"
    #: The tables of a file written before the store carried an application id: such a file
    #: (user_version 0, exactly these tables) is ours and is adopted, not refused.
    legacy_tables: frozenset[str] = field(default_factory=frozenset)
    #: ``PRAGMA quick_check`` (within ``QUICK_CHECK_BUDGET_S``) before a writer's first write.
    check_at_open: bool = False


def check_identity(
    conn: sqlite3.Connection, path: Path, spec: StoreSpec, *, adopt: bool = True
) -> None:
    """Ours (by application id, or a new empty file, or a legacy file), and not too new.

    ``adopt`` (writers only) stamps a new or legacy file with the store's application id.
    """
    app_id = int(scalar(conn, "PRAGMA application_id"))
    version = int(scalar(conn, "PRAGMA user_version"))
    if app_id == 0:  # a brand-new file is empty; anything else belongs to someone else
        tables = {
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        ours = version == 0 and (
            int(scalar(conn, "SELECT count(*) FROM sqlite_master")) == 0
            or (bool(spec.legacy_tables) and tables == spec.legacy_tables)
        )
        if ours:
            if adopt:
                conn.execute(f"PRAGMA application_id = {spec.application_id}")
            app_id = spec.application_id
        else:
            app_id = -1
    if app_id != spec.application_id:
        raise ConfigError(f"{path} is an SQLite database but not a faas-gitops {spec.label}")
    if version > len(spec.migrations):
        raise ConfigError(
            f"{spec.label} {path} has schema version {version}, newer than this faas-gitops "
            f"understands ({len(spec.migrations)}); upgrade faas-gitops"
        )


def migrate(conn: sqlite3.Connection, spec: StoreSpec) -> None:
    """Run every migration the file has not seen yet, inside the caller's transaction."""
    version = int(scalar(conn, "PRAGMA user_version"))
    for target, script in enumerate(spec.migrations[version:], start=version + 1):
        for statement in split_statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target}")


def show_as_newest(conn: sqlite3.Connection, spec: StoreSpec) -> None:
    """TEMP views named like the newest schema's tables over what an older file holds.

    A column the file lacks reads as its default (what the migration would have filled in); a
    table it lacks reads as empty. TEMP names come first in SQLite's lookup, so every query of
    the store reads them unchanged.
    """
    for table, columns in _newest_tables(tuple(spec.migrations)).items():
        present = {row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")}
        if present.issuperset(name for name, _ in columns):
            continue
        shown = ", ".join(
            f"{name}" if name in present else f"{default or 'NULL'} AS {name}"
            for name, default in columns
        )
        source = f" FROM main.{table}" if present else " WHERE 0"
        conn.execute(f"CREATE TEMP VIEW {table} AS SELECT {shown}{source}")


@functools.cache
def _newest_tables(migrations: tuple[str, ...]) -> dict[str, list[tuple[str, str | None]]]:
    """Every table of the newest schema with its columns (name, default), built in memory."""
    scratch = connect(":memory:", timeout_s=0.0)
    try:
        for script in migrations:
            for statement in split_statements(script):
                scratch.execute(statement)
        names = [
            str(row[0])
            for row in scratch.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            name: [(str(r[1]), r[4]) for r in scratch.execute(f"PRAGMA table_info({name})")]
            for name in names
        }
    finally:
        scratch.close()


def scalar(conn: sqlite3.Connection, sql: str) -> Any:
    """The first column of the first row (a PRAGMA's answer, a count)."""
    row = conn.execute(sql).fetchone()
    return row[0]


def split_statements(script: str) -> list[str]:
    """Split a migration into statements so each runs inside our transaction.

    ``executescript`` would COMMIT first, breaking the all-or-nothing upgrade. Migrations are
    our own DDL, without semicolons inside literals, so a plain split is enough.
    """
    return [statement.strip() for statement in script.split(";") if statement.strip()]

"""The shape issue 22 asked for, kept: small modules, one SQLite opener, help without pydantic."""

from __future__ import annotations

import re

from tests.harness import ROOT

SOURCE = ROOT / "src" / "faas_gitops"
MAX_LINES = 400


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by job (at most {MAX_LINES} lines each)"


def test_every_sqlite_file_is_opened_by_the_state_layers_one_opener() -> None:
    callers = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\bsqlite3\.connect\(", line)
    ]
    assert callers == ["state/guard.py"]

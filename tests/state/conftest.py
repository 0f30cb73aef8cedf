"""The state tests' ledger: a real SQLite file in ``tmp_path``, open for the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faas_gitops.state import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "state") as opened:
        yield opened

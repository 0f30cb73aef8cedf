"""Signing keys for the signature tests: made once per session, with real ssh-keygen and gpg."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.source.git_signing import (
    MISSING_TOOLS,
    SKIP_REASON,
    Keys,
    forget,
    gpg_signer,
    ssh_signer,
)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    if MISSING_TOOLS:
        pytest.skip(SKIP_REASON)
    directory = tmp_path_factory.mktemp("ssh-keys")
    bob, eve = gpg_signer("bob"), gpg_signer("eve")
    try:
        yield Keys(ssh_signer(directory, "alice"), bob, ssh_signer(directory, "mallory"), eve)
    finally:
        forget(bob)
        forget(eve)


@pytest.fixture
def trusted_dir(tmp_path: Path) -> Path:
    """Where a test puts the keys it trusts (the ``--trusted-keys`` directory)."""
    return tmp_path / "trusted"

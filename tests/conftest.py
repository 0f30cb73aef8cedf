"""The one fixture family for the emulator and repositories, shared by every test folder.

Each fixture name is defined once in the whole suite (``tests/test_suite_shape.py`` checks it),
in the conftest nearest to all its users: here for the emulator and the repositories, in
``tests/e2e/conftest.py`` for the CLI runners, in a folder's own conftest for what only that
folder uses. A test says what it needs of the emulator with markers, never by redefining it:

- ``@pytest.mark.both_modes``: run once per API mode (``tests.harness.MODES``), for tests whose
  outcome could depend on a choice the public docs leave open; otherwise ``ONE_MODE``.
- ``@pytest.mark.emulator(**overrides)``: ``EmulatorConfig`` fields for this test's emulator
  (the closest marker wins per field), plus ``sample=False`` for an emulator without the
  sample packages.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import structlog

from faas_gitops import logs
from faas_gitops.emulator import EmulatorConfig, EmulatorStore, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, MODES, ONE_MODE, SAMPLE_REPO, StartEmulator, sample_repo
from tests.source.git_signing import (
    MISSING_TOOLS,
    SKIP_REASON,
    Keys,
    forget,
    gpg_signer,
    ssh_signer,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``both_modes`` parametrises ``mode`` (and so every emulator the test gets from this
    family) over both API modes, with the modes' names as ids; tests marked so that do not
    use the emulator are left alone."""
    if "mode" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_modes"):
        metafunc.parametrize("mode", list(MODES), ids=list(MODES), indirect=True)


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The API's open choices the emulator makes: ``ONE_MODE``, or each mode under
    ``both_modes``."""
    return dict(MODES[getattr(request, "param", ONE_MODE)])


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Start an emulator with ``EmulatorConfig(api_key=API_KEY, **overrides)`` on 127.0.0.1
    (over ``store`` if given), seeded with the sample packages if ``sample``."""
    with ExitStack() as stack:

        def start(
            store: EmulatorStore | None = None, *, sample: bool = False, **overrides: Any
        ) -> RunningEmulator:
            config = EmulatorConfig(**{"api_key": API_KEY, **overrides})
            running = stack.enter_context(serve_in_thread(config, store))
            if sample:
                running.store.seed_from(SAMPLE_REPO)
            return running

        yield start


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest, mode: dict[str, Any], start_emulator: StartEmulator
) -> RunningEmulator:
    """The emulator a test syncs against, seeded like the sample's remote. Deployments start
    in 20 ms and the running limit (20) is out of the way, so a test about deployments sets
    only what it is about (``@pytest.mark.emulator(max_running_deployments=2)``)."""
    config: dict[str, Any] = {"sample": True, "deploy_delay_ms": 20, "max_running_deployments": 20}
    config.update(mode)
    for marker in reversed(list(request.node.iter_markers("emulator"))):
        config.update(marker.kwargs)
    return start_emulator(**config)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """The sample repository (its packages, without ``faas-gitops.yaml``), committed as one
    real git commit."""
    return sample_repo(tmp_path / "repo")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty repository, for tests that build their own packages."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def plain_http() -> Iterator[str]:
    """The URL of a plain ``http.server`` on 127.0.0.1: some other HTTP server than the API."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Silent: the test reads the client's line, not the server's log."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """For tests that configure logging themselves: after each, logging is back to JSON on
    whatever stderr is (as the CLI would leave it), with no context variables left over."""
    yield
    logs.configure()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def unfiltered_logs() -> Iterator[None]:
    """For tests that read events with ``capture_logs``, which swaps processors only: a level
    filter left by an earlier in-process run (``--log-level error``) would drop the events the
    test looks for, so the result would depend on test order."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


# Signing keys for the signature tests (tests/source and the journeys that verify commits):
# made once per session, with real ssh-keygen and gpg.
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

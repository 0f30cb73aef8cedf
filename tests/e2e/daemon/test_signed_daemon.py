"""The daemon with ``--verify-signatures``: a refused commit writes nothing and turns the daemon
unready with its line (``/readyz``, the status page, a ``sync-failed`` notification); the next
commit that verifies is synced. The daemon is a real subprocess; keys and signatures are real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.daemon.daemon_support import StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, MODES, PACKAGES_ONLY, SAMPLE_REPO
from tests.notify.notify_receivers import Receiver, always, serve
from tests.source.git_signing import Keys, commit, trust

PACKAGES = 3
QUIET = ("--interval", "60", "--resync-interval", "600")  # only git changes wake it


@pytest.fixture
def signing_emulator() -> Iterator[RunningEmulator]:
    """One list mode: the test is about the gate in front of the API, not the API."""
    mode: dict[str, Any] = dict(MODES["created-include-404-200"])
    config = EmulatorConfig(api_key=API_KEY, **mode)
    with serve_in_thread(config) as emu:
        emu.store.seed_from(SAMPLE_REPO)
        yield emu


def created(signing_emulator: RunningEmulator) -> int:
    return sum(1 for r in signing_emulator.requests if r.method == "POST" and "revisions" in r.path)


@pytest.mark.slow
def test_the_daemon_refuses_an_unsigned_commit_and_syncs_the_next_signed_one(
    start_daemon: StartDaemon, signing_emulator: RunningEmulator, keys: Keys, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repo.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    unsigned = commit(repo, "Import the sample packages")
    trusted = trust(tmp_path / "trusted", keys.alice, keys.bob)
    line = f"commit {unsigned[:12]} (--verify-signatures head): no signature"

    with serve(Receiver(always(200))) as receiver:
        daemon = start_daemon(
            repo.root, "--verify-signatures", "head", "--trusted-keys", str(trusted),
            "--notify-webhook", receiver.url + "/hook", *QUIET, target=signing_emulator,
        )  # fmt: skip

        def refused() -> bool:
            answer = daemon.get("/readyz")
            return answer.status_code == 503 and line in answer.json()["reason"]

        wait_until(refused, "/readyz to say why the commit was refused")
        assert line in daemon.get("/api/status").json()["readyReason"]
        wait_until(
            lambda: any(
                request.json().get("event") == "sync-failed" and line in json.dumps(request.json())
                for request in receiver.requests
            ),
            "the sync-failed notification",
        )
        # No write, no revision list read, not even the probe:
        assert signing_emulator.requests == []
        assert daemon.ledger() == []
        # A signature does not heal on a timer: it waits for git instead of retrying.
        wait_until(lambda: daemon.events("sync.retry_waits_for_git"), "the refusal to be final")
        assert daemon.events("sync.retry_scheduled") == []

        signed = commit(repo, "Sign the packages", keys.alice)

        daemon.wait_ready()
        assert created(signing_emulator) == PACKAGES
        entries = daemon.ledger()
        assert {entry.commit for entry in entries} == {signed}
        assert {entry.verified_by for entry in entries} == {keys.alice.fingerprint}
        assert line not in daemon.get("/readyz").json()["reason"]

"""The daemon as a real subprocess wakes for what changes a sync's outcome without moving the
synced commit: a tag on an already-synced commit (watched locally, polled remotely) and the
configuration branch moving. The emulator runs in this process, so the tests read its store.

The poll interval and the drift resync are far beyond every bounded wait here (except in the
poll test), so a sync seen within the wait was started by the trigger under test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.state import Ledger
from tests.e2e.daemon.daemon_support import DaemonProcess, StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import SAMPLE_REPO

pytestmark = pytest.mark.slow

STAGING = 412345  # sample-repo/faas-gitops.yaml: branches [main]
PRODUCTION = 498765  # sample-repo/faas-gitops.yaml: tags ["v*"]
PACKAGES = 3
QUIET = ("--interval", "60", "--resync-interval", "600")  # only the trigger under test fires


def running(emulator: RunningEmulator, keyset_id: int) -> dict[str, str]:
    """Package name -> the revision name RUNNING on the keyset, from the emulator's store."""
    store = emulator.store
    found: dict[str, str] = {}
    for package in store.packages():
        for revision in store.revisions(package["id"]):
            for deployment in store.revision_deployments(revision["id"]):
                if deployment["keysetId"] == keyset_id and deployment["state"] == "RUNNING":
                    found[package["name"]] = revision["name"]
    return found


@pytest.fixture
def deploying(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """An emulator whose deployments finish fast, with room for both environments."""
    return start_emulator(sample=True, deploy_delay_ms=20, max_running_deployments=20)


@pytest.fixture
def environments_repo(repo: GitRepo) -> GitRepo:
    """The sample packages with the sample ``faas-gitops.yaml`` (staging from main,
    production from ``v*`` tags), committed on main."""
    repo.write("faas-gitops.yaml", (SAMPLE_REPO / "faas-gitops.yaml").read_text())
    repo.commit("Deploy main to staging and v* tags to production")
    return repo


def synced_on_staging_only(daemon: DaemonProcess, emulator: RunningEmulator) -> None:
    daemon.wait_ready()
    wait_until(lambda: len(running(emulator, STAGING)) == PACKAGES, "the startup deploys")
    assert running(emulator, PRODUCTION) == {}


def test_a_tag_on_the_already_synced_commit_of_a_watched_repo_deploys_it_to_production(
    start_daemon: StartDaemon, deploying: RunningEmulator, environments_repo: GitRepo
) -> None:
    daemon = start_daemon(environments_repo.root, *QUIET, target=deploying)
    synced_on_staging_only(daemon, deploying)
    sha = environments_repo.head()

    environments_repo.tag("v1.3.0")

    wait_until(
        lambda: len(running(deploying, PRODUCTION)) == PACKAGES,
        "the tagged commit to run on production",
    )
    finished = wait_until(
        lambda: daemon.events("sync.finished", commit=sha, trigger="watch"), "the watch's sync"
    )
    assert len(finished) == 1
    assert daemon.events("sync.skipped") == []  # the tag was not mistaken for "already synced"
    assert running(deploying, STAGING) == running(deploying, PRODUCTION)
    with Ledger(daemon.state_dir) as ledger:  # the sync rows name the branch, then the tag
        refs = [sync.ref for sync in reversed(ledger.recent_syncs())]
    assert refs == ["main", "v1.3.0"]


def test_a_tag_pushed_to_a_polled_remote_deploys_the_already_synced_commit_to_production(
    start_daemon: StartDaemon, deploying: RunningEmulator, environments_repo: GitRepo
) -> None:
    daemon = start_daemon(
        f"file://{environments_repo.root}", "--interval", "0.5", "--resync-interval", "600",
        target=deploying,
    )  # fmt: skip
    synced_on_staging_only(daemon, deploying)
    sha = environments_repo.head()
    # Polls that find nothing new are skipped: the identity compares equal while untagged.
    wait_until(lambda: daemon.metrics()["faas_gitops_syncs_skipped_total"] >= 1, "a skipped poll")

    environments_repo.tag("v1.3.0", message="Release 1.3.0")  # annotated: peeled to the commit

    wait_until(
        lambda: len(running(deploying, PRODUCTION)) == PACKAGES,
        "the tagged commit to run on production",
    )
    wait_until(lambda: daemon.events("sync.finished", commit=sha, trigger="poll"), "its sync")


def test_the_configuration_branch_moving_wakes_a_daemon_whose_ref_did_not_move(
    start_daemon: StartDaemon, environments_repo: GitRepo
) -> None:
    repo = environments_repo
    repo.git("branch", "release")
    release = repo.head()
    daemon = start_daemon(repo.root, "--ref", "release", *QUIET)
    daemon.wait_ready()
    assert len(daemon.events("sync.finished")) == 1

    # A branch the sync does not depend on moves: woken, compared, skipped.
    repo.git("branch", "unrelated", "HEAD")
    wait_until(lambda: daemon.metrics()["faas_gitops_syncs_skipped_total"] >= 1, "a skip")
    assert len(daemon.events("sync.finished")) == 1

    # main is the configuration branch (no --config-ref: the default branch): a policy change
    # there re-syncs release, whose commit did not move.
    repo.write("faas-gitops.yaml", (SAMPLE_REPO / "faas-gitops.yaml").read_text() + "\n# v2\n")
    repo.commit("Change the environment policy")
    assert repo.git("rev-parse", "release").strip() == release

    synced = wait_until(
        lambda: daemon.events("sync.finished", commit=release, trigger="watch"),
        "the sync woken by the configuration branch",
    )
    assert len(synced) == 1
    assert len(daemon.ledger()) == 2 * PACKAGES  # two syncs of three packages each


def test_a_daemon_on_head_of_a_feature_branch_warns_once_that_no_environment_lists_it(
    start_daemon: StartDaemon, environments_repo: GitRepo
) -> None:
    repo = environments_repo
    repo.git("checkout", "--quiet", "-b", "feature/stricter-filter")
    daemon = start_daemon(repo.root, *QUIET)
    daemon.wait_ready()
    repo.write("chat-moderation/audit-log.js", "export default (r) => r.ok(); // wip\n")
    sha = repo.commit("Work in progress")
    wait_until(lambda: daemon.events("sync.finished", commit=sha), "the second sync")

    [warning] = daemon.events("daemon.branch_not_deployed")
    assert warning["branch"] == "feature/stricter-filter"
    assert warning["level"] == "warning"
    assert "--ref BRANCH" in warning["detail"]

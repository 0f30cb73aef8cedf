"""Request counts of a sync with two environments (issue 25), at 20 packages, over HTTP.

``staging`` runs commits of ``main``, ``production`` commits tagged ``v*``; the commit synced is
``main``'s tip and tagged ``v1``, so both are active and every package runs the same revision
on both keysets. ``python -m benchmarks.sync --scenarios env`` shows the wall times at 1,000
packages; these tests pin what each run asks, per endpoint:

- cold (an empty state dir): the probe, the inventory (one page), one revision list per package
  (the revision stage's, handed to the release stage) and one deployment list per distinct
  running revision: 2 per package;
- warm (the state dir of a run that read the deployments): one revision list per package, its
  counters agreeing with what the state dir remembers: 1 per package;
- drift (a deployment stopped or replaced by hand) changes the counters: the warm run reads that
  package's deployments again and puts it back, as every cold run does.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faas_gitops import cli, content
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

PACKAGES = 20
STAGING, PRODUCTION = 412345, 498765
LIST = "GET /v2/faas/packages/{id}/package-revisions"
POST_REVISION = "POST /v2/faas/package-revisions"
LIST_PACKAGES = "GET /v2/faas/packages"
DEPLOYMENTS = "GET /v2/faas/package-revisions/{id}/package-deployments"
GET_DEPLOYMENT = "GET /v2/faas/package-deployments/{id}"
CREATE_DEPLOYMENT = "POST /v2/faas/package-deployments"
ROLL = "PUT /v2/faas/package-deployments/{id}/function-deployments"
START = "POST /v2/faas/package-deployments/{id}/function-deployments"
LIMIT = "GET /v2/faas/limits/package-deployments-running"
POLL = GET_DEPLOYMENT  # after a start or a rollover, until it runs
#: The probe and the inventory (one page at 20 packages): every run with environments.
PER_RUN = {LIST_PACKAGES: 2}
POLICY = f"""environments:
  staging:
    keysetId: {STAGING}
    branches: [main]
  production:
    keysetId: {PRODUCTION}
    tags: ["v*"]
"""
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def package_id(index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"faas-gitops-release-perf/{index}"))


class Monorepo:
    """``PACKAGES`` packages and the policy, committed with fast-import on ``main``."""

    def __init__(self, root: Path) -> None:
        self.git = GitRepo(root)
        self.versions = [0] * PACKAGES

    def commit(self, message: str) -> str:
        files: dict[str, bytes] = {"faas-gitops.yaml": POLICY.encode()}
        for index, version in enumerate(self.versions):
            files[f"pkg-{index:02d}/package.yaml"] = (
                f"packageId: {package_id(index)}\nfunctions:\n"
                "  - {name: Filter, type: BEFORE_PUBLISH, file: filter.js}\n"
            ).encode()
            code = f"// {index} v{version}\nexport default 1;\n"
            files[f"pkg-{index:02d}/filter.js"] = code.encode()
        return self.git.bulk_commit(files, message)

    def change(self, index: int) -> str:
        self.versions[index] += 1
        return self.commit(f"change package {index}")


@pytest.fixture(params=["omit", "include"])
def counting_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        api_key=API_KEY,
        revision_list_code=request.param,
        deploy_delay_ms=0,
        max_running_deployments=10 * PACKAGES,
    )
    with serve_in_thread(config) as emu:
        for index in range(PACKAGES):
            emu.store.add_package(f"perf-{index:02d}", package_id=package_id(index))
        yield emu


@pytest.fixture
def released_repo(tmp_path: Path) -> Monorepo:
    repository = Monorepo(tmp_path / "repo")
    repository.commit("twenty packages")
    repository.git.tag("v1")
    return repository


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME", "FAAS_GITOPS_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


def sync(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    state: Path,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """One ``--sync-once`` of ``main`` (exit 0): its requests by endpoint, and its deployment
    statuses by (environment, status)."""
    counting_emulator.clear_requests()
    capsys.readouterr()
    argv = [
        "--sync-once",
        "--repo", str(released_repo.git.root),
        "--ref", "main",
        "--api-url", counting_emulator.url,
        "--state-dir", str(state),
        "--output", "json",
        "--log-level", "error",
        *args,
    ]  # fmt: skip
    code = cli.main(argv)
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0, document
    deployed: Counter[tuple[str, str]] = Counter(
        (d["environment"], d["status"]) for p in document["packages"] for d in p["deployments"]
    )
    return requests(counting_emulator), deployed


def requests(counting_emulator: RunningEmulator) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in counting_emulator.requests:
        parts = record.path.split("/")  # /v2/faas/<collection>/<id>/<sub>/<id>
        ids = range(4, len(parts), 2) if parts[3] != "limits" else range(0)
        for position in ids:
            parts[position] = "{id}"
        counts[f"{record.method} {'/'.join(parts)}"] += 1
    return counts


def in_sync(count: int = PACKAGES) -> Counter[tuple[str, str]]:
    return Counter({("staging", "in-sync"): count, ("production", "in-sync"): count})


def running(counting_emulator: RunningEmulator, index: int, keyset: int) -> list[dict[str, Any]]:
    store = counting_emulator.store
    return [
        d
        for rev in store.revisions(package_id(index))
        for d in store.revision_deployments(rev["id"])
        if d["keysetId"] == keyset and d["state"] == "RUNNING"
    ]


@pytest.fixture
def released_monorepo(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """Every package created and running on both keysets; the state dir of that run."""
    state = tmp_path / "releasing-runner"
    _, deployed = sync(counting_emulator, released_repo, state, capsys)
    assert deployed == {("staging", "deployed"): PACKAGES, ("production", "deployed"): PACKAGES}
    return state


def test_a_cold_run_in_sync_on_two_environments_costs_two_requests_per_package(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    counts, deployed = sync(counting_emulator, released_repo, tmp_path / "fresh-runner", capsys)

    assert deployed == in_sync()
    # One revision list (the revision stage's, handed over), and one deployment list for the
    # one revision running on both keysets.
    assert counts == {**PER_RUN, LIST: PACKAGES, DEPLOYMENTS: PACKAGES}


def test_a_cold_run_in_sync_encodes_each_packages_functions_once(  # noqa: PLR0917 - fixtures
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The release stage's targets carry the digest the revision stage planned with, even when
    the memo of recent digests holds fewer packages than the run (here: one)."""
    encoded: list[str] = []
    canonical = content.canonical_functions

    def counted(functions: Any) -> str:
        text = canonical(functions)
        encoded.append(text)
        return text

    monkeypatch.setattr(content, "canonical_functions", counted)
    monkeypatch.setattr(content, "_RECENT_LIMIT", 1)
    monkeypatch.setattr(content, "_RECENT_DIGESTS", {})

    _, deployed = sync(counting_emulator, released_repo, tmp_path / "fresh-runner", capsys)

    assert deployed == in_sync()
    assert len(encoded) == PACKAGES


def test_a_warm_run_in_sync_trusts_what_it_remembers_and_lists_only_the_revisions(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The releasing run wrote, so what it read before is past: the next run reads again...
    counts, deployed = sync(counting_emulator, released_repo, released_monorepo, capsys)
    assert deployed == in_sync()
    assert counts == {**PER_RUN, LIST: PACKAGES, DEPLOYMENTS: PACKAGES}

    counts, deployed = sync(counting_emulator, released_repo, released_monorepo, capsys)

    # ...and the one after trusts it: the counters in each list agree with the state dir.
    assert deployed == in_sync()
    assert counts == {**PER_RUN, LIST: PACKAGES}


def test_a_full_resync_in_sync_reads_each_revision_list_once_for_both_stages(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(counting_emulator, released_repo, released_monorepo, capsys)

    counts, deployed = sync(
        counting_emulator, released_repo, released_monorepo, capsys, "--full-sync"
    )

    assert deployed == in_sync()
    assert counts == {**PER_RUN, LIST: PACKAGES}


def test_a_deployment_stopped_by_hand_is_noticed_by_the_warm_run_and_started_again(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(counting_emulator, released_repo, released_monorepo, capsys)  # remembers what runs
    (stopped,) = running(counting_emulator, 3, PRODUCTION)
    counting_emulator.store.stop_deployment(stopped["id"])  # in the portal

    counts, deployed = sync(counting_emulator, released_repo, released_monorepo, capsys)

    assert deployed == {
        ("staging", "in-sync"): PACKAGES,
        ("production", "in-sync"): PACKAGES - 1,
        ("production", "deployed"): 1,
    }
    assert [d["id"] for d in running(counting_emulator, 3, PRODUCTION)] == [stopped["id"]]
    # Only the package whose counters changed had its deployments listed; its stopped
    # deployment was started again (the running limit asked first: a start takes a slot).
    assert counts == {**PER_RUN, LIST: PACKAGES, DEPLOYMENTS: 1, LIMIT: 1, START: 1, POLL: 1}


def test_a_deployment_replaced_by_hand_is_noticed_by_the_warm_run_and_rolled_back(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(counting_emulator, released_repo, released_monorepo, capsys)
    replace_by_hand(counting_emulator, 4)

    counts, deployed = sync(counting_emulator, released_repo, released_monorepo, capsys)

    assert deployed == {
        ("staging", "in-sync"): PACKAGES,
        ("production", "in-sync"): PACKAGES - 1,
        ("production", "deployed"): 1,
    }
    (back,) = running(counting_emulator, 4, PRODUCTION)
    assert back["packageRevisionId"] == counting_emulator.store.revisions(package_id(4))[0]["id"]
    # The two revisions that run (ours on staging, the hand-made one on production), then the
    # rollover back onto our revision's (stopped) production deployment.
    assert counts[DEPLOYMENTS] == 2
    assert counts[ROLL] == 1
    assert counts[CREATE_DEPLOYMENT] == 0


def test_every_cold_run_notices_deployments_stopped_or_replaced_by_hand(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stopped,) = running(counting_emulator, 3, PRODUCTION)
    counting_emulator.store.stop_deployment(stopped["id"])
    hand = replace_by_hand(counting_emulator, 4)

    _, deployed = sync(counting_emulator, released_repo, tmp_path / "fresh-runner", capsys)

    assert deployed == {
        ("staging", "in-sync"): PACKAGES,
        ("production", "in-sync"): PACKAGES - 2,
        ("production", "deployed"): 2,
    }
    assert len(running(counting_emulator, 3, PRODUCTION)) == 1
    (back,) = running(counting_emulator, 4, PRODUCTION)
    assert back["packageRevisionId"] != hand  # git's content again (in a revision of its own:
    # the hand-made one was the latest, so the revision stage made one holding git's content)


def test_one_change_rolled_out_on_staging_reads_the_changed_packages_deployments_once(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    released_monorepo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(counting_emulator, released_repo, released_monorepo, capsys)
    released_repo.change(7)  # on main, not tagged: staging only

    counts, deployed = sync(counting_emulator, released_repo, released_monorepo, capsys)

    assert deployed == {("staging", "in-sync"): PACKAGES - 1, ("staging", "deployed"): 1}
    # The changed package's list is the revision stage's, handed over with the new revision;
    # the rollover is decided on a fresh read of its deployments (memory never decides a write).
    assert counts == {
        **PER_RUN,
        LIST: PACKAGES,
        POST_REVISION: 1,
        DEPLOYMENTS: 1,
        CREATE_DEPLOYMENT: 1,
        ROLL: 1,
        **{k: v for k, v in counts.items() if k == GET_DEPLOYMENT},  # polls until RUNNING
    }


def replace_by_hand(counting_emulator: RunningEmulator, index: int) -> str:
    """A revision made in the portal, rolled onto production over ours; its id."""
    store = counting_emulator.store
    ours = store.revisions(package_id(index))[0]
    hand = store.add_revision(
        package_id(index),
        "made-by-hand",
        [{**fn, "code": "export default 'by hand';"} for fn in ours["functions"]],
    )
    (current,) = running(counting_emulator, index, PRODUCTION)
    new = store.create_deployment(hand["id"], PRODUCTION)
    store.rolling_update(current["id"], new["id"], delay_ms=0)
    return str(hand["id"])


def test_a_revision_list_read_only_in_part_is_read_again_in_full_for_the_release(
    counting_emulator: RunningEmulator,
    released_repo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Package 0 has a long history: the revision stage reads its newest page only (enough to
    know the latest revision), but a revision running somewhere could be on a later page, so
    the release stage (told by the inventory's ``revisionsTotal`` that the list is partial)
    reads every page itself. Every other package's list is complete and is not read again."""
    for number in range(120):
        counting_emulator.store.add_revision(
            package_id(0),
            f"old-{number:03d}",
            [{"name": "Filter", "type": "BEFORE_PUBLISH", "code": f"// old {number}"}],
        )
    sync(counting_emulator, released_repo, tmp_path / "releasing-runner", capsys)

    counts, deployed = sync(counting_emulator, released_repo, tmp_path / "fresh-runner", capsys)

    assert deployed == in_sync()
    # Package 0: one newest-first page (the revision stage), then both pages (the release).
    assert counts == {**PER_RUN, LIST: PACKAGES + 2, DEPLOYMENTS: PACKAGES}

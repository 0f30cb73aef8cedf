"""Request counts of the five scenarios of the performance issue, at 20 packages.

The benchmark (``python -m benchmarks.sync``) shows the wall times at 1,000 packages; these
tests pin the number of API requests each scenario costs, per endpoint, so that a change that
adds a round trip per package fails CI instead of silently doubling a 1,000-package sync.

Each scenario runs in both emulator modes that change counts: revision list items with their
functions' code (``include``: the list alone tells the latest revision's functions) and without
(``omit``: one ``GET /v2/faas/package-revisions/{id}`` per package, unless cached by id).

Every run starts with one probe, ``GET /v2/faas/packages?page=0&size=1`` (``PROBE``): it proves
the URL and the key before any package is asked about, so it is counted once per sync.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from faas_gitops import cli
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.reconcile.run import sync_once
from faas_gitops.reconcile.session import Session
from faas_gitops.settings import ApiSettings, GitSettings, Settings
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, StartEmulator

pytestmark = [pytest.mark.usefixtures("api_key_env"), pytest.mark.slow]

PACKAGES = 20
LIST = "GET /v2/faas/packages/{id}/package-revisions"
GET_REVISION = "GET /v2/faas/package-revisions/{id}"
POST_REVISION = "POST /v2/faas/package-revisions"
LIST_PACKAGES = "GET /v2/faas/packages"
PROBE = {LIST_PACKAGES: 1}  # the first call of every run
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def package_id(index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"faas-gitops-perf-test/{index}"))


class Monorepo:
    """``PACKAGES`` small packages committed with fast-import; ``change`` bumps some of them."""

    def __init__(self, root: Path, *, by_name: bool = False) -> None:
        self.git = GitRepo(root)
        self.by_name = by_name
        self.versions = [0] * PACKAGES

    def files(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for index, version in enumerate(self.versions):
            directory = f"pkg-{index:02d}"
            target = (
                f"name: perf-{index:02d}" if self.by_name else f"packageId: {package_id(index)}"
            )
            files[f"{directory}/package.yaml"] = (
                f"{target}\nfunctions:\n"
                "  - {name: Filter, type: BEFORE_PUBLISH, file: filter.js}\n"
                "  - {name: Audit, type: AFTER_PUBLISH, file: audit.js, config: {level: 2}}\n"
            ).encode()
            files[f"{directory}/filter.js"] = f"// {index} v{version}\nexport default 1;\n".encode()
            files[f"{directory}/audit.js"] = f"// audit {index}\nexport default 2;\n".encode()
        return files

    def commit(self, message: str) -> str:
        return self.git.bulk_commit(self.files(), message)

    def change(self, *indexes: int) -> str:
        for index in indexes:
            self.versions[index] += 1
        return self.commit(f"change {len(indexes)} package(s)")


@pytest.fixture(params=["omit", "include"])
def perf_emulator(request: pytest.FixtureRequest, start_emulator: StartEmulator) -> RunningEmulator:
    running = start_emulator(revision_list_code=request.param)
    for index in range(PACKAGES):
        running.store.add_package(f"perf-{index:02d}", package_id=package_id(index))
    return running


@pytest.fixture
def monorepo(tmp_path: Path) -> Monorepo:
    built = Monorepo(tmp_path / "repo")
    built.commit("twenty packages")
    return built


def omitted(perf_emulator: RunningEmulator) -> bool:
    return perf_emulator.config.revision_list_code == "omit"


def sync(
    perf_emulator: RunningEmulator, monorepo: Monorepo, state: Path, *args: str
) -> Counter[str]:
    """One ``--sync-once`` run in this process (exit 0); the requests it made."""
    perf_emulator.clear_requests()
    argv = [
        "--sync-once",
        "--repo", str(monorepo.git.root),
        "--api-url", perf_emulator.url,
        "--state-dir", str(state),
        "--output", "json",
        "--log-level", "error",
        *args,
    ]  # fmt: skip
    code = cli.main(argv)
    assert code == 0
    return requests(perf_emulator)


def requests(perf_emulator: RunningEmulator) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in perf_emulator.requests:
        parts = record.path.split("/")
        for position in range(4, len(parts), 2):  # /v2/faas/<collection>/<id>/<sub>/<id>
            parts[position] = "{id}"
        counts[f"{record.method} {'/'.join(parts)}"] += 1
    return counts


def statuses(capsys: pytest.CaptureFixture[str]) -> Counter[str]:
    document = json.loads(capsys.readouterr().out)
    return Counter(package["status"] for package in document["packages"])


def test_a_first_adoption_costs_one_listing_and_one_create_per_package(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    counts = sync(perf_emulator, monorepo, tmp_path / "state")

    assert statuses(capsys) == {"created": PACKAGES}
    assert counts == {**PROBE, LIST: PACKAGES, POST_REVISION: PACKAGES}


def test_a_fresh_runner_checks_an_equal_remote_with_at_most_two_requests_per_package(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(perf_emulator, monorepo, tmp_path / "first")
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, tmp_path / "fresh-runner")

    assert statuses(capsys) == {"unchanged": PACKAGES}
    # The revisions carry faas-gitops content stamps: equal to the desired digests, so no
    # revision needs fetching, whether or not list items embed code.
    assert counts == {**PROBE, LIST: PACKAGES}


def test_one_changed_package_in_a_warm_state_dir_costs_one_listing_and_one_create(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    sync(perf_emulator, monorepo, state)
    monorepo.change(7)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state)

    assert statuses(capsys) == {"created": 1, "unchanged": PACKAGES - 1}
    assert counts == {**PROBE, LIST: 1, POST_REVISION: 1}


def test_an_unchanged_commit_in_a_warm_state_dir_makes_only_the_probe(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing to ask about any package; the probe's smallest listing proves the key works."""
    state = tmp_path / "state"
    sync(perf_emulator, monorepo, state)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state)

    assert statuses(capsys) == {"unchanged": PACKAGES}
    assert counts == PROBE
    (check,) = [r for r in perf_emulator.requests if r.path == "/v2/faas/packages"]
    assert check.query.get("size") == "1"


def test_a_full_resync_without_drift_lists_each_package_once_and_fetches_no_known_revision(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    sync(perf_emulator, monorepo, state)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state, "--full-sync")

    assert statuses(capsys) == {"unchanged": PACKAGES}
    assert counts == {**PROBE, LIST: PACKAGES}


def test_ten_percent_changed_costs_one_listing_and_one_create_per_changed_package(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    sync(perf_emulator, monorepo, state)
    monorepo.change(3, 13)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state)

    assert statuses(capsys) == {"created": 2, "unchanged": PACKAGES - 2}
    assert counts == {**PROBE, LIST: 2, POST_REVISION: 2}


def test_name_based_manifests_add_one_package_listing_per_run(
    perf_emulator: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = Monorepo(tmp_path / "named", by_name=True)
    named.commit("twenty packages by name")

    counts = sync(perf_emulator, named, tmp_path / "state")

    assert statuses(capsys) == {"created": PACKAGES}
    # The probe's smallest page, then the whole listing that finds the names.
    assert counts == {LIST_PACKAGES: 2, LIST: PACKAGES, POST_REVISION: PACKAGES}


def test_the_daemons_drift_resync_reuses_its_context_and_lists_each_package_once(
    perf_emulator: RunningEmulator, monorepo: Monorepo, tmp_path: Path
) -> None:
    """What the daemon does: one ``Session`` for its life, ``full=True`` on a resync."""
    settings = Settings(
        git=GitSettings(repo=str(monorepo.git.root)),
        api=ApiSettings(url=perf_emulator.url, key=SecretStr(API_KEY)),
        state_dir=tmp_path / "daemon-state",
    )

    async def scenario() -> list[Counter[str]]:
        seen: list[Counter[str]] = []
        async with Session.open(settings) as session:
            for trigger, full, change in (
                ("startup", False, False),
                ("watch", False, True),
                ("resync", True, False),
            ):
                if change:
                    monorepo.change(11)
                perf_emulator.clear_requests()
                result = await sync_once(
                    settings, repo=monorepo.git.root, trigger=trigger, session=session, full=full
                )
                assert result.ok
                seen.append(requests(perf_emulator))
        return seen

    startup, one_commit, resync = asyncio.run(scenario())

    assert startup == {**PROBE, LIST: PACKAGES, POST_REVISION: PACKAGES}
    assert one_commit == {**PROBE, LIST: 1, POST_REVISION: 1}
    assert resync == {**PROBE, LIST: PACKAGES}


def _latest(perf_emulator: RunningEmulator, index: int) -> dict[str, Any]:
    return perf_emulator.store.revisions(package_id(index))[-1]


def _restamp(perf_emulator: RunningEmulator, rewrite: Callable[[str], str]) -> None:
    """Edit every package's latest description by hand, as someone in the portal could."""
    for index in range(PACKAGES):
        latest = _latest(perf_emulator, index)
        perf_emulator.store.update_revision(
            latest["id"], description=rewrite(latest["description"])
        )


def test_unstamped_revisions_cost_one_revision_fetch_each_when_lists_omit_code(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Revisions made by hand, or before stamps existed: the functions are fetched and compared."""
    sync(perf_emulator, monorepo, tmp_path / "first")
    _restamp(perf_emulator, lambda description: description.split("\n")[0])
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, tmp_path / "fresh-runner")

    assert statuses(capsys) == {"unchanged": PACKAGES}
    fetched = {GET_REVISION: PACKAGES} if omitted(perf_emulator) else {}
    assert counts == {**PROBE, LIST: PACKAGES, **fetched}


def test_a_tampered_stamp_is_not_trusted_the_functions_are_fetched_and_compared(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(perf_emulator, monorepo, tmp_path / "first")
    _restamp(
        perf_emulator,
        lambda description: re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, description),
    )
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, tmp_path / "fresh-runner")

    # Still equal in content: nothing to create, but each stamp cost the fetch it could not spare.
    assert statuses(capsys) == {"unchanged": PACKAGES}
    fetched = {GET_REVISION: PACKAGES} if omitted(perf_emulator) else {}
    assert counts == {**PROBE, LIST: PACKAGES, **fetched}


def test_a_lying_stamp_hides_drift_from_a_plain_sync_but_not_from_verify_content(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A hand-made revision whose description copies the right stamp over other code: trusted
    by a plain sync when lists omit code (one LIST), caught by ``--verify-content`` (and the
    daemon's resync); with code in the list it is compared, so it is caught at once."""
    sync(perf_emulator, monorepo, tmp_path / "first")
    honest = _latest(perf_emulator, 5)
    perf_emulator.store.add_revision(
        package_id(5),
        "edited-by-hand",
        [{**fn, "code": "export default 'edited';"} for fn in honest["functions"]],
        description=honest["description"],
    )
    capsys.readouterr()

    trusted = sync(perf_emulator, monorepo, tmp_path / "fresh-runner")
    if omitted(perf_emulator):
        assert statuses(capsys) == {"unchanged": PACKAGES}
        assert trusted == {**PROBE, LIST: PACKAGES}
    else:  # the list carries the code, so it is compared for free and the lie is seen
        assert statuses(capsys) == {"created": 1, "unchanged": PACKAGES - 1}
        assert trusted == {**PROBE, LIST: PACKAGES, POST_REVISION: 1}
        return

    verified = sync(perf_emulator, monorepo, tmp_path / "verifying-runner", "--verify-content")
    assert statuses(capsys) == {"created": 1, "unchanged": PACKAGES - 1}
    fetched = {GET_REVISION: PACKAGES} if omitted(perf_emulator) else {}
    assert verified == {**PROBE, LIST: PACKAGES, POST_REVISION: 1, **fetched}


def _changes(capsys: pytest.CaptureFixture[str], path: str) -> list[dict[str, str]]:
    document = json.loads(capsys.readouterr().out)
    (package,) = [p for p in document["packages"] if p["path"] == path]
    changes: list[dict[str, str]] = package["changes"]
    return changes


def test_a_change_after_a_stamp_trusting_run_reads_the_replaced_content_from_git(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The warm state came from a run that trusted stamps, so it never held the functions of
    the revision a change replaces; the tree that was in sync with it still does, in git."""
    sync(perf_emulator, monorepo, tmp_path / "first")
    state = tmp_path / "trusting-runner"
    sync(perf_emulator, monorepo, state)  # stamps trusted: nothing fetched, nothing cached by id
    monorepo.change(7)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state)

    assert counts == {**PROBE, LIST: 1, POST_REVISION: 1}
    # The diff is against what the replaced revision held: one function, not all of them.
    assert _changes(capsys, "pkg-07") == [{"function": "Filter", "change": "modified"}]


def test_verify_content_fetches_the_replaced_revision_instead_of_reading_it_from_git(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync(perf_emulator, monorepo, tmp_path / "first")
    state = tmp_path / "trusting-runner"
    sync(perf_emulator, monorepo, state)
    monorepo.change(7)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state, "--verify-content")

    assert statuses(capsys) == {"created": 1, "unchanged": PACKAGES - 1}
    fetched = {GET_REVISION: 1} if omitted(perf_emulator) else {}
    assert counts == {**PROBE, LIST: 1, POST_REVISION: 1, **fetched}


def test_a_tree_git_no_longer_has_costs_the_fetch_it_would_have_spared(
    perf_emulator: RunningEmulator,
    monorepo: Monorepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A shallow clone keeps no earlier trees: the record points at one that is gone, so the
    replaced revision is fetched as before (and nothing fails)."""
    sync(perf_emulator, monorepo, tmp_path / "first")
    state = tmp_path / "trusting-runner"
    sync(perf_emulator, monorepo, state)
    with sqlite3.connect(state / "cache.sqlite3") as db:
        db.execute("UPDATE packages SET tree_id = ? WHERE path = 'pkg-07'", ("ab" * 20,))
    db.close()
    monorepo.change(7)
    capsys.readouterr()

    counts = sync(perf_emulator, monorepo, state)

    assert statuses(capsys) == {"created": 1, "unchanged": PACKAGES - 1}
    fetched = {GET_REVISION: 1} if omitted(perf_emulator) else {}
    assert counts == {**PROBE, LIST: 1, POST_REVISION: 1, **fetched}

"""A revision list that lies never leads to a duplicate revision, end to end.

The real CLI (``--sync-once --full-sync``) against the emulator serving each lying-list fault,
with more revisions than a page (the emulator caps pages at 20) and the commit's tag already
taken by an old revision far beyond page 0 of the newest-first listing. Whatever the list does,
a package either syncs correctly (a suffix only for a name visibly held by other content, never
a second revision of the same content) or fails with one line naming the inconsistency, in a
bounded number of requests, and the other packages are unaffected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from faas_gitops.content import stamp_of
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.emulator.store import EmulatorStore
from tests.e2e.hardening.hardening_support import SyncCli, by_path
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, CHAT_ID, SAMPLE_REPO, sample_repo

pytestmark = pytest.mark.slow

OLD_REVISIONS = 100
PAGE_CAP = 20
TAG = "v1.0"
OTHER = [
    {
        "name": "Old Filter",
        "type": "BEFORE_PUBLISH",
        "language": "JAVASCRIPT",
        "sortOrder": 0,
        "code": "export default (request) => request.ok();",
        "config": {},
    }
]
LIST_PATH = f"/v2/faas/packages/{CHAT_ID}/package-revisions"
FAULTS = ["none", "null-data", "no-paging", "one-page", "ignore-page", "growing-pages"]


def config(fault: str) -> EmulatorConfig:
    return EmulatorConfig(
        api_key=API_KEY,
        list_order="created",
        max_page_size=PAGE_CAP,
        revision_list_fault=fault,  # type: ignore[arg-type]
    )


@pytest.fixture
def store() -> EmulatorStore:
    fresh = EmulatorStore()
    fresh.seed_from(SAMPLE_REPO)
    return fresh


@pytest.fixture
def tagged_repo(tmp_path: Path) -> GitRepo:
    return sample_repo(tmp_path / "repo").tag(TAG)


def add_old_revisions(store: EmulatorStore) -> None:
    for number in range(OLD_REVISIONS):
        store.add_revision(CHAT_ID, f"old-{number}", OTHER, description="made in the UI")


def lying(fault: str, store: EmulatorStore) -> Iterator[RunningEmulator]:
    with serve_in_thread(config(fault), store) as emulator:
        yield emulator


def list_gets(emulator: RunningEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "GET" and r.path == LIST_PATH)


def chat_posts(emulator: RunningEmulator) -> int:
    return sum(
        1
        for r in emulator.requests
        if r.method == "POST" and isinstance(r.body, dict) and r.body.get("packageId") == CHAT_ID
    )


def names(store: EmulatorStore) -> list[str]:
    return [rev["name"] for rev in store.revisions(CHAT_ID)]


def no_content_twice(store: EmulatorStore) -> None:
    """No two revisions of the package hold the same content (the duplicate the issue saw)."""
    stamps = Counter(stamp_of(rev["description"]) for rev in store.revisions(CHAT_ID))
    stamps.pop(None, None)
    assert all(count == 1 for count in stamps.values()), stamps


# Per fault: (expected error fragment or None, the chat package's bound on revision-list GETs
# per run). A complete read of 101..103 revisions in pages of 20 takes at most 7 requests; the
# first read of a newest-first list takes 1; the second look after a 409, at most 2.
BOUND = 1 + 7 + 2
INCONSISTENT = "the API's revision list is inconsistent: page 1 repeats page 0 (same ids)"
NULL = "has no list ('data' is null)"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_tag_taken_by_other_content_beyond_page_0_is_suffixed_once_or_fails_in_one_line(
    fault: str,
    store: EmulatorStore,
    tagged_repo: GitRepo,
    hardened_cli: SyncCli,
) -> None:
    # The oldest revision holds the tag with other content; 100 newer ones push it to page 5.
    store.add_revision(CHAT_ID, TAG, OTHER, description="made in the UI")
    add_old_revisions(store)
    for emulator in lying(fault, store):
        for attempt in range(2):
            emulator.clear_requests()
            run = hardened_cli(emulator, tagged_repo, "--output", "json", "--full-sync")
            chat = by_path(run)["chat-moderation"]
            assert list_gets(emulator) <= BOUND
            assert chat_posts(emulator) <= 2
            if fault == "null-data":
                assert run.code == 1
                assert all(NULL in p["error"] for p in by_path(run).values())
                assert list_gets(emulator) == 1
                assert chat_posts(emulator) == 0
                continue
            others = {p: o["status"] for p, o in by_path(run).items() if p != "chat-moderation"}
            expected_other = "created" if attempt == 0 else "unchanged"
            assert others == {"webhooks": expected_other, "presence-tracker": expected_other}
            if fault == "ignore-page":
                assert run.code == 1
                assert chat["status"] == "failed"
                assert INCONSISTENT in chat["error"]
                assert "\n" not in chat["error"]
                assert list_gets(emulator) == 3  # the first read; the re-read: page 0, page 1 == 0
                assert chat_posts(emulator) == 1  # the create that met the 409
            else:
                assert run.code == 0, run.stderr
                assert chat["status"] == ("created" if attempt == 0 else "unchanged")
                assert chat["revisionName"] == f"{TAG}-2"
        assert names(store).count(f"{TAG}-2") == (0 if fault in ("null-data", "ignore-page") else 1)
        assert f"{TAG}-3" not in names(store)
        no_content_twice(store)

        # A new commit: a new name nobody holds, so even a lying list cannot lead to a suffix.
        tagged_repo.write("chat-moderation/audit-log.js", "export default (r) => r.ok(); // v2\n")
        sha = tagged_repo.commit("Change the audit log")[:12]
        emulator.clear_requests()
        run = hardened_cli(emulator, tagged_repo, "--output", "json", "--full-sync")
        assert list_gets(emulator) <= BOUND
        if fault == "null-data":
            assert run.code == 1
            assert chat_posts(emulator) == 0
        else:
            assert by_path(run)["chat-moderation"]["revisionName"] == sha
            assert chat_posts(emulator) == 1
        assert not [name for name in names(store) if name.startswith(f"{sha}-")]
        no_content_twice(store)


@pytest.mark.parametrize("fault", FAULTS)
def test_our_own_revision_hidden_beyond_page_0_is_adopted_never_created_again(
    fault: str,
    store: EmulatorStore,
    tagged_repo: GitRepo,
    hardened_cli: SyncCli,
) -> None:
    # A first sync against an honest API made v1.0 for every package; then someone made 100
    # revisions with other content, so ours is the oldest, beyond page 0.
    with serve_in_thread(config("none"), store) as honest:
        first = hardened_cli(honest, tagged_repo, "--output", "json")
        assert first.code == 0, first.stderr
    add_old_revisions(store)
    before = len(names(store))
    for emulator in lying(fault, store):
        for _ in range(2):
            emulator.clear_requests()
            run = hardened_cli(emulator, tagged_repo, "--output", "json", "--full-sync")
            chat = by_path(run)["chat-moderation"]
            assert list_gets(emulator) <= BOUND
            assert chat_posts(emulator) <= 1
            if fault == "null-data":
                assert run.code == 1
                assert NULL in chat["error"]
                assert chat_posts(emulator) == 0
            elif fault == "ignore-page":
                assert run.code == 1
                assert INCONSISTENT in chat["error"]
                assert list_gets(emulator) == 3
            else:
                assert run.code == 0, run.stderr
                assert chat["status"] == "adopted"
                assert chat["revisionName"] == TAG
            if fault != "null-data":
                others = {p: o["status"] for p, o in by_path(run).items() if p != "chat-moderation"}
                assert others == {"webhooks": "unchanged", "presence-tracker": "unchanged"}
        assert len(names(store)) == before
        assert not [name for name in names(store) if name.startswith(f"{TAG}-")]
        no_content_twice(store)


def test_a_409_on_a_name_no_listing_shows_fails_the_package_and_creates_no_suffix(
    store: EmulatorStore,
    tagged_repo: GitRepo,
    hardened_cli: SyncCli,
) -> None:
    add_old_revisions(store)
    # The server says the name is taken, yet no listing, however made, shows it.
    store.force_error(CHAT_ID, status=409, code="FAAS-409", message="name taken", methods=("POST",))
    for emulator in lying("none", store):
        run = hardened_cli(emulator, tagged_repo, "--output", "json")
        chat = by_path(run)["chat-moderation"]
        assert run.code == 1
        assert chat["status"] == "failed"
        assert "the API's revision list is inconsistent" in chat["error"]
        assert f"answered 409 for name {TAG!r}" in chat["error"]
        assert "\n" not in chat["error"]
        assert chat_posts(emulator) == 1
        assert list_gets(emulator) <= BOUND
        others = {p: o["status"] for p, o in by_path(run).items() if p != "chat-moderation"}
        assert others == {"webhooks": "created", "presence-tracker": "created"}
        assert names(store) == [f"old-{n}" for n in range(OLD_REVISIONS)]

"""The state cache: remembered across processes, keyed by API, disposable when broken."""

from __future__ import annotations

from pathlib import Path

from faas_gitops.models import FunctionSpec, Outcome, PackageRef, Status
from faas_gitops.state.cache import CACHE_FILENAME, StateCache

SPEC = FunctionSpec(name="f", type="BEFORE_PUBLISH", code="c", config={"a": [1, 2]})


def package(path: str, tree: str) -> PackageRef:
    return PackageRef(path, tree, commit="c" * 40)


def test_revisions_and_package_states_survive_a_new_process(tmp_path: Path) -> None:
    first = StateCache(tmp_path, "http://api")
    first.put("r1", [SPEC])
    first.remember(
        [package("a", "t1"), package("b", "t2")],
        [
            Outcome("a", Status.CREATED, "pid", "v1", "r1"),
            Outcome("b", Status.FAILED, "pid", error="boom"),
        ],
    )
    first.close()

    second = StateCache(tmp_path, "http://api")
    assert second.get("r1") == (SPEC,)
    synced = second.synced("a")
    assert synced is not None
    assert (synced.tree_id, synced.revision_id, synced.revision_name) == ("t1", "r1", "v1")
    assert second.synced("b") is None  # failures are never remembered as in sync
    second.close()


def test_a_package_that_fails_later_is_forgotten(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://api")
    cache.remember([package("a", "t1")], [Outcome("a", Status.UNCHANGED, "pid", "v1", "r1")])
    cache.flush()
    cache.remember([package("a", "t1")], [Outcome("a", Status.FAILED, "pid", error="x")])
    cache.close()
    assert StateCache(tmp_path, "http://api").synced("a") is None


def test_entries_of_one_api_are_invisible_to_another(tmp_path: Path) -> None:
    cache = StateCache(tmp_path, "http://emulator")
    cache.put("r1", [SPEC])
    cache.remember([package("a", "t1")], [Outcome("a", Status.CREATED, "pid", "v1", "r1")])
    cache.close()
    other = StateCache(tmp_path, "https://admin-api.pubnub.com")
    assert other.get("r1") is None
    assert other.synced("a") is None
    other.close()


def test_a_corrupt_cache_file_is_replaced_not_fatal(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    cache = StateCache(tmp_path, "http://api")
    cache.put("r1", [SPEC])
    cache.close()
    assert StateCache(tmp_path, "http://api").get("r1") == (SPEC,)


def test_a_memory_only_cache_writes_nothing(tmp_path: Path) -> None:
    cache = StateCache(None, "http://api")
    cache.put("r1", [SPEC])
    assert cache.get("r1") == (SPEC,)
    cache.close()
    assert list(tmp_path.iterdir()) == []

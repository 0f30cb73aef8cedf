"""Seeding from a repository of manifests, and state that survives a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from faas_gitops.emulator import EmulatorConfig, EmulatorStore, serve_in_thread
from tests.emulator.emulator_support import HEADERS, function
from tests.harness import API_KEY, StartEmulator

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).


def write_manifest(directory: Path, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.yaml").write_text(text, encoding="utf-8")


def test_seed_from_creates_the_packages_named_by_the_manifests_without_revisions(
    tmp_path: Path,
) -> None:
    write_manifest(tmp_path / "chat", "packageId: pkg-chat\nname: Chat\ndescription: talk\n")
    write_manifest(tmp_path / "nested" / "presence", "packageId: pkg-presence\n")
    write_manifest(tmp_path / "noid", "name: No Id\n")
    write_manifest(tmp_path / ".git" / "hidden", "packageId: pkg-hidden\n")
    write_manifest(tmp_path / "broken", "packageId: [unclosed\n")
    store = EmulatorStore()

    created = store.seed_from(tmp_path)

    assert [(p["id"], p["name"], p["description"]) for p in created] == [
        ("pkg-chat", "Chat", "talk"),
        ("pkg-presence", "presence", ""),
        (created[2]["id"], "No Id", ""),
    ]
    assert all(store.revisions(p["id"]) == [] for p in created)


def test_seeding_twice_skips_packages_already_present(tmp_path: Path) -> None:
    write_manifest(tmp_path / "chat", "packageId: pkg-chat\nname: Chat\n")
    write_manifest(tmp_path / "noid", "name: No Id\n")
    store = EmulatorStore()
    store.seed_from(tmp_path)

    assert store.seed_from(tmp_path) == []
    assert len(store.packages()) == 2


def test_a_seeded_emulator_serves_the_packages_by_their_ids(
    tmp_path: Path, start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    write_manifest(tmp_path / "chat", "packageId: pkg-chat\nname: Chat\n")
    store = EmulatorStore()
    store.seed_from(tmp_path)

    response = faas_client_for(start_emulator(store=store)).get("/v2/faas/packages/pkg-chat")

    assert response.json()["data"]["name"] == "Chat"


@pytest.mark.slow
def test_the_state_file_keeps_packages_and_revisions_across_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(api_key=API_KEY, state_file=tmp_path / "state" / "emulator.json")
    with serve_in_thread(config) as first, httpx.Client(base_url=first.url, headers=HEADERS) as api:
        package = api.post("/v2/faas/packages", json={"name": "chat"}).json()["data"]
        revision = api.post(
            "/v2/faas/package-revisions",
            json={"packageId": package["id"], "name": "v1", "functions": [function()]},
        ).json()["data"]

    with (
        serve_in_thread(config) as second,
        httpx.Client(base_url=second.url, headers=HEADERS) as api,
    ):
        fetched = api.get(f"/v2/faas/package-revisions/{revision['id']}").json()["data"]
        total = api.get(f"/v2/faas/packages/{package['id']}").json()["data"]["revisionsTotal"]
        later = api.post(
            "/v2/faas/package-revisions",
            json={"packageId": package["id"], "name": "v2", "functions": [function()]},
        ).json()["data"]

    assert fetched == revision
    assert total == 1
    assert later["createdDttm"] > revision["functions"][0]["createdDttm"]
    assert later["functions"][0]["id"] == revision["functions"][0]["id"]
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["emulator.json"]


def test_the_state_file_is_plain_json_rewritten_after_every_change(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    store = EmulatorStore(state)

    package = store.add_package(name="chat")
    store.update_package(package["id"], description="changed")

    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [p["description"] for p in saved["packages"]] == ["changed"]
    store.delete_package(package["id"])
    assert json.loads(state.read_text(encoding="utf-8"))["packages"] == []

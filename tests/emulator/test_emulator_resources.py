"""Packages and revisions: shapes, creates, updates, deletes, validation, uniqueness, errors."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from faas_gitops.emulator import EmulatorStore
from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import function
from tests.harness import StartEmulator

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).

PACKAGE_KEYS = {
    "id",
    "packageBlueprintId",
    "name",
    "description",
    "apiManaged",
    "tags",
    "revisionsTotal",
    "revisionsRunning",
    "packageDeploymentsTotal",
    "packageDeploymentsRunning",
    "createdDttm",
    "updatedDttm",
}
REVISION_KEYS = {
    "id",
    "packageId",
    "name",
    "description",
    "packageDeploymentsTotal",
    "packageDeploymentsRunning",
    "createdDttm",
    "updatedDttm",
    "functions",
}
FUNCTION_KEYS = {
    "id",
    "functionRevisionId",
    "packageRevisionId",
    "name",
    "language",
    "type",
    "sortOrder",
    "code",
    "config",
    "createdDttm",
    "updatedDttm",
}


def error_of(response: httpx.Response) -> dict[str, str]:
    errors: list[dict[str, str]] = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]


def create_revision(faas: httpx.Client, package_id: str, name: str, **extra: Any) -> httpx.Response:
    body = {"packageId": package_id, "name": name, "functions": [function()], **extra}
    return faas.post("/v2/faas/package-revisions", json=body)


# ------------------------------------------------------------------- packages


def test_creating_a_package_with_functions_creates_its_initial_revision(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    response = faas.post(
        "/v2/faas/packages",
        json={
            "name": "chat",
            "description": "chat helpers",
            "tags": ["a"],
            "revisionName": "first",
            "functions": [function("f1"), function("f2", type="AFTER_PUBLISH")],
        },
    )

    package = response.json()["data"]
    assert response.status_code == 201
    assert set(package) == PACKAGE_KEYS
    assert (package["name"], package["description"], package["tags"]) == (
        "chat",
        "chat helpers",
        ["a"],
    )
    assert package["revisionsTotal"] == 1
    [revision] = emu.store.revisions(package["id"])
    assert revision["name"] == "first"
    assert [f["name"] for f in revision["functions"]] == ["f1", "f2"]


def test_creating_a_package_without_functions_creates_no_revision(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = faas.post("/v2/faas/packages", json={"name": "empty"}).json()["data"]

    assert package["revisionsTotal"] == 0
    assert emu.store.revisions(package["id"]) == []


def test_the_initial_revision_is_named_v1_when_no_revision_name_is_given(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = faas.post(
        "/v2/faas/packages", json={"name": "chat", "functions": [function()]}
    ).json()["data"]

    assert [r["name"] for r in emu.store.revisions(package["id"])] == ["v1"]


def test_a_duplicate_package_name_is_409(emu: RunningEmulator, faas: httpx.Client) -> None:
    emu.store.add_package(name="chat")

    response = faas.post("/v2/faas/packages", json={"name": "chat"})

    assert response.status_code == 409
    assert error_of(response)["code"] == "FAAS-409"


def test_a_package_can_be_read_renamed_and_deleted_with_its_revisions(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat", description="old")
    revision = emu.store.add_revision(package["id"], name="v1", functions=[function()])
    path = f"/v2/faas/packages/{package['id']}"

    fetched = faas.get(path)
    updated = faas.put(path, json={"name": "chat2", "description": "new", "tags": ["x"]})
    deleted = faas.delete(path)

    assert fetched.json()["data"] == package | {"revisionsTotal": 1}
    data = updated.json()["data"]
    assert (data["name"], data["description"], data["tags"]) == ("chat2", "new", ["x"])
    assert data["updatedDttm"] > data["createdDttm"]
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert faas.get(path).status_code == 400
    assert faas.get(f"/v2/faas/package-revisions/{revision['id']}").status_code == 400


def test_renaming_a_package_to_a_taken_name_is_409(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    emu.store.add_package(name="a")
    package = emu.store.add_package(name="b")

    response = faas.put(f"/v2/faas/packages/{package['id']}", json={"name": "a"})

    assert response.status_code == 409


# ------------------------------------------------------------------ revisions


def test_a_created_revision_is_answered_in_full_and_can_be_fetched(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")

    created = create_revision(faas, package["id"], "v1", description="first")
    revision = created.json()["data"]
    fetched = faas.get(f"/v2/faas/package-revisions/{revision['id']}").json()["data"]

    assert created.status_code == 201
    assert set(revision) == REVISION_KEYS
    assert set(revision["functions"][0]) == FUNCTION_KEYS
    assert revision["functions"][0]["packageRevisionId"] == revision["id"]
    assert revision["functions"][0]["id"] != revision["functions"][0]["functionRevisionId"]
    assert (revision["packageId"], revision["description"]) == (package["id"], "first")
    assert fetched == revision


def test_function_defaults_are_javascript_index_sort_order_and_empty_config(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    bare = {"name": "g", "type": "ON_REQUEST", "code": "x"}

    revision = faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": package["id"], "name": "v1", "functions": [function("f"), bare]},
    ).json()["data"]

    second = revision["functions"][1]
    assert (second["language"], second["sortOrder"], second["config"]) == ("JAVASCRIPT", 1, {})


def test_a_function_keeps_its_id_across_revisions_but_gets_a_new_function_revision_id(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")

    one = create_revision(faas, package["id"], "v1").json()["data"]["functions"][0]
    two = create_revision(faas, package["id"], "v2").json()["data"]["functions"][0]

    assert one["id"] == two["id"]
    assert one["functionRevisionId"] != two["functionRevisionId"]


def test_a_revision_name_and_description_can_be_updated_but_not_its_functions(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    revision = emu.store.add_revision(package["id"], name="v1", functions=[function(code="A")])

    response = faas.put(
        f"/v2/faas/package-revisions/{revision['id']}",
        json={"name": "v1-renamed", "description": "d", "functions": [function(code="B")]},
    )

    data = response.json()["data"]
    assert (data["name"], data["description"]) == ("v1-renamed", "d")
    assert data["functions"][0]["code"] == "A"


def test_a_revision_can_be_deleted(emu: RunningEmulator, faas: httpx.Client) -> None:
    package = emu.store.add_package(name="chat")
    revision = emu.store.add_revision(package["id"], name="v1", functions=[function()])

    response = faas.delete(f"/v2/faas/package-revisions/{revision['id']}")

    assert response.status_code == 204
    assert emu.store.revisions(package["id"]) == []
    assert faas.get(f"/v2/faas/packages/{package['id']}").json()["data"]["revisionsTotal"] == 0


def test_a_revision_name_taken_in_the_same_package_is_409(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    other = emu.store.add_package(name="other")
    emu.store.add_revision(package["id"], name="v1", functions=[function()])

    duplicate = create_revision(faas, package["id"], "v1")
    elsewhere = create_revision(faas, other["id"], "v1")

    assert duplicate.status_code == 409
    assert error_of(duplicate)["code"] == "FAAS-409"
    assert elsewhere.status_code == 201


def test_renaming_a_revision_to_a_taken_name_is_409(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    emu.store.add_revision(package["id"], name="v1", functions=[function()])
    second = emu.store.add_revision(package["id"], name="v2", functions=[function()])

    response = faas.put(f"/v2/faas/package-revisions/{second['id']}", json={"name": "v1"})

    assert response.status_code == 409


def test_created_dttm_strictly_increases_even_when_the_clock_stands_still(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(store=EmulatorStore(clock=lambda: 1_767_225_600.0))
    faas = faas_client_for(emu)
    package = faas.post("/v2/faas/packages", json={"name": "chat"}).json()["data"]
    revisions = [create_revision(faas, package["id"], f"v{i}").json()["data"] for i in range(3)]

    stamps = [package["createdDttm"]] + [
        stamp
        for revision in revisions
        for stamp in [revision["createdDttm"]] + [f["createdDttm"] for f in revision["functions"]]
    ]
    assert stamps[0] == "2026-01-01T00:00:00.000Z"
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert stamps[-1] == "2026-01-01T00:00:00.006Z"


# ------------------------------------------------------------------ not found


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/faas/packages/nope"),
        ("PUT", "/v2/faas/packages/nope"),
        ("DELETE", "/v2/faas/packages/nope"),
        ("GET", "/v2/faas/packages/nope/package-revisions"),
        ("GET", "/v2/faas/package-revisions/nope"),
        ("PUT", "/v2/faas/package-revisions/nope"),
        ("DELETE", "/v2/faas/package-revisions/nope"),
        ("GET", "/v2/faas/package-revisions/nope/functions"),
    ],
)
def test_an_unknown_id_is_faas_1004_with_status_400_by_default(
    faas: httpx.Client, method: str, path: str
) -> None:
    body = {"name": "x"} if method == "PUT" else None

    response = faas.request(method, path, json=body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "FAAS-1004"


def test_creating_a_revision_for_an_unknown_package_is_faas_1004(faas: httpx.Client) -> None:
    response = create_revision(faas, "no-such-package", "v1")

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "FAAS-1004",
        "message": "Package with ID [no-such-package] was not found!",
    }


def test_not_found_answers_404_when_configured(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faas = faas_client_for(start_emulator(not_found_status=404))

    package = faas.get("/v2/faas/packages/nope")
    revision = create_revision(faas, "nope", "v1")

    assert (package.status_code, revision.status_code) == (404, 404)
    assert error_of(package)["code"] == "FAAS-1004"


def test_creates_answer_200_when_configured(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    faas = faas_client_for(start_emulator(create_status=200))

    package = faas.post("/v2/faas/packages", json={"name": "chat"})
    revision = create_revision(faas, package.json()["data"]["id"], "v1")

    assert (package.status_code, revision.status_code) == (200, 200)


# ----------------------------------------------------------------- validation

TOO_MANY = 4

REVISION_CASES: list[tuple[Any, str]] = [
    (["not", "an", "object"], "body"),
    ({"name": "v1", "functions": [function()]}, "packageId"),
    ({"packageId": 5, "name": "v1", "functions": [function()]}, "packageId"),
    ({"packageId": "P", "functions": [function()]}, "name"),
    ({"packageId": "P", "name": "", "functions": [function()]}, "name"),
    ({"packageId": "P", "name": 3, "functions": [function()]}, "name"),
    ({"packageId": "P", "name": "v1", "description": 5, "functions": [function()]}, "description"),
    ({"packageId": "P", "name": "v1"}, "functions"),
    ({"packageId": "P", "name": "v1", "functions": []}, "functions"),
    ({"packageId": "P", "name": "v1", "functions": {"a": 1}}, "functions"),
    ({"packageId": "P", "name": "v1", "functions": [function(), "f"]}, "functions[1]"),
    (
        {
            "packageId": "P",
            "name": "v1",
            "functions": [function(), {"type": "ON_REQUEST", "code": ""}],
        },
        "functions[1].name",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", type=None)]},
        "functions[1].type",
    ),
    (
        {
            "packageId": "P",
            "name": "v1",
            "functions": [function(), function("g", type="ON_PUBLISH")],
        },
        "functions[1].type",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", code=None)]},
        "functions[1].code",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", code=42)]},
        "functions[1].code",
    ),
    (
        {
            "packageId": "P",
            "name": "v1",
            "functions": [function(), function("g", language="PYTHON")],
        },
        "functions[1].language",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", sortOrder="1")]},
        "functions[1].sortOrder",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", sortOrder=True)]},
        "functions[1].sortOrder",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function(), function("g", config=[])]},
        "functions[1].config",
    ),
    (
        {"packageId": "P", "name": "v1", "functions": [function("f"), function("f")]},
        "functions[1].name",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"), REVISION_CASES, ids=[c[1] + f"-{i}" for i, c in enumerate(REVISION_CASES)]
)
def test_an_invalid_revision_body_is_400_naming_the_field(
    emu: RunningEmulator, faas: httpx.Client, body: Any, field: str
) -> None:
    emu.store.add_package(name="p", package_id="P")

    response = faas.post("/v2/faas/package-revisions", json=body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "FAAS-400"
    assert error["message"].startswith(f"{field}:")
    assert emu.store.revisions("P") == []


@pytest.mark.parametrize(
    "type_",
    [
        "BEFORE_PUBLISH",
        "AFTER_PUBLISH",
        "BEFORE_PUBLISH_FILE",
        "AFTER_PUBLISH_FILE",
        "BEFORE_SIGNAL",
        "AFTER_SIGNAL",
        "AFTER_PRESENCE",
        "ON_INTERVAL",
        "ON_REQUEST",
        "SUBSCRIBE_ON_INTERVAL",
    ],
)
def test_every_documented_function_type_is_accepted(
    emu: RunningEmulator, faas: httpx.Client, type_: str
) -> None:
    emu.store.add_package(name="p", package_id="P")

    response = faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": "P", "name": "v1", "functions": [function(type=type_)]},
    )

    assert response.status_code == 201


PACKAGE_CASES: list[tuple[dict[str, Any], str]] = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "p", "tags": "a"}, "tags"),
    ({"name": "p", "tags": [1]}, "tags"),
    ({"name": "p", "apiManaged": "yes"}, "apiManaged"),
    ({"name": "p", "revisionName": ""}, "revisionName"),
    ({"name": "p", "functions": [function(type="NOPE")]}, "functions[0].type"),
]


@pytest.mark.parametrize(("body", "field"), PACKAGE_CASES)
def test_an_invalid_package_body_is_400_naming_the_field(
    emu: RunningEmulator, faas: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = faas.post("/v2/faas/packages", json=body)

    assert response.status_code == 400
    assert error_of(response)["message"].startswith(f"{field}:")
    assert emu.store.packages() == []


def test_more_functions_than_the_limit_is_422_faas_1006(
    start_emulator: StartEmulator, faas_client_for: Any
) -> None:
    emu = start_emulator(max_functions=TOO_MANY - 1)
    faas = faas_client_for(emu)
    package = emu.store.add_package(name="chat")
    functions = [function(f"f{i}") for i in range(TOO_MANY)]

    revision = faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": package["id"], "name": "v1", "functions": functions},
    )
    new_package = faas.post("/v2/faas/packages", json={"name": "p2", "functions": functions})
    at_limit = faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": package["id"], "name": "v1", "functions": functions[:-1]},
    )

    assert (revision.status_code, new_package.status_code) == (422, 422)
    assert error_of(revision)["code"] == "FAAS-1006"
    assert at_limit.status_code == 201


# -------------------------------------------------------------- forced errors


def test_a_forced_error_answers_every_request_concerning_the_package(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="locked")
    revision = emu.store.add_revision(package["id"], name="v1", functions=[function()])
    other = emu.store.add_package(name="free")
    emu.store.force_error(package["id"], status=403, code="FAAS-403", message="no access")

    answers = [
        faas.get(f"/v2/faas/packages/{package['id']}"),
        faas.get(f"/v2/faas/packages/{package['id']}/package-revisions"),
        create_revision(faas, package["id"], "v2"),
        faas.get(f"/v2/faas/package-revisions/{revision['id']}"),
        faas.get(f"/v2/faas/package-revisions/{revision['id']}/functions"),
    ]

    assert {(a.status_code, error_of(a)["code"], error_of(a)["message"]) for a in answers} == {
        (403, "FAAS-403", "no access")
    }
    assert faas.get(f"/v2/faas/packages/{other['id']}").status_code == 200
    assert len(emu.store.revisions(package["id"])) == 1


def test_a_forced_error_applies_only_to_its_methods(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="locked")
    emu.store.force_error(package["id"], status=500, code="FAAS-500", methods=("PUT",))

    assert faas.get(f"/v2/faas/packages/{package['id']}").status_code == 200
    assert faas.put(f"/v2/faas/packages/{package['id']}", json={}).status_code == 500


def test_a_forced_error_with_times_applies_to_the_next_n_requests_only(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="flaky")
    emu.store.force_error(package["id"], status=503, code="FAAS-500", times=2)
    path = f"/v2/faas/packages/{package['id']}"

    assert [faas.get(path).status_code for _ in range(3)] == [503, 503, 200]


def test_forced_errors_can_be_cleared(emu: RunningEmulator, faas: httpx.Client) -> None:
    package = emu.store.add_package(name="locked")
    emu.store.force_error(package["id"])

    emu.store.clear_forced_errors()

    assert faas.get(f"/v2/faas/packages/{package['id']}").status_code == 200

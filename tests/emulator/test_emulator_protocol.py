"""The protocol every /v2/faas request meets: auth, version, media type, JSON, envelope."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.emulator.emulator_support import HEADERS, function
from tests.harness import API_KEY

# Shared fixtures come from a plugin, not a second conftest.py (see emulator_support).

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_a_success_answer_has_data_meta_and_empty_errors(faas: httpx.Client) -> None:
    response = faas.get("/v2/faas/packages")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"data", "meta", "errors"}
    assert body["errors"] == []
    assert TIMESTAMP.match(body["meta"]["timestamp"])
    uuid.UUID(body["meta"]["correlationId"])


def test_every_answer_carries_a_fresh_correlation_id_also_as_a_header(
    faas: httpx.Client,
) -> None:
    first = faas.get("/v2/faas/packages")
    second = faas.get("/v2/faas/packages/missing")

    ids = [r.json()["meta"]["correlationId"] for r in (first, second)]
    assert ids[0] != ids[1]
    assert [r.headers["X-Correlation-Id"] for r in (first, second)] == ids


def test_an_error_answer_has_meta_and_errors_but_no_data(faas: httpx.Client) -> None:
    response = faas.get("/v2/faas/packages/missing")

    body = response.json()
    assert set(body) == {"meta", "errors"}
    assert body["errors"] == [
        {"code": "FAAS-1004", "message": "Package with ID [missing] was not found!"}
    ]


def test_a_request_without_authorization_is_401_faas_1001(emu: RunningEmulator) -> None:
    response = httpx.get(f"{emu.url}/v2/faas/packages", headers={"PubNub-Version": "2026-05-26"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "FAAS-1001"


@pytest.mark.parametrize("key", ["wrong-key", f"Bearer {API_KEY}", API_KEY + "x"])
def test_a_request_with_another_key_is_401_faas_1002(emu: RunningEmulator, key: str) -> None:
    response = httpx.get(
        f"{emu.url}/v2/faas/packages",
        headers={"Authorization": key, "PubNub-Version": "2026-05-26"},
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "FAAS-1002"


def test_authentication_is_checked_before_the_version_header(emu: RunningEmulator) -> None:
    response = httpx.post(f"{emu.url}/v2/faas/packages", content=b"{not json")

    assert response.status_code == 401


def test_a_request_without_pubnub_version_is_400_naming_the_header(
    emu: RunningEmulator,
) -> None:
    response = httpx.get(f"{emu.url}/v2/faas/packages", headers={"Authorization": API_KEY})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "FAAS-400"
    assert error["message"].startswith("PubNub-Version:")


@pytest.mark.parametrize("version", ["2026-5-26", "26-05-2026", "2026-13-01", "latest", ""])
def test_a_malformed_pubnub_version_is_400(emu: RunningEmulator, version: str) -> None:
    response = httpx.get(
        f"{emu.url}/v2/faas/packages",
        headers={"Authorization": API_KEY, "PubNub-Version": version},
    )

    assert response.status_code == 400
    assert "PubNub-Version" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_415(
    faas: httpx.Client, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = faas.post("/v2/faas/packages", content=b'{"name": "a"}', headers=headers)

    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "FAAS-415"


def test_a_json_content_type_with_a_charset_is_accepted(faas: httpx.Client) -> None:
    response = faas.post(
        "/v2/faas/packages",
        content=b'{"name": "a"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"name": "a"'])
def test_malformed_json_is_400_faas_1003(faas: httpx.Client, raw: bytes) -> None:
    response = faas.post(
        "/v2/faas/packages", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "FAAS-1003"


def test_paths_outside_v2_faas_are_404_without_authentication(emu: RunningEmulator) -> None:
    response = httpx.get(f"{emu.url}/v2/keysets")

    assert response.status_code == 404


def test_an_unknown_faas_path_is_404_with_the_envelope(faas: httpx.Client) -> None:
    response = faas.get("/v2/faas/nothing-here")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "FAAS-404"


def test_an_unknown_method_on_a_known_path_is_405_faas_405(faas: httpx.Client) -> None:
    response = faas.patch("/v2/faas/packages")

    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "FAAS-405"


def test_the_request_log_records_each_request_in_order_without_the_key(
    emu: RunningEmulator, faas: httpx.Client
) -> None:
    package = emu.store.add_package(name="chat")
    faas.get("/v2/faas/packages", params={"page": "0", "size": "5"})
    faas.post(
        "/v2/faas/package-revisions",
        json={"packageId": package["id"], "name": "v1", "functions": [function()]},
    )

    records = emu.requests
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/v2/faas/packages", 200),
        ("POST", "/v2/faas/package-revisions", 201),
    ]
    assert records[0].query == {"page": "0", "size": "5"}
    assert records[0].body is None
    assert isinstance(records[1].body, dict)
    assert records[1].body["name"] == "v1"
    assert records[1].headers["pubnub-version"] == HEADERS["PubNub-Version"]
    assert all("authorization" not in r.headers for r in records)
    emu.clear_requests()
    assert emu.requests == []

"""The first call of a run names a wrong or unreachable ``--api-url`` in one line, fast.

Real sockets on 127.0.0.1: a plain ``http.server``, the emulator under a wrong base path, a
refused port and a TLS attempt on a plain-HTTP port.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from faas_gitops.api import ApiClient, RequestStats
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.errors import ApiNotFound, ApiUnreachable, ApiUrlError, ConfigError
from faas_gitops.settings import ApiSettings
from tests.harness import API_KEY, closed_port

# An empty emulator: a probe of the right URL lists no package.
pytestmark = pytest.mark.emulator(sample=False)
DEFAULT = "check the URL (default https://admin-api.pubnub.com)"


def probe(url: str, stats: RequestStats | None = None) -> None:
    async def go() -> None:
        async with ApiClient.open(
            ApiSettings(url=url, key=API_KEY), observers=[stats] if stats else ()
        ) as api:
            await api.probe()

    asyncio.run(go())


@pytest.mark.slow
def test_some_other_http_server_is_named_as_a_wrong_url(plain_http: str) -> None:
    stats = RequestStats()
    with pytest.raises(ApiUrlError) as caught:
        probe(plain_http, stats)
    assert str(caught.value) == (
        f"--api-url {plain_http}: GET /v2/faas/packages answered 404 (not a FaaS API); {DEFAULT}"
    )
    assert isinstance(caught.value, ConfigError)
    assert stats.total == 1


def test_the_emulator_under_a_wrong_base_path_is_a_wrong_url(emulator: RunningEmulator) -> None:
    url = f"{emulator.url}/api"
    with pytest.raises(ApiUrlError) as caught:
        probe(url)
    assert str(caught.value) == (
        f"--api-url {url}: GET /v2/faas/packages answered 404 (not a FaaS API); {DEFAULT}"
    )


def test_the_right_url_passes_the_probe(emulator: RunningEmulator) -> None:
    stats = RequestStats()
    probe(emulator.url, stats)
    assert stats.by_endpoint == {"GET /v2/faas/packages": 1}


def test_a_404_on_one_package_is_not_blamed_on_the_url(emulator: RunningEmulator) -> None:
    async def go() -> None:
        async with ApiClient.open(ApiSettings(url=emulator.url, key=API_KEY)) as api:
            await api.get_package("00000000-0000-0000-0000-000000000000")

    with pytest.raises(ApiNotFound) as caught:
        asyncio.run(go())
    assert not isinstance(caught.value, ApiUrlError)


@pytest.mark.slow
def test_a_refused_port_is_named_with_its_cause_after_three_short_tries() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    stats = RequestStats()
    with pytest.raises(ApiUnreachable) as caught:
        probe(url, stats)
    assert str(caught.value) == (
        f"--api-url {url}: GET /v2/faas/packages: connection refused to 127.0.0.1:{port}"
        " (gave up after 3 tries)"
    )
    assert stats.total == 3


@pytest.mark.slow
def test_tls_to_a_plain_http_port_says_it_may_be_plain_http(emulator: RunningEmulator) -> None:
    url = emulator.url.replace("http://", "https://")
    port = url.rsplit(":", 1)[1]
    with pytest.raises(ApiUnreachable) as caught:
        probe(url)
    assert str(caught.value) == (
        f"--api-url {url}: GET /v2/faas/packages: TLS handshake failed with 127.0.0.1:{port}:"
        " is it plain HTTP? (try http://) (gave up after 3 tries)"
    )


@pytest.mark.slow
def test_an_unknown_host_is_named() -> None:
    with pytest.raises(ApiUnreachable, match=r"cannot resolve host no-such-host\.invalid"):
        probe("http://no-such-host.invalid")


def test_a_200_that_is_not_the_faas_envelope_is_a_wrong_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="<html>welcome</html>")

    async def go() -> None:
        settings = ApiSettings(url="http://intranet.example", key="raw-key-123456")
        async with ApiClient.open(settings, transport=httpx.MockTransport(handler)) as api:
            await api.probe()

    with pytest.raises(ApiUrlError) as caught:
        asyncio.run(go())
    assert str(caught.value) == (
        "--api-url http://intranet.example: GET /v2/faas/packages answered 200 with a body"
        f" that is not the FaaS JSON envelope; {DEFAULT}"
    )
    assert seen[0].headers["Authorization"] == "raw-key-123456"
    assert seen[0].headers["PubNub-Version"] == "2026-05-26"
    assert "raw-key" not in str(caught.value)

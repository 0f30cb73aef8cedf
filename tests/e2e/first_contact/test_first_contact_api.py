"""A wrong ``--api-url``, a dead API or a wrong key: one line naming the cause, exit 2, no table.

The real CLI against a plain ``http.server``, the emulator under a wrong base path, a refused
port, and the emulator with a key it does not know. Each stops at the first call (the probe),
before any package is asked about.
"""

from __future__ import annotations

import json

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.harness import RunCli, closed_port

DEFAULT = "check the URL (default https://admin-api.pubnub.com)"


@pytest.mark.slow
def test_some_other_http_server_is_one_line_naming_the_url_and_exits_2(
    sync_once: RunCli, plain_http: str
) -> None:
    result = sync_once("--api-url", plain_http)

    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"faas-gitops: error: --api-url {plain_http}: GET /v2/faas/packages answered 404"
        f" (not a FaaS API); {DEFAULT}"
    )
    assert "packageId" not in result.stderr  # no package is blamed for the URL


@pytest.mark.slow
def test_the_emulator_under_a_wrong_base_path_is_a_wrong_url_asked_once(
    sync_once: RunCli, emulator: RunningEmulator
) -> None:
    url = f"{emulator.url}/api"
    result = sync_once("--api-url", url)

    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"faas-gitops: error: --api-url {url}: GET /v2/faas/packages answered 404"
        f" (not a FaaS API); {DEFAULT}"
    )
    assert [r.path for r in emulator.requests] == ["/api/v2/faas/packages"]


@pytest.mark.slow
def test_a_refused_port_is_told_once_after_two_short_retries_and_exits_2(sync_once: RunCli) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    result = sync_once("--api-url", url, "--log-format", "json")

    assert result.code == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("faas-gitops:")]
    assert errors == [
        f"faas-gitops: error: --api-url {url}: GET /v2/faas/packages: connection refused to"
        f" 127.0.0.1:{port} (gave up after 3 tries)"
    ]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    retries = [e for e in events if e["event"] == "api.retry"]
    # The probe's policy: three tries, so two waits of at most 0.75 s; not 25 lines over 10 s.
    assert len(retries) == 2
    assert all(e["delay_s"] <= 0.75 for e in retries)
    assert not [e for e in events if e["event"].startswith("package.")]


def test_a_wrong_key_is_one_line_without_a_misleading_summary(
    sync_once: RunCli, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAAS_API_KEY", "sk-not-the-right-key-000")
    result = sync_once("--api-url", emulator.url, "--log-level", "error")

    assert result.code == 2
    assert result.stdout == ""  # no "0 packages: 0 created, ..." table
    [line] = result.stderr.splitlines()
    assert line.startswith("faas-gitops: error: ")
    assert "401" in line
    assert "sk-not-the-right-key" not in result.stderr
    assert len(emulator.requests) == 1  # the probe, and nothing after it


@pytest.mark.slow
def test_a_wrong_key_also_stops_a_warm_run_with_nothing_to_ask(
    sync_once: RunCli, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sync_once("--api-url", emulator.url, "--log-level", "error").code == 0
    monkeypatch.setenv("FAAS_API_KEY", "sk-revoked-key-111111")

    result = sync_once("--api-url", emulator.url, "--log-level", "error")

    assert result.code == 2
    assert result.stdout == ""
    assert "401" in result.stderr

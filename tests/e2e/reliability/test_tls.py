"""TLS is always verified: a server whose certificate no trusted CA signed is refused with a
clear error, and ``--ca-bundle`` (or its env twin) trusts a private CA.

The certificates are made with the ``openssl`` command (no Python dependency needed) and the
emulator's own app is served over HTTPS by uvicorn on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig
from faas_gitops.emulator.app import create_app
from faas_gitops.emulator.requestlog import RequestLog
from faas_gitops.emulator.server import bound_port
from faas_gitops.emulator.store import EmulatorStore
from tests.e2e.reliability.reliability_support import (
    KEY,
    clean_env,
    emulator_for,
    package_files,
    package_id,
    run_cli,
)
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A private CA and a certificate it signed for 127.0.0.1."""
    d = tmp_path / "pki"
    d.mkdir()
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=faas-gitops test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "ext.cnf")  # fmt: skip
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key")


@dataclass
class HttpsEmulator:
    url: str
    store: EmulatorStore


@pytest.fixture
def https_emulator(pki: Pki) -> Iterator[HttpsEmulator]:
    config = EmulatorConfig(api_key=KEY)
    store = EmulatorStore()
    store.add_package("alpha", "", package_id("alpha"))
    app = create_app(config, store, RequestLog())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, http="h11", ws="none", lifespan="off",
                       log_level="critical", log_config=None, ssl_certfile=str(pki.cert),
                       ssl_keyfile=str(pki.key))
    )  # fmt: skip
    thread = threading.Thread(target=server.run, name="https-emulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the HTTPS emulator died"
            assert time.monotonic() < deadline, "the HTTPS emulator did not start"
            time.sleep(0.01)
        yield HttpsEmulator(f"https://127.0.0.1:{bound_port(server)}", store)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def alpha_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write_many(dict(package_files("alpha"))).commit("one package")
    return repo


@pytest.mark.slow
def test_an_unknown_ca_is_refused_and_ca_bundle_or_its_env_twin_trusts_it(
    tmp_path: Path, pki: Pki, https_emulator: HttpsEmulator, alpha_repo: GitRepo
) -> None:
    env = clean_env(tmp_path / "home")
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        env.pop(name, None)
    base = ("--sync-once", "--repo", str(alpha_repo.root), "--api-url", https_emulator.url,
            "--output", "json")  # fmt: skip
    runs = {
        "untrusted": ((*base, "--state-dir", str(tmp_path / "s1")), env),
        "flag": ((*base, "--state-dir", str(tmp_path / "s2"), "--ca-bundle", str(pki.ca)), env),
        "env": ((*base, "--state-dir", str(tmp_path / "s3")),
                {**env, "FAAS_GITOPS_CA_BUNDLE": str(pki.ca)}),
    }  # fmt: skip
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(run_cli, *args, env=environment, cwd=tmp_path)
            for name, (args, environment) in runs.items()
        }
        results = {name: future.result() for name, future in futures.items()}

    untrusted = results["untrusted"]
    # A configuration error, like every other first-contact failure: exit 2, no retry.
    assert untrusted.code == 2, untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    # The probe, the run's first call, meets the certificate: one line, and no package table.
    assert untrusted.stdout == ""
    last = untrusted.stderr.splitlines()[-1]
    assert last.startswith(f"faas-gitops: error: --api-url {https_emulator.url}: GET "), last
    assert last.endswith("not trusted; pass --ca-bundle FILE"), last
    assert "api.retry" not in untrusted.stderr
    assert results["flag"].code == 0, results["flag"].stderr
    assert results["env"].code == 0, results["env"].stderr
    # Two trusted runs, racing on one package: one revision, the other adopted it.
    assert len(https_emulator.store.revisions(package_id("alpha"))) == 1


def test_no_flag_or_variable_can_turn_tls_verification_off() -> None:
    parser = cli.build_parser()
    spelled = " ".join(
        [*(s for action in parser._actions for s in action.option_strings), parser.format_help()]
    ).lower()
    for word in ("insecure", "no-verify", "skip-tls", "tls-verify", "verify-ssl", "ssl-verify"):
        assert word not in spelled


@pytest.mark.slow
@pytest.mark.parametrize("bundle", ["missing.pem", "not-a-certificate.pem"])
def test_a_ca_bundle_that_is_missing_or_not_pem_exits_2_with_one_line(
    bundle: str, tmp_path: Path, alpha_repo: GitRepo
) -> None:
    (tmp_path / "not-a-certificate.pem").write_text("hello\n")
    with emulator_for(["alpha"]) as emulator:
        finished = run_cli("--sync-once", "--repo", str(alpha_repo.root), "--api-url", emulator.url,
                           "--state-dir", str(tmp_path / "state"),
                           "--ca-bundle", str(tmp_path / bundle),
                           env=clean_env(tmp_path / "home"), cwd=tmp_path)  # fmt: skip

    assert finished.code == 2, finished.output
    assert "Traceback" not in finished.stderr
    errors = [line for line in finished.stderr.splitlines() if "faas-gitops: error:" in line]
    assert len(errors) == 1
    assert "--ca-bundle" in errors[0]


@pytest.mark.slow
def test_ca_bundle_works_without_deprecated_httpx_calls(  # noqa: PLR0917 - fixtures
    pki: Pki,
    https_emulator: HttpsEmulator,
    alpha_repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process, where pytest turns every warning into an error."""
    monkeypatch.setenv("FAAS_API_KEY", KEY)
    monkeypatch.delenv("FAAS_API_KEY_FILE", raising=False)

    code = cli.main(["--sync-once", "--repo", str(alpha_repo.root), "--api-url", https_emulator.url,
                     "--state-dir", str(tmp_path / "state"),
                     "--ca-bundle", str(pki.ca)])  # fmt: skip

    assert code == 0, capsys.readouterr().err

"""Who may read the status page: a real daemon with ``--status-token-file`` asks for the token
on ``/`` and ``/api/status`` (as a bearer token, or as the password of HTTP Basic, which a real
browser sends for the page's own refreshes too), leaves the probes, ``/metrics`` and the webhook
as they were, and says at start when the page is open to everyone on a public address."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from faas_gitops import cli
from tests.e2e.daemon.daemon_support import DaemonProcess, StartDaemon, wait_until
from tests.gitrepo import GitRepo
from tests.harness import API_KEY

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

TOKEN = "status-token-7f3a9c0e5b1d"
QUIET = ("--interval", "60", "--resync-interval", "600")


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "status-token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def guarded(start_daemon: StartDaemon, repo: GitRepo, token_file: Path) -> DaemonProcess:
    daemon = start_daemon(repo.root, *QUIET, "--status-token-file", str(token_file))
    daemon.wait_ready()
    return daemon


def get(daemon: DaemonProcess, path: str, authorization: str | None = None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return daemon._http.get(daemon.url + path, headers=headers)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_without_the_token_the_page_and_api_status_answer_401_with_both_challenges(
    guarded: DaemonProcess,
) -> None:
    for path in ("/", "/?part=main", "/api/status"):
        answer = get(guarded, path)
        assert answer.status_code == 401, path
        challenges = answer.headers.get_list("www-authenticate")
        assert [c.split()[0] for c in challenges] == ["Bearer", "Basic"], path
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "packages" not in answer.text


#: Every way to send the token: bearer (any case and spacing), Basic with any user name.
ADMITTED = (f"Bearer {TOKEN}", f"bearer   {TOKEN}", basic("", TOKEN), basic("anyone", TOKEN))
#: Near misses: one character more or less, an empty bearer, another scheme, the token as the
#: Basic user name, a wrong password, broken base64, the token without a scheme.
REFUSED = (
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    "Bearer",
    f"Token {TOKEN}",
    basic(TOKEN, ""),
    basic("admin", "wrong"),
    "Basic not-base64!",
    TOKEN,
)


def test_the_token_opens_the_page_as_a_bearer_token_or_as_a_basic_password(
    guarded: DaemonProcess, repo: GitRepo
) -> None:
    for authorization in ADMITTED:
        document = get(guarded, "/api/status", authorization)
        assert document.status_code == 200, authorization
        assert document.json()["commit"] == repo.head()
        page = get(guarded, "/", authorization)
        assert page.status_code == 200, authorization
        assert "chat-moderation" in page.text


def test_anything_but_the_token_is_refused(guarded: DaemonProcess) -> None:
    for authorization in REFUSED:
        assert get(guarded, "/api/status", authorization).status_code == 401, authorization
        assert get(guarded, "/", authorization).status_code == 401, authorization


def test_probes_metrics_and_the_webhook_stay_open_and_no_answer_can_be_sniffed(
    guarded: DaemonProcess,
) -> None:
    for path, authorization in (
        ("/api/status", f"Bearer {TOKEN}"),
        ("/readyz", None),
        ("/metrics", None),
        ("/healthz", None),
    ):
        answer = get(guarded, path, authorization)
        assert answer.status_code == 200, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
    assert "faas_gitops_syncs_total" in get(guarded, "/metrics").text
    assert guarded.post("/hooks/sync").status_code == 202  # no webhook secret in this daemon


def test_the_token_never_appears_in_the_daemons_output(guarded: DaemonProcess) -> None:
    get(guarded, "/api/status", f"Bearer {TOKEN}x")
    get(guarded, "/", basic("me", TOKEN))
    [started] = guarded.events("daemon.started")
    assert started["status_token"] is True
    text = guarded.log_text() + guarded.out_file.read_text(errors="replace")
    assert TOKEN not in text


def test_the_daemon_warns_when_the_page_is_open_beyond_loopback(
    start_daemon: StartDaemon, repo: GitRepo, token_file: Path
) -> None:
    open_public = start_daemon(repo.root, *QUIET, "--listen", "0.0.0.0:0")
    guarded_public = start_daemon(
        repo.root, *QUIET, "--listen", "0.0.0.0:0", "--status-token-file", str(token_file)
    )
    open_private = start_daemon(repo.root, *QUIET)
    [warning] = wait_until(
        lambda: open_public.events("daemon.status_unauthenticated"), "the warning"
    )
    assert warning["level"] == "warning"
    assert "--status-token-file" in warning["detail"]
    assert "/api/status" in warning["detail"]
    for quiet in (guarded_public, open_private):
        wait_until(lambda d=quiet: d.events("daemon.started"), "the start")  # type: ignore[misc]
        assert quiet.events("daemon.status_unauthenticated") == []


def test_an_empty_token_file_is_one_line_naming_the_flag_and_exit_2(
    tmp_path: Path,
    repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    empty = tmp_path / "empty-token"
    empty.write_text("")
    code = cli.main(
        [
            "--repo", str(repo.root),
            "--state-dir", str(tmp_path / "state"),
            "--listen", "127.0.0.1:0",
            "--status-token-file", str(empty),
        ]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"--status-token-file {empty} is empty" in err


def test_the_env_twin_names_the_token_file(repo: GitRepo, token_file: Path) -> None:
    namespace = cli.build_parser().parse_args(["--repo", str(repo.root)])
    settings = cli.load_settings(
        namespace,
        {"FAAS_API_KEY": API_KEY, "FAAS_GITOPS_STATUS_TOKEN_FILE": str(token_file)},
    )
    assert settings.loop.status_token_file == token_file


# --------------------------------------------------------------------------- in a browser


def test_a_browser_that_logged_in_with_basic_keeps_refreshing_the_page(
    guarded: DaemonProcess, browser: Any
) -> None:
    context = browser.new_context(http_credentials={"username": "ops", "password": TOKEN})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    answer = page.goto(guarded.url + "/")
    assert answer is not None
    assert answer.status == 200
    assert page.locator('#packages tr[data-path="chat-moderation"]').count() == 1
    # The page's own fetch("?part=main") carries the browser's Basic credentials.
    page.wait_for_function(
        "() => document.getElementById('live')?.textContent.startsWith('updated')", timeout=15_000
    )
    assert problems == []
    context.close()

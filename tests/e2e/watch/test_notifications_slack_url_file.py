"""The Slack URL is a credential: ``--notify-slack-file`` (and its env twin) read it from a file,
so it shows in no process list, and it is redacted like every other secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.hardening.hardening_support import SyncCli
from tests.gitrepo import GitRepo
from tests.notify.notify_receivers import Receiver, always, serve

TOKEN_PATH = "/services/T0SECRET/B0SECRET/slackTokenDoNotShow"


def test_a_slack_url_from_a_file_gets_the_sync_summary_and_is_never_printed(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    with serve(Receiver(always(200, b"ok"))) as slack:
        url_file = tmp_path / "slack-url"
        url_file.write_text(slack.url + TOKEN_PATH + "\n")
        run = hardened_cli(emulator, repo, "--notify-slack-file", str(url_file))

    assert run.code == 0, run.stderr
    [message] = slack.requests
    assert message.path == TOKEN_PATH
    assert "3 changed" in message.json()["text"]
    assert "slackTokenDoNotShow" not in run.stdout + run.stderr


def test_the_env_twin_names_the_slack_url_file_too(
    hardened_cli: SyncCli,
    emulator: RunningEmulator,
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(Receiver(always(200, b"ok"))) as slack:
        url_file = tmp_path / "slack-url"
        url_file.write_text(slack.url + TOKEN_PATH)
        monkeypatch.setenv("FAAS_GITOPS_NOTIFY_SLACK_FILE", str(url_file))
        run = hardened_cli(emulator, repo)

    assert run.code == 0, run.stderr
    assert len(slack.requests) == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("ftp://hooks.example/services/slackTokenDoNotShow\n", "does not hold an http(s) URL"),
    ],
)
def test_a_bad_slack_url_file_is_one_line_naming_the_flag_and_the_file_never_its_content(  # noqa: PLR0917 - fixtures
    hardened_cli: SyncCli,
    emulator: RunningEmulator,
    repo: GitRepo,
    tmp_path: Path,
    content: str | None,
    says: str,
) -> None:
    url_file = tmp_path / "slack-url"
    if content is not None:
        url_file.write_text(content)
    run = hardened_cli(emulator, repo, "--notify-slack-file", str(url_file))

    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert "--notify-slack-file" in line
    assert str(url_file) in line
    assert says in line
    assert "slackTokenDoNotShow" not in run.stderr
    assert "Traceback" not in run.stderr
    assert not [r for r in emulator.requests if r.method != "GET"]


def test_the_flag_and_the_file_together_are_refused(
    hardened_cli: SyncCli, emulator: RunningEmulator, repo: GitRepo, tmp_path: Path
) -> None:
    url_file = tmp_path / "slack-url"
    url_file.write_text("https://hooks.slack.com" + TOKEN_PATH)
    run = hardened_cli(
        emulator,
        repo,
        "--notify-slack",
        "https://hooks.slack.com" + TOKEN_PATH,
        "--notify-slack-file",
        str(url_file),
    )

    assert run.code == 2
    assert "give one, not both" in run.stderr
    assert "slackTokenDoNotShow" not in run.stderr

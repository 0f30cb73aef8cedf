"""Flags, env twins and defaults flow from the one settings model into ``Settings``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops import cli, logs
from faas_gitops.cli.subcommands import SUBCOMMANDS
from faas_gitops.errors import ConfigError
from faas_gitops.settings import Settings

KEY = "sk-settings-test-key"


def load(*argv: str, **env: str) -> Settings:
    return cli.load_settings(
        cli.build_parser().parse_args(list(argv)), {"FAAS_API_KEY": KEY, **env}
    )


def error_of(*argv: str, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(*argv, **env)
    return str(caught.value)


def test_defaults_come_from_the_model_when_neither_flag_nor_variable_is_given() -> None:
    settings = load()
    assert settings.api.concurrency == 8
    assert settings.deploy.timeout == 120.0
    assert settings.deploy.environments == ()
    assert settings.notify.github_api_url == "https://api.github.com"
    assert settings.verify_content is False
    assert settings.api.key.get_secret_value() == KEY


def test_a_flag_wins_over_its_variable_which_wins_over_the_default() -> None:
    assert load(FAAS_GITOPS_CONCURRENCY="3").api.concurrency == 3
    assert load("--concurrency", "5", FAAS_GITOPS_CONCURRENCY="3").api.concurrency == 5
    assert load(FAAS_GITOPS_MAX_CODE_BYTES="10").limits.max_code_bytes == 10
    assert load(FAAS_GITOPS_LOG_LEVEL="debug").log.level == "debug"


@pytest.mark.parametrize(
    ("text", "value"), [("yes", True), ("1", True), ("no", False), ("0", False)]
)
def test_boolean_variables_accept_the_usual_spellings(text: str, value: bool) -> None:
    assert load(FAAS_GITOPS_PRUNE=text).deploy.prune is value
    assert load(FAAS_GITOPS_VERIFY_CONTENT=text).verify_content is value


def test_a_bad_boolean_variable_names_the_variable() -> None:
    assert (
        error_of(FAAS_GITOPS_PRUNE="maybe")
        == "FAAS_GITOPS_PRUNE: 'maybe' is not a valid true or false"
    )


def test_repeatable_flags_collect_and_their_variable_is_comma_separated() -> None:
    flags = load("--environment", "staging", "--environment", "prod")
    assert flags.deploy.environments == ("staging", "prod")
    from_env = load(FAAS_GITOPS_ENVIRONMENT="staging, prod,")
    assert from_env.deploy.environments == ("staging", "prod")
    both = load("--environment", "dev", FAAS_GITOPS_ENVIRONMENT="staging,prod")
    assert both.deploy.environments == ("dev",)
    hooks = load(FAAS_GITOPS_NOTIFY_WEBHOOK="https://a.example/h,http://b.example/h")
    assert hooks.notify.webhooks == ("https://a.example/h", "http://b.example/h")


def test_the_new_options_land_in_their_groups() -> None:
    settings = load(
        "--deploy-timeout", "30", "--prune", "--notify-slack", "https://hooks.example/T/B/x",
        "--github-repo", "acme/functions", "--github-api-url", "https://ghe.example/api/v3/",
        "--public-url", "https://status.example", "--quiet", "--progress",
    )  # fmt: skip
    assert settings.deploy.timeout == 30.0
    assert settings.deploy.prune is True
    assert settings.notify.slack == "https://hooks.example/T/B/x"
    assert settings.notify.github_repo == "acme/functions"
    assert settings.notify.github_api_url == "https://ghe.example/api/v3"
    assert settings.notify.public_url == "https://status.example"
    assert (settings.quiet, settings.verbose, settings.progress) == (True, False, True)


@pytest.mark.parametrize(
    ("argv", "env", "line"),
    [
        (["--github-repo", "acme"], {}, "--github-repo: must be OWNER/NAME"),
        (["--public-url", "status.example"], {}, "--public-url: must be an http(s) URL"),
        ([], {"FAAS_GITOPS_GITHUB_API_URL": "ftp://x"}, "FAAS_GITOPS_GITHUB_API_URL: must be"),
        (["--deploy-timeout", "0"], {}, "--deploy-timeout: Input should be greater than 0"),
        ([], {"FAAS_GITOPS_DEPLOY_TIMEOUT": "soon"}, "FAAS_GITOPS_DEPLOY_TIMEOUT: 'soon' is not"),
        (["--environment", "a b"], {}, "--environment: an environment name is"),
        (["--quiet", "--verbose"], {}, "--quiet and --verbose cannot be combined"),
        ([], {"FAAS_GITOPS_OUTPUT": "yaml"}, "FAAS_GITOPS_OUTPUT: 'yaml' is not one of text"),
    ],
)
def test_a_bad_value_is_one_line_naming_what_was_typed(
    argv: list[str], env: dict[str, str], line: str
) -> None:
    message = error_of(*argv, **env)
    assert message.startswith(line), message
    assert "\n" not in message


def test_a_webhook_url_is_never_echoed_in_an_error() -> None:
    message = error_of("--notify-webhook", "hooks.example/T0/B0/s3cr3t-token")
    assert message.startswith("--notify-webhook: must be an http(s) URL")
    assert "s3cr3t" not in message


def test_secret_files_and_urls_are_registered_for_redaction(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ghp-settings-test-token\n")
    load("--github-token-file", str(token), "--notify-slack", "https://hooks.example/T/B/zzzzzz")
    assert logs.redact("t=ghp-settings-test-token") == f"t={logs.REDACTED}"
    assert "zzzzzz" not in logs.redact("url https://hooks.example/T/B/zzzzzz")


def test_an_unreadable_secret_file_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    message = error_of(FAAS_GITOPS_NOTIFY_SECRET_FILE=str(missing))
    assert message == f"--notify-secret-file {missing}: No such file or directory"


def test_the_main_command_imports_no_server_or_emulator_code() -> None:
    code = (
        "import sys, faas_gitops.cli\n"
        "names = ('uvicorn', 'starlette', 'faas_gitops.emulator')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_subcommand_whose_module_is_missing_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SUBCOMMANDS, "later", "faas_gitops.cli.not_written_yet:main")
    assert cli.main(["later"]) == 2
    assert capsys.readouterr().err == (
        "faas-gitops: error: 'later' is not available in this version of faas-gitops\n"
    )

"""Flags, env twins and defaults flow from the one settings model into ``Settings``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faas_gitops import cli, logs
from faas_gitops.cli import history, promote, rollback, status
from faas_gitops.cli.subcommands import SUBCOMMANDS
from faas_gitops.errors import ConfigError
from faas_gitops.options import Part, options, resolve, validate
from faas_gitops.secret_files import read_secret_file
from faas_gitops.settings import PROMOTE_GROUPS, ROLLBACK_GROUPS, Settings

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
    assert message == f"--notify-secret-file {missing} does not exist"


@pytest.mark.slow
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


# -- one rule for every secret file -------------------------------------------------------------

SECRET_FLAGS = (
    "--api-key-file",
    "--webhook-secret-file",
    "--notify-secret-file",
    "--github-token-file",
)


def load_with_secret(flag: str, path: Path) -> Settings:
    """A sync's settings with ``flag`` naming ``path`` (the others it needs set alongside)."""
    extra = {
        "--notify-secret-file": ["--notify-webhook", "https://hooks.example/h"],
        "--github-token-file": ["--github-repo", "acme/functions"],
    }.get(flag, [])
    return load(flag, str(path), *extra)


@pytest.mark.parametrize("flag", SECRET_FLAGS)
@pytest.mark.parametrize(
    ("content", "secret"),
    [("s3cret-value\n", "s3cret-value"), ("s3cret-value\r\n", "s3cret-value"),
     ("s3cret-value", "s3cret-value")],
)  # fmt: skip
def test_every_secret_file_loses_one_trailing_newline_and_nothing_else(
    tmp_path: Path, flag: str, content: str, secret: str
) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content.encode())
    settings = load_with_secret(flag, path)
    if flag == "--api-key-file":
        assert settings.api.key.get_secret_value() == secret
    assert read_secret_file(path, flag) == secret
    assert logs.redact(f"x {secret} y") == f"x {logs.REDACTED} y"


@pytest.mark.parametrize("flag", SECRET_FLAGS)
@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (None, "does not exist"),
        ("\n", "is empty"),
        ("first-secret\nsecond-secret\n", "has more than one line"),
        ("  padded-secret\n", "has spaces around the secret"),
        ("padded-secret \n", "has spaces around the secret"),
        ("padded-secret\n\n", "has more than one line"),
    ],
)
def test_a_doubtful_secret_file_is_one_line_naming_the_flag_and_file_never_the_content(
    tmp_path: Path, flag: str, content: str | None, complaint: str
) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_with_secret(flag, path)
    message = str(caught.value)
    assert message.startswith(f"{flag} {path} {complaint}"), message
    assert "first-secret" not in message
    assert "\n" not in message


def test_the_api_key_file_named_by_its_variable_follows_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("sk-from-a-file\n")
    assert load(FAAS_API_KEY_FILE=str(path)).api.key.get_secret_value() == "sk-from-a-file"


# -- each subcommand takes the groups it uses ---------------------------------------------------


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        cli.main(list(argv))
    assert caught.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["promote", "--from", "a", "--to", "b", "--prune"],
        ["promote", "--from", "a", "--to", "b", "--sync-once"],
        ["promote", "--from", "a", "--to", "b", "--notify-webhook", "https://hooks.example/h"],
        ["promote", "--from", "a", "--to", "b", "--environment", "prod"],
        ["promote", "--from", "a", "--to", "b", "--create-packages"],
        ["rollback", "pkg", "--environment", "prod", "--prune"],
        ["rollback", "pkg", "--environment", "prod", "--quiet"],
        ["rollback", "pkg", "--environment", "prod", "--interval", "5"],
        ["status", "--repo", "."],
        ["status", "--history-days", "3"],
        ["history", "--api-url", "https://admin-api.pubnub.com"],
        ["history", "--live"],
    ],
)
def test_a_flag_a_subcommand_does_not_use_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    err = usage_error(capsys, *argv)
    assert err.startswith(f"usage: faas-gitops {argv[0]}")
    assert "unrecognized arguments" in err


def test_a_subcommand_help_lists_only_its_own_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["promote", "--help"])
    shown = capsys.readouterr().out
    for used in ("--deploy-timeout", "--api-key-file", "--state-dir", "--config-ref"):
        assert used in shown, used
    for unused in ("--prune", "--sync-once", "--notify-webhook", "--listen", "--full-sync"):
        assert unused not in shown, unused


def test_a_variable_of_a_group_a_subcommand_does_not_use_is_ignored() -> None:
    namespace = promote.build_parser().parse_args(["--from", "a", "--to", "b"])
    env = {
        "FAAS_API_KEY": KEY,
        "FAAS_GITOPS_PRUNE": "maybe",  # not even a boolean: a sync would refuse it
        "FAAS_GITOPS_NOTIFY_WEBHOOK": "not-a-url",
        "FAAS_GITOPS_DEPLOY_TIMEOUT": "45",  # promote's own group: taken
        "FAAS_GITOPS_REF": "v1.0.0",
    }
    settings = cli.load_settings(namespace, env, PROMOTE_GROUPS)
    assert settings.deploy.prune is False
    assert settings.notify.webhooks == ()
    assert settings.deploy.timeout == 45.0
    assert settings.git.ref == "v1.0.0"
    assert settings.deploy.environments == ()
    rolled = rollback.build_parser().parse_args(["pkg"])
    env["FAAS_GITOPS_ENVIRONMENT"] = "production"
    assert cli.load_settings(rolled, env, ROLLBACK_GROUPS).deploy.environments == ("production",)


def shared_option(parts: tuple[Part, ...], flag: str) -> object:
    (spec,) = [o.spec for part in parts for o in part.options() if o.flag == flag]
    return spec


@pytest.mark.parametrize(
    "flag", ["--state-dir", "--api-url", "--api-key-file", "--ca-bundle", "--timeout"]
)
def test_the_state_dir_and_the_api_flags_are_declared_once(flag: str) -> None:
    everywhere = [promote.PARTS, rollback.PARTS, status.PARTS]
    if flag == "--state-dir":
        everywhere.append(history.PARTS)
    main = shared_option(cli.PARTS, flag)
    assert all(shared_option(parts, flag) is main for parts in everywhere)


def test_a_subcommands_own_flags_have_no_variable_and_the_shared_ones_keep_theirs() -> None:
    """A ``FAAS_GITOPS_PACKAGE`` set for a CI job's sync must not filter ``history``; the
    declarations a subcommand shares with the sync read the sync's variables."""
    from faas_gitops.cli.completion import command_parts  # noqa: PLC0415

    shared = {id(option.spec): option.env_name for option in options(Settings)}
    checked = 0
    for name, parts in command_parts().items():
        for option in (option for part in parts for option in part.options()):
            assert option.env_name == shared.get(id(option.spec)), (name, option.flag)
            checked += option.env_name is None
    assert checked >= 25  # the subcommands' own flags (history alone has nine)
    namespace = history.build_parser().parse_args([])
    env = {"FAAS_GITOPS_PACKAGE": "chat", "FAAS_GITOPS_STATE_DIR": "/srv/state"}
    chosen = validate(history.HistoryOptions, *resolve(history.HistoryOptions, namespace, env))
    assert chosen.package is None
    assert str(chosen.state_dir) == "/srv/state"


def test_status_takes_the_sync_api_flags_and_their_variables(tmp_path: Path) -> None:
    namespace = status.build_parser().parse_args(["--live", "--concurrency", "3"])
    env = {"FAAS_API_URL": "https://api.example/", "FAAS_GITOPS_STATE_DIR": str(tmp_path)}
    options = validate(status.StatusOptions, *resolve(status.StatusOptions, namespace, env))
    assert options.api.url == "https://api.example"
    assert options.api.concurrency == 3
    assert options.state_dir == tmp_path


@pytest.mark.slow
def test_the_settings_import_no_http_client() -> None:
    code = (
        "import sys, faas_gitops.settings\n"
        "print([m for m in ('httpx', 'faas_gitops.api') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

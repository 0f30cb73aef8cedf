"""faas-gitops.yaml is strict: keyset ids in plain decimal, one keyset per environment, names
and owners that print safely, and sync windows that parse; every problem is one line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.source.environments import KEYSET_ID_MAX, parse_environments
from faas_gitops.source.windows import Window

DECIMAL_ADVICE = (
    "write the numeric keyset id in plain decimal digits, without leading zeros, a sign, '_' "
    "or a prefix"
)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_environments(text.encode())
    return str(caught.value)


def keyset(written: str) -> str:
    return f"environments:\n  production:\n    keysetId: {written}\n    tags: ['v*']\n"


@pytest.mark.parametrize(
    ("written", "line"),
    [
        # YAML 1.1 octal: PyYAML would deploy to keyset 136421, someone else's.
        ("0412345", f"'0412345' is not plain decimal (YAML reads it as 136421); {DECIMAL_ADVICE}"),
        ("0x10", f"'0x10' is not plain decimal (YAML reads it as 16); {DECIMAL_ADVICE}"),
        ("0o17", f"'0o17' is not plain decimal; {DECIMAL_ADVICE}"),
        ("1_000", f"'1_000' is not plain decimal (YAML reads it as 1000); {DECIMAL_ADVICE}"),
        ("+5", f"'+5' is not plain decimal (YAML reads it as 5); {DECIMAL_ADVICE}"),
        ("1:30", f"'1:30' is not plain decimal (YAML reads it as 90); {DECIMAL_ADVICE}"),
        ("00", f"'00' is not plain decimal (YAML reads it as 0); {DECIMAL_ADVICE}"),
        ("1e5", f"'1e5' is not plain decimal; {DECIMAL_ADVICE}"),
        (str(2**63),
         f"'{2**63}' is above the largest keyset id ({KEYSET_ID_MAX}); write the environment's "
         "numeric keyset id in plain decimal"),
        ("9" * 40,
         f"'{'9' * 40}' is above the largest keyset id ({KEYSET_ID_MAX}); write the "
         "environment's numeric keyset id in plain decimal"),
        ("-5", "must be a positive keyset id, not -5"),
        ("'412345'", "must be an integer (the numeric keyset id), not a string"),
    ],
)  # fmt: skip
def test_a_keyset_id_not_written_in_plain_decimal_is_one_line_naming_file_and_field(
    written: str, line: str
) -> None:
    assert (
        error_of(keyset(written)) == f"faas-gitops.yaml: environments.production.keysetId: {line}"
    )


@pytest.mark.parametrize("written", ["1", "412345", str(KEYSET_ID_MAX)])
def test_plain_decimal_keyset_ids_up_to_the_largest_are_accepted(written: str) -> None:
    config = parse_environments(keyset(written).encode())
    assert config.by_name()["production"].keyset_id == int(written)


def test_two_environments_on_one_keyset_are_one_line_naming_both_and_the_keyset() -> None:
    text = (
        "environments:\n"
        "  staging: {keysetId: 412345, branches: [main]}\n"
        "  qa: {keysetId: 400000, branches: [release]}\n"
        "  production: {keysetId: 412345, tags: ['v*']}\n"
    )
    assert error_of(text) == (
        "faas-gitops.yaml: environments: staging and production both use keyset 412345; give "
        "each environment its own keyset"
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ('"prod\\nstaging"', r"'prod\nstaging'"),
        ('"\\e[31mprod\\e[0m"', r"'\x1b[31mprod\x1b[0m'"),
        ('"<b>prod</b>"', "'<b>prod</b>'"),
        ('"[prod](https://evil.example)"', "'[prod](https://evil.example)'"),
        ('"-prod"', "'-prod'"),
        ('"prod "', "'prod '"),
        ('""', "''"),
    ],
)
def test_an_environment_name_outside_the_flag_alphabet_is_one_escaped_line(
    name: str, shown: str
) -> None:
    line = error_of(f"environments:\n  {name}: {{keysetId: 1, tags: [{name}]}}\n")
    assert line == (
        f"faas-gitops.yaml: environments: {shown} is not a valid environment name; an "
        "environment name is letters, digits, '.', '_' or '-'"
    )
    assert "\n" not in line
    assert "\x1b" not in line


def test_names_the_environment_flag_accepts_are_accepted() -> None:
    config = parse_environments(b"environments:\n  eu-west_1.prod: {keysetId: 1}\n")
    assert list(config.by_name()) == ["eu-west_1.prod"]


@pytest.mark.parametrize(
    ("owner", "line"),
    [
        ("'acme functions'", "'acme functions' is not a valid owner"),
        ('"acme\\nfunctions"', r"'acme\nfunctions' is not a valid owner"),
        ("''", "'' is not a valid owner"),
        ("a" * 49, f"'{'a' * 49}' is not a valid owner"),
        ("acme@corp", "'acme@corp' is not a valid owner"),
    ],
)
def test_a_bad_owner_is_one_line(owner: str, line: str) -> None:
    text = f"owner: {owner}\nenvironments:\n  staging: {{keysetId: 1}}\n"
    assert error_of(text) == (
        f"faas-gitops.yaml: owner: {line}; an owner is 1 to 48 letters, digits, '.', '_', '/' "
        "or '-'"
    )


def test_an_owner_that_is_not_a_string_is_one_line() -> None:
    assert error_of("owner: 7\nenvironments:\n  staging: {keysetId: 1}\n") == (
        "faas-gitops.yaml: owner: must be a string, not an integer"
    )


def test_the_owner_is_exposed_and_absent_means_none() -> None:
    with_owner = b"owner: acme/functions\nenvironments:\n  staging: {keysetId: 1}\n"
    assert parse_environments(with_owner).owner == "acme/functions"
    assert parse_environments(b"environments:\n  staging: {keysetId: 1}\n").owner is None


def windowed(first: str, second: str) -> str:
    """An environment with two windows, so an index other than 0 is named."""
    return (
        "environments:\n  production:\n    keysetId: 1\n    windows:\n"
        f"      - {first}\n      - {second}\n"
    )


GOOD = "kind: deny, schedule: '0 22 * * 5', duration: 2h"
CRON_HINT = "write a 5-field cron expression such as '0 22 * * 5' (minute hour day month weekday)"


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        ("{kind: block, schedule: '0 22 * * 5', duration: 2h}",
         "kind: must be deny or allow, not 'block'"),
        ("{kind: deny, schedule: '0 22 * *', duration: 2h}",
         f"schedule: '0 22 * *' is not a 5-field cron expression; {CRON_HINT}"),
        ("{kind: deny, schedule: '0 0 22 * * 5', duration: 2h}",
         f"schedule: '0 0 22 * * 5' is not a 5-field cron expression; {CRON_HINT}"),
        ("{kind: deny, schedule: '0 25 * * 5', duration: 2h}",
         f"schedule: '0 25 * * 5' is not a valid cron expression (Bad hour); {CRON_HINT}"),
        ("{kind: deny, schedule: '@daily', duration: 2h}",
         f"schedule: '@daily' is not a 5-field cron expression; {CRON_HINT}"),
        ("{kind: deny, schedule: '0 22 * * 5', duration: 2 hours}",
         "duration: must be a duration such as 30m, 2h, 1h30m or 1d, not '2 hours'"),
        ("{kind: deny, schedule: '0 22 * * 5', duration: 30m2h}",
         "duration: must be a duration such as 30m, 2h, 1h30m or 1d, not '30m2h'"),
        ("{kind: deny, schedule: '0 22 * * 5', duration: 90}",
         "duration: must be a duration such as 30m, 2h, 1h30m or 1d, not an integer"),
        ("{kind: deny, schedule: '0 22 * * 5', duration: 0h}",
         "duration: must be longer than zero, such as 30m"),
        ("{kind: deny, schedule: '0 22 * * 5', duration: 367d}",
         "duration: must be at most 366d; for a longer freeze write frozen: true"),
        (f"{{{GOOD}, timezone: Europe/Paris-ish}}",
         "timezone: 'Europe/Paris-ish' is not a known IANA time zone; write one such as "
         "Europe/Berlin or UTC"),
        (f"{{{GOOD}, timezone: ../../../etc/passwd}}",
         "timezone: '../../../etc/passwd' is not a known IANA time zone; write one such as "
         "Europe/Berlin or UTC"),
        (f"{{{GOOD}, tz: UTC}}",
         "tz: unknown key; valid keys are kind, schedule, duration, timezone"),
        ("{kind: deny, duration: 2h}", "schedule: missing; add it"),
    ],
)  # fmt: skip
def test_a_bad_window_is_one_line_naming_its_index_and_field(entry: str, line: str) -> None:
    assert (
        error_of(windowed(f"{{{GOOD}}}", entry))
        == f"faas-gitops.yaml: environments.production.windows[1].{line}"
    )


def test_windows_are_parsed_with_their_schedule_normalised_and_utc_by_default() -> None:
    text = windowed(
        "{kind: deny, schedule: '0 22 * * 5', duration: 2d, timezone: Europe/Berlin}",
        "{kind: allow, schedule: ' 0  9 * *   1-5', duration: 1h30m}",
    )
    production = parse_environments(text.encode()).by_name()["production"]
    assert production.windows == (
        Window("deny", "0 22 * * 5", timedelta(days=2), "Europe/Berlin"),
        Window("allow", "0 9 * * 1-5", timedelta(hours=1, minutes=30), "UTC"),
    )


def test_unknown_keys_list_the_new_valid_keys_at_each_level() -> None:
    assert error_of("owners: x\nenvironments:\n  s: {keysetId: 1}\n") == (
        "faas-gitops.yaml: owners: unknown key; valid keys are environments, owner"
    )
    assert error_of("environments:\n  s: {keysetId: 1, window: []}\n") == (
        "faas-gitops.yaml: environments.s.window: unknown key; valid keys are keysetId, "
        "branches, tags, frozen, windows"
    )

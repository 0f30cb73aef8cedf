"""Sync windows decide whether an environment takes deployments at a given moment: deny windows
block, allow windows admit, ``frozen: true`` blocks everything; the clock is a parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from faas_gitops.source.environments import parse_environments
from faas_gitops.source.windows import Freeze, Window, freeze_state

# 2024-01-01 is a Monday.
WEEKEND = Window("deny", "0 18 * * 5", timedelta(days=2, hours=14))  # Fri 18:00 to Mon 08:00
OFFICE = Window("allow", "0 9 * * 1-5", timedelta(hours=8))  # weekdays 09:00 to 17:00
LUNCH = Window("deny", "0 12 * * *", timedelta(hours=1))
LATE = Window("deny", "0 16 * * *", timedelta(hours=2))  # runs past the office's end
BERLIN_NIGHT = Window("deny", "0 1 * * *", timedelta(hours=2), "Europe/Berlin")
BERLIN_OFFICE = Window("allow", "0 9 * * 1-5", timedelta(hours=8), "Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


OPEN = Freeze(False, None, None)


@pytest.mark.parametrize(
    ("windows", "now", "expected"),
    [
        ((), "2024-01-06T12:00:00+00:00", OPEN),
        # A deny window: open from its fire time (inclusive) for its duration (exclusive end).
        ((WEEKEND,), "2024-01-05T17:59:59+00:00", OPEN),
        ((WEEKEND,), "2024-01-05T18:00:00+00:00",
         Freeze(True, "deny window 0 18 * * 5 (UTC)", at("2024-01-08T08:00:00+00:00"))),
        ((WEEKEND,), "2024-01-06T12:00:00+00:00",
         Freeze(True, "deny window 0 18 * * 5 (UTC)", at("2024-01-08T08:00:00+00:00"))),
        ((WEEKEND,), "2024-01-08T08:00:00+00:00", OPEN),
        # Allow windows: inside one is open; outside all is frozen until the next opening.
        ((OFFICE,), "2024-01-02T10:00:00+00:00", OPEN),
        ((OFFICE,), "2024-01-02T17:00:00+00:00",
         Freeze(True, "outside the allow windows", at("2024-01-03T09:00:00+00:00"))),
        ((OFFICE,), "2024-01-05T18:00:00+00:00",
         Freeze(True, "outside the allow windows", at("2024-01-08T09:00:00+00:00"))),
        # Deny wins over allow, and until is when deployments really resume.
        ((OFFICE, LUNCH), "2024-01-02T12:30:00+00:00",
         Freeze(True, "deny window 0 12 * * * (UTC)", at("2024-01-02T13:00:00+00:00"))),
        ((OFFICE, LUNCH), "2024-01-02T13:00:00+00:00", OPEN),
        ((OFFICE, LATE), "2024-01-02T16:30:00+00:00",
         Freeze(True, "deny window 0 16 * * * (UTC)", at("2024-01-03T09:00:00+00:00"))),
        # Overlapping deny windows: the latest end counts.
        ((LUNCH, Window("deny", "30 12 * * *", timedelta(hours=1))), "2024-01-02T12:45:00+00:00",
         Freeze(True, "deny window 30 12 * * * (UTC)", at("2024-01-02T13:30:00+00:00"))),
    ],
)  # fmt: skip
def test_freeze_state_follows_deny_and_allow_windows(
    windows: tuple[Window, ...], now: str, expected: Freeze
) -> None:
    assert freeze_state(False, windows, at(now)) == expected


@pytest.mark.parametrize(
    ("windows", "now", "expected"),
    [
        # Spring forward (2024-03-31, 02:00 CET -> 03:00 CEST): a 2h window opened at 01:00
        # local lasts two real hours, to 04:00 CEST = 02:00 UTC, not 03:00 local.
        ((BERLIN_NIGHT,), "2024-03-31T01:30:00+00:00",
         Freeze(True, "deny window 0 1 * * * (Europe/Berlin)", at("2024-03-31T02:00:00+00:00"))),
        ((BERLIN_NIGHT,), "2024-03-31T02:00:00+00:00", OPEN),
        # Fall back (2024-10-27): 01:00 CEST is 23:00 UTC the day before.
        ((BERLIN_NIGHT,), "2024-10-27T00:30:00+00:00",
         Freeze(True, "deny window 0 1 * * * (Europe/Berlin)", at("2024-10-27T01:00:00+00:00"))),
        ((BERLIN_NIGHT,), "2024-10-27T01:00:00+00:00", OPEN),
        # 09:00 local is 08:00 UTC in winter and 07:00 UTC in summer.
        ((BERLIN_OFFICE,), "2024-03-29T07:30:00+00:00",
         Freeze(True, "outside the allow windows", at("2024-03-29T08:00:00+00:00"))),
        ((BERLIN_OFFICE,), "2024-03-29T17:30:00+00:00",
         Freeze(True, "outside the allow windows", at("2024-04-01T07:00:00+00:00"))),
        ((BERLIN_OFFICE,), "2024-04-02T07:30:00+00:00", OPEN),
        # now in another zone is the same instant.
        ((BERLIN_OFFICE,), "2024-04-02T09:30:00+02:00", OPEN),
    ],
)  # fmt: skip
def test_windows_run_in_their_time_zone_across_daylight_saving_changes(
    windows: tuple[Window, ...], now: str, expected: Freeze
) -> None:
    assert freeze_state(False, windows, at(now)) == expected


def test_frozen_true_wins_over_every_window_and_has_no_end() -> None:
    inside_office = at("2024-01-02T10:00:00+00:00")
    assert freeze_state(True, (OFFICE,), inside_office) == Freeze(
        True, "frozen in faas-gitops.yaml", None
    )
    assert freeze_state(True, (), inside_office) == Freeze(True, "frozen in faas-gitops.yaml", None)


def test_a_deny_window_that_never_closes_has_no_end() -> None:
    always = Window("deny", "* * * * *", timedelta(minutes=1))
    assert freeze_state(False, (always,), at("2024-01-02T10:00:30+00:00")) == Freeze(
        True, "deny window * * * * * (UTC)", None
    )


def test_a_naive_now_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        freeze_state(False, (OFFICE,), datetime(2024, 1, 2, 10, 0))


def test_an_environment_from_the_file_answers_its_freeze() -> None:
    config = parse_environments(
        b"environments:\n"
        b"  staging: {keysetId: 1, branches: [main]}\n"
        b"  production:\n"
        b"    keysetId: 2\n"
        b"    tags: ['v*']\n"
        b"    windows:\n"
        b"      - {kind: deny, schedule: '0 18 * * 5', duration: 2d14h}\n"
    )
    saturday = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
    environments = config.by_name()
    assert environments["staging"].freeze(saturday) == Freeze(False, None, None)
    assert environments["production"].freeze(saturday) == Freeze(
        True, "deny window 0 18 * * 5 (UTC)", datetime(2024, 1, 8, 8, 0, tzinfo=UTC)
    )

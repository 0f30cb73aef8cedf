"""Sync windows: when an environment may be deployed to, like Argo CD's, as pure functions.

An environment of ``faas-gitops.yaml`` may list ``windows``: a ``deny`` window blocks
deployments while it is open, and when ``allow`` windows exist, deployments happen only while
one of them is open. A window opens at each fire time of a 5-field cron ``schedule`` evaluated
in its IANA ``timezone`` and stays open for ``duration`` of elapsed time (a 2h window opened at
01:00 on the night clocks spring forward closes at 04:00 local, two real hours later).

Nothing here reads a clock or a file: ``now`` is a parameter, so every decision is a table
test. ``cronsim`` (fire times, with Debian cron's DST rules) and ``zoneinfo`` are imported on
first use: most repositories define no window, and the sync's start-up should not pay for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from faas_gitops.source.yaml_loader import shown

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

WindowKind = Literal["deny", "allow"]
KINDS: tuple[WindowKind, ...] = ("deny", "allow")
#: A window open longer than a year is a freeze; ``frozen: true`` says that better. The bound
#: also keeps every date computed here far inside ``datetime``'s range.
MAX_DURATION = timedelta(days=366)
#: How many open-close transitions ``until`` follows (chained or overlapping windows) before
#: it gives up and says "no end in sight" (None).
MAX_STEPS = 200
_DURATION = re.compile(r"(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?")
_CRON_CHARS = re.compile(r"[A-Za-z0-9*,/#?LW-]+")


@dataclass(frozen=True, slots=True)
class Window:
    """One sync window as validated: ``schedule`` is normalised to single spaces."""

    kind: WindowKind
    schedule: str
    duration: timedelta
    timezone: str = "UTC"

    def is_open(self, at: datetime) -> datetime | None:
        """When the window opened at ``at`` closes (UTC), or None when it is closed then.

        Only the latest fire time at or before ``at`` matters: every window lasts the same
        ``duration``, so an earlier opening closes no later than the latest one.
        """
        start = _latest_fire(self, at)
        if start is None:
            return None
        end = start + self.duration
        return end if at < end else None

    def next_opening(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (UTC), or None within cron's horizon."""
        return next(_fires(self, after, reverse=False), None)


@dataclass(frozen=True, slots=True)
class Freeze:
    """Whether an environment takes deployments now, why not, and until when (UTC).

    ``until`` is None when the freeze has no end that can be computed: ``frozen: true`` (a
    commit ends it), or windows that keep it closed beyond ``MAX_STEPS`` transitions.
    """

    frozen: bool
    reason: str | None = None
    until: datetime | None = None


OPEN = Freeze(frozen=False)


def freeze_state(frozen: bool, windows: Sequence[Window], now: datetime) -> Freeze:
    """The freeze of an environment at ``now`` (an aware datetime).

    ``frozen`` wins, then an open deny window (deny wins over allow), then "outside the allow
    windows" when allow windows exist and none is open. ``until`` is when deployments can
    resume: the end of the open deny windows, or the next opening of an allow window, followed
    through windows that chain (a deny window opening as another closes) so it is never a
    moment at which the environment is still frozen.
    """
    if frozen:
        return Freeze(True, "frozen in faas-gitops.yaml", None)
    now = _utc(now)
    blocked = _blocked(windows, now)
    if blocked is None:
        return OPEN
    reason, resume = blocked
    return Freeze(True, reason, _resume(windows, resume))


def _blocked(windows: Sequence[Window], at: datetime) -> tuple[str, datetime | None] | None:
    """Why deployments are blocked at ``at`` and the next moment worth checking, or None."""
    denies = [(end, w) for w in windows if w.kind == "deny" and (end := w.is_open(at))]
    if denies:
        end, window = max(denies, key=lambda pair: pair[0])
        return f"deny window {window.schedule} ({window.timezone})", end
    allows = [w for w in windows if w.kind == "allow"]
    if allows and not any(w.is_open(at) for w in allows):
        starts = [start for w in allows if (start := w.next_opening(at)) is not None]
        return "outside the allow windows", min(starts, default=None)
    return None


def _resume(windows: Sequence[Window], candidate: datetime | None) -> datetime | None:
    """The first moment from ``candidate`` on at which no window blocks deployments."""
    for _ in range(MAX_STEPS):
        if candidate is None:
            return None
        blocked = _blocked(windows, candidate)
        if blocked is None:
            return candidate
        candidate = blocked[1]
    return None


# -- parsing (raises ValueError with the reason; environments.py names the field) -----------


def parse_kind(value: str) -> WindowKind:
    for kind in KINDS:
        if value == kind:
            return kind
    raise ValueError(f"must be deny or allow, not {shown(value)}")


def parse_duration(value: str) -> timedelta:
    """``30m``, ``2h``, ``1h30m``, ``1d``: days, hours and minutes in that order."""
    match = _DURATION.fullmatch(value)
    if not value or match is None:
        raise ValueError(f"must be a duration such as 30m, 2h, 1h30m or 1d, not {shown(value)}")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if not duration:
        raise ValueError("must be longer than zero, such as 30m")
    if duration > MAX_DURATION:
        raise ValueError("must be at most 366d; for a longer freeze write frozen: true")
    return duration


def parse_schedule(value: str) -> str:
    """A 5-field cron expression cronsim accepts, with its fields joined by single spaces."""
    from cronsim import CronSim, CronSimError  # noqa: PLC0415 - ~20 ms, only with windows

    fields = value.split()
    hint = "write a 5-field cron expression such as '0 22 * * 5' (minute hour day month weekday)"
    if len(fields) != 5 or not all(_CRON_CHARS.fullmatch(field) for field in fields):
        raise ValueError(f"{shown(value)} is not a 5-field cron expression; {hint}")
    schedule = " ".join(fields)
    try:
        CronSim(schedule, datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError, IndexError, KeyError) as exc:
        raise ValueError(
            f"{shown(schedule)} is not a valid cron expression ({exc}); {hint}"
        ) from None
    return schedule


def parse_timezone(value: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``) the zoneinfo database knows."""
    if _zone(value) is None:
        known = "write one such as Europe/Berlin or UTC"
        raise ValueError(f"{shown(value)} is not a known IANA time zone; {known}")
    return value


def _zone(name: str) -> ZoneInfo | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - only with windows

    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# -- fire times -------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be an aware datetime (for example datetime.now(UTC))")
    return moment.astimezone(UTC)


def _fires(window: Window, start: datetime, *, reverse: bool) -> Iterator[datetime]:
    """Fire times of ``window`` in UTC: strictly after ``start``, or at or before it (reverse).

    cronsim works in the window's zone (so ``0 9 * * *`` is 09:00 local on both sides of a
    DST change) and stops by itself after 50 years without a match.
    """
    from cronsim import CronSim  # noqa: PLC0415 - ~20 ms, only with windows

    zone = _zone(window.timezone)
    local = _utc(start).astimezone(zone)
    if reverse:
        # cronsim's first reverse step is one second back; fire times are whole minutes, so
        # starting a second later (microseconds dropped) includes a fire exactly at ``start``.
        local = local.replace(microsecond=0) + timedelta(seconds=1)
    for fire in CronSim(window.schedule, local, reverse=reverse):
        yield fire.astimezone(UTC)


def _latest_fire(window: Window, at: datetime) -> datetime | None:
    return next(_fires(window, at, reverse=True), None)


__all__ = [
    "KINDS",
    "MAX_DURATION",
    "OPEN",
    "Freeze",
    "Window",
    "WindowKind",
    "freeze_state",
    "parse_duration",
    "parse_kind",
    "parse_schedule",
    "parse_timezone",
]

"""Progress for long syncs: redrawn in place on a terminal, plain lines on request, else silent."""

from __future__ import annotations

import io

import pytest
import structlog

from faas_gitops import logs
from faas_gitops.cli.progress import Progress

pytestmark = pytest.mark.usefixtures("restored_logging")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_one_line_redrawn_in_place_and_erased_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock, tty = FakeClock(), FakeTerminal()
    progress = Progress(tty, clock=clock)

    progress.start(40)
    for n in range(17):
        clock.now += 1
        progress.advance(f"pkg-{n}")

    assert tty.getvalue().rsplit("\r\x1b[K", 1)[-1] == "synced 17/40 packages…  pkg-16"
    assert "\n" not in tty.getvalue()
    progress.finish()
    assert tty.getvalue().endswith("\r\x1b[K")
    assert capsys.readouterr().out == ""  # never on stdout


def test_terminal_redraws_are_throttled_but_the_last_package_is_always_drawn() -> None:
    clock, tty = FakeClock(), FakeTerminal()
    progress = Progress(tty, clock=clock)

    progress.start(1000)
    for _ in range(1000):
        progress.advance("p")  # the clock does not move: no redraw until the end

    draws = tty.getvalue().split("\r\x1b[K")[1:]
    assert draws == ["synced 0/1000 packages…", "synced 1000/1000 packages…  p"]


def test_a_hostile_path_is_escaped_on_the_progress_line() -> None:
    tty = FakeTerminal()
    progress = Progress(tty, clock=FakeClock())

    progress.start(1)
    progress.advance("a\nb\x1b[2J")

    assert tty.getvalue().endswith("synced 1/1 package…  a\\nb\\x1b[2J")


def test_not_a_terminal_and_not_asked_prints_nothing() -> None:
    pipe = io.StringIO()
    progress = Progress(pipe, clock=FakeClock())

    progress.start(40)
    for _ in range(40):
        progress.advance("p")
    progress.finish()

    assert pipe.getvalue() == ""
    assert not progress.active


def test_quiet_prints_nothing_even_on_a_terminal() -> None:
    tty = FakeTerminal()
    progress = Progress(tty, enabled=False, plain=True)

    progress.start(3)
    progress.advance("p")
    progress.finish()

    assert tty.getvalue() == ""


def test_plain_progress_prints_a_line_every_tenth_of_the_packages() -> None:
    pipe = io.StringIO()
    progress = Progress(pipe, plain=True, clock=FakeClock())

    progress.start(40)
    for _ in range(40):
        progress.advance("p")
    progress.finish()

    assert pipe.getvalue().splitlines() == [f"synced {n}/40 packages" for n in range(4, 41, 4)]


def test_plain_progress_also_prints_every_two_seconds_of_a_slow_sync() -> None:
    clock, pipe = FakeClock(), io.StringIO()
    progress = Progress(pipe, plain=True, clock=clock)

    progress.start(1000)
    for _ in range(3):
        clock.now += 2.5
        progress.advance("slow")
    progress.finish()

    assert pipe.getvalue().splitlines() == [
        "synced 1/1000 packages",
        "synced 2/1000 packages",
        "synced 3/1000 packages",
    ]


def test_a_log_line_erases_the_progress_line_first_and_the_next_update_redraws_it() -> None:
    clock, tty = FakeClock(), FakeTerminal()
    logs.configure("info", "console", tty)
    progress = Progress(tty, clock=clock)

    progress.start(2)
    structlog.get_logger().warning("cache.write_failed", error="disk full")
    clock.now += 1
    progress.advance("p")

    text = tty.getvalue()
    assert text.startswith("\r\x1b[Ksynced 0/2 packages…\r\x1b[K")  # drawn, then erased
    assert "cache.write_failed" in text.split("\n")[0]
    assert text.split("\n")[1] == "\r\x1b[Ksynced 1/2 packages…  p"

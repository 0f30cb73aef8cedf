"""The one backoff schedule and the pacer every retrying or polling loop waits by."""

from __future__ import annotations

import asyncio
import itertools
import math
import random

import pytest

from faas_gitops.api.retry import RetryPolicy
from faas_gitops.backoff import Backoff, Pacer
from faas_gitops.daemon.policy import retry_delay
from faas_gitops.deploy.writer import Timing
from faas_gitops.notify.delivery import DeliveryPolicy
from tests.fake_clock import FakeClock


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        pytest.param(Backoff(1.0), [1, 2, 4, 8, 16, 32], id="doubling without a cap"),
        pytest.param(Backoff(1.0, cap=10), [1, 2, 4, 8, 10, 10], id="doubling up to a cap"),
        pytest.param(
            Backoff(0.1, factor=1.6, cap=1.0),
            [0.1, 0.16, 0.256, 0.4096, 0.65536, 1.0],
            id="the deployment stage's polls",
        ),
        pytest.param(Backoff(0.5, factor=1, cap=8), [0.5] * 6, id="a factor of 1 is a fixed pause"),
        pytest.param(Backoff(3.0, cap=2.0), [2] * 6, id="a first delay above the cap is capped"),
        pytest.param(Backoff(0.0, cap=5), [0] * 6, id="a zero first delay stays zero"),
    ],
)
def test_delays_grow_by_the_factor_from_the_first_up_to_the_cap(
    schedule: Backoff, expected: list[float]
) -> None:
    by_attempt = [schedule.delay(attempt) for attempt in range(1, 7)]
    in_turn = list(itertools.islice(schedule.delays(), 6))

    assert by_attempt == pytest.approx(expected)
    assert in_turn == by_attempt


def test_the_figures_are_those_of_a_loop_multiplying_its_pause() -> None:
    schedule = Backoff(0.1, factor=1.6, cap=1.0)
    pause, looped = 0.1, []
    for _ in range(8):
        looped.append(pause)
        pause = min(1.0, pause * 1.6)

    assert [schedule.delay(n) for n in range(1, 9)] == looped  # exactly, not approximately


@pytest.mark.parametrize("attempt", [0, -3])
def test_an_attempt_before_the_first_waits_the_first_delay(attempt: int) -> None:
    assert Backoff(1.0, cap=30).delay(attempt) == 1.0


def test_thousands_of_failures_wait_the_cap_instead_of_overflowing() -> None:
    assert Backoff(1.0, cap=300).delay(5000) == 300
    assert Backoff(1.0).delay(5000) == math.inf


@pytest.mark.parametrize(
    ("jitter", "low_share"),
    [
        pytest.param(0.5, 0.5, id="equal jitter draws from the upper half"),
        pytest.param(1.0, 0.0, id="full jitter draws from zero up"),
        pytest.param(0.25, 0.75, id="a quarter jittered"),
    ],
)
def test_a_jittered_delay_is_drawn_between_its_share_and_the_delay(
    jitter: float, low_share: float
) -> None:
    schedule = Backoff(1.0, cap=8, jitter=jitter)
    rng = random.Random(7)
    for attempt in range(1, 8):
        ceiling = Backoff(1.0, cap=8).delay(attempt)
        drawn = [schedule.delay(attempt, rng) for _ in range(200)]
        assert min(drawn) >= ceiling * low_share
        assert max(drawn) <= ceiling
        assert len(set(drawn)) > 1


def test_a_seeded_random_source_gives_the_same_delays_in_turn_or_by_attempt() -> None:
    schedule = Backoff(0.25, cap=8, jitter=0.5)

    in_turn = list(itertools.islice(schedule.delays(random.Random(3)), 5))
    rng = random.Random(3)
    by_attempt = [schedule.delay(n, rng) for n in range(1, 6)]

    assert in_turn == by_attempt
    assert in_turn != list(itertools.islice(schedule.delays(random.Random(4)), 5))


def test_an_unjittered_schedule_draws_nothing_from_the_random_source() -> None:
    rng = random.Random(1)
    state = rng.getstate()

    Backoff(1.0).delay(3, rng)

    assert rng.getstate() == state


def test_a_jittered_schedule_without_a_random_source_is_refused() -> None:
    with pytest.raises(ValueError, match="random source"):
        Backoff(1.0, jitter=0.5).delay(1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"first": -1.0}, "negative", id="negative first delay"),
        pytest.param({"first": 1.0, "cap": -1.0}, "negative", id="negative cap"),
        pytest.param({"first": 1.0, "factor": 0.5}, "shrink", id="shrinking factor"),
        pytest.param({"first": 1.0, "jitter": 1.5}, "from 0 to 1", id="jitter above one"),
        pytest.param({"first": 1.0, "jitter": -0.1}, "from 0 to 1", id="negative jitter"),
    ],
)
def test_a_schedule_that_makes_no_sense_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)


def test_a_pacer_sleeps_the_schedule_and_cuts_the_last_pause_to_the_deadline() -> None:
    clock = FakeClock()
    pacer = Pacer(Backoff(1.0, cap=4), deadline=10.0, clock=clock, sleep=clock.sleep)

    async def pause_until_told_no() -> list[bool]:
        return [await pacer.pause() for _ in range(6)]

    answers = asyncio.run(pause_until_told_no())

    assert clock.sleeps == [1, 2, 4, 3]  # 1 + 2 + 4 = 7, so 3 s were left for the fourth
    assert answers == [True, True, True, True, False, False]


def test_a_pacer_past_its_deadline_says_no_without_sleeping() -> None:
    clock = FakeClock()
    clock.now = 5.0
    pacer = Pacer(Backoff(1.0), deadline=5.0, clock=clock, sleep=clock.sleep)

    assert asyncio.run(pacer.pause()) is False
    assert clock.sleeps == []


def test_a_pacer_jitters_with_the_random_source_it_is_given() -> None:
    clock = FakeClock()
    schedule = Backoff(1.0, cap=4, jitter=1.0)
    pacer = Pacer(schedule, deadline=100, clock=clock, sleep=clock.sleep, rng=random.Random(5))

    async def three() -> None:
        for _ in range(3):
            await pacer.pause()

    asyncio.run(three())

    assert clock.sleeps == list(itertools.islice(schedule.delays(random.Random(5)), 3))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        pytest.param(RetryPolicy().backoff, Backoff(0.25, 2, 8.0, 0.5), id="api calls"),
        pytest.param(DeliveryPolicy().backoff, Backoff(0.5, 2, 8.0, 0.5), id="notifications"),
        pytest.param(Timing().poll, Backoff(0.1, 1.6, 1.0), id="deployment tries and polls"),
    ],
)
def test_every_caller_keeps_its_numbers(schedule: Backoff, expected: Backoff) -> None:
    assert schedule == expected


def test_the_daemon_retries_a_failed_sync_after_1_2_4_seconds_up_to_the_interval() -> None:
    assert [retry_delay(n, cap=30) for n in range(0, 8)] == [1, 1, 2, 4, 8, 16, 30, 30]
    assert retry_delay(100_000, cap=60) == 60

"""The shell's reconnect backoff: doubling from the initial delay, capped, reset, jitter within bounds."""

from __future__ import annotations

import random

import pytest

from gateway.backoff import Backoff


def test_delays_double_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 30.0)
    assert [backoff.next_delay() for _ in range(9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(0.02, 0.1)
    assert [backoff.next_delay() for _ in range(4)] == [0.02, 0.04, 0.08, 0.1]
    backoff.reset()
    assert backoff.next_delay() == 0.02
    assert backoff.next_delay() == 0.04


def test_current_and_capped_do_not_advance() -> None:
    backoff = Backoff(1.0, 4.0)
    assert (backoff.current_s, backoff.capped) == (1.0, False)
    assert backoff.current_s == 1.0
    backoff.next_delay()
    backoff.next_delay()
    assert (backoff.current_s, backoff.capped) == (4.0, True)
    assert backoff.next_delay() == 4.0
    backoff.reset()
    assert (backoff.current_s, backoff.capped) == (1.0, False)


def test_an_initial_delay_above_the_cap_starts_at_the_cap() -> None:
    backoff = Backoff(0.5, 0.2)
    assert [backoff.next_delay() for _ in range(2)] == [0.2, 0.2]


def test_another_factor() -> None:
    backoff = Backoff(1.0, 100.0, factor=3.0)
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 3.0, 9.0, 27.0, 81.0, 100.0]


def test_jitter_shortens_each_delay_within_its_fraction_and_never_passes_the_cap() -> None:
    backoff = Backoff(0.5, 60.0, jitter=0.2, rng=random.Random(7))
    for _ in range(40):
        base = backoff.current_s
        delay = backoff.next_delay()
        assert 0.8 * base <= delay <= base <= 60.0
    assert backoff.capped


def test_jitter_is_reproducible_from_the_injected_rng() -> None:
    first = Backoff(0.5, 60.0, jitter=0.2, rng=random.Random(3))
    second = Backoff(0.5, 60.0, jitter=0.2, rng=random.Random(3))
    delays = [first.next_delay() for _ in range(10)]
    assert delays == [second.next_delay() for _ in range(10)]
    assert len(set(delays)) == 10  # jittered: not the exact doubling


def test_without_jitter_the_rng_is_not_used() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    backoff = Backoff(0.5, 4.0, rng=rng)
    assert [backoff.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]
    assert rng.getstate() == state


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0.0, "max_s": 1.0},
        {"initial_s": -1.0, "max_s": 1.0},
        {"initial_s": 1.0, "max_s": 0.0},
        {"initial_s": 1.0, "max_s": 2.0, "factor": 0.5},
        {"initial_s": 1.0, "max_s": 2.0, "jitter": 1.5, "rng": random.Random(0)},
        {"initial_s": 1.0, "max_s": 2.0, "jitter": 0.2},  # jitter without an rng
    ],
)
def test_a_policy_that_cannot_work_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]

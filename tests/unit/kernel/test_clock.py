"""Clocks are injected: a fixed clock for tests and the simulator, the system clock otherwise."""

from __future__ import annotations

import time

import pytest

from hazina.kernel.clock import FixedClock, SystemClock
from hazina.kernel.invariant import InvariantViolationError


def test_a_fixed_clock_stands_still_until_told() -> None:
    clock = FixedClock(start_ns=1_000)
    assert clock.now_ns() == clock.now_ns() == 1_000
    clock.advance_ns(5)
    assert clock.now_ns() == 1_005
    clock.advance_seconds(2)
    assert clock.now_ns() == 2_000_001_005
    clock.advance_seconds(0.25)
    assert clock.now_ns() == 2_250_001_005
    clock.advance_ns(0)
    assert clock.now_ns() == 2_250_001_005


def test_the_default_start_is_a_recent_utc_time() -> None:
    assert FixedClock().now_ns() == 1_700_000_000_000_000_000  # 2023-11-14 22:13:20 UTC


def test_a_fixed_clock_never_goes_backwards() -> None:
    clock = FixedClock()
    with pytest.raises(InvariantViolationError):
        clock.advance_ns(-1)
    with pytest.raises(InvariantViolationError):
        clock.advance_seconds(-0.5)
    with pytest.raises(InvariantViolationError):
        FixedClock(start_ns=-1)


def test_the_system_clock_reads_the_wall_clock() -> None:
    before = time.time_ns()
    now = SystemClock().now_ns()
    after = time.time_ns()
    assert before <= now <= after
    assert type(now) is int

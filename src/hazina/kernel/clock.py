"""Injectable clocks. Domain code never reads the time itself; `bootstrap` passes a clock in."""

from __future__ import annotations

import time
from typing import Protocol

from hazina.kernel.invariant import invariant


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock that moves only when told to: for tests and the seeded simulator."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        invariant(start_ns >= 0, "clock start must not be negative")
        self._now_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance_ns(self, delta_ns: int) -> None:
        invariant(delta_ns >= 0, "a clock never goes backwards")
        self._now_ns += delta_ns

    def advance_seconds(self, seconds: float) -> None:
        self.advance_ns(int(seconds * 1_000_000_000))

"""Identifiers.

Ledger ids are positive 63-bit integers chosen by the client (idempotency keys). `IdSource`
makes time-ordered ids like TigerBeetle's recommended ULID-style ids: the high bits are the
millisecond timestamp, the low bits random, so inserts land near the end of the primary-key
index. Prefixed opaque ids (`acc_...`) are for the HTTP edge.
"""

from __future__ import annotations

import random
import secrets
import threading

from hazina.kernel.clock import Clock
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import ledger_id_max

_random_bits = 22
_random_mask = (1 << _random_bits) - 1


class IdSource:
    """Time-ordered 63-bit ids: 41 bits of milliseconds, 22 bits of randomness, strictly rising."""

    def __init__(self, clock: Clock, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng
        self._last = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            return self._next_id()

    def _next_id(self) -> int:
        milliseconds = self._clock.now_ns() // 1_000_000
        random_part = (
            self._rng.getrandbits(_random_bits)
            if self._rng is not None
            else secrets.randbits(_random_bits)
        )
        candidate = ((milliseconds & ((1 << 41) - 1)) << _random_bits) | random_part
        if candidate <= self._last:
            candidate = self._last + 1
        invariant(0 < candidate < ledger_id_max, "id out of range")
        self._last = candidate
        return candidate


def prefixed(prefix: str, value: int) -> str:
    """Render an integer id as an opaque prefixed string, e.g. `acc_0000001f`."""
    invariant(prefix.isalpha() and prefix.islower(), "prefix must be lower-case letters")
    invariant(0 < value < ledger_id_max, "id out of range")
    return f"{prefix}_{value:016x}"


def parse_prefixed(prefix: str, text: str) -> int:
    """Parse an id written by `prefixed`; raises `ValueError` with a clear message otherwise."""
    head, separator, tail = text.partition("_")
    if (
        separator != "_"
        or head != prefix
        or len(tail) != 16
        or not all(c in "0123456789abcdef" for c in tail)
    ):
        raise ValueError(f"expected an id like {prefix}_<16 hex digits>, got {text!r}")
    try:
        value = int(tail, 16)
    except ValueError:
        raise ValueError(f"expected an id like {prefix}_<16 hex digits>, got {text!r}") from None
    if not 0 < value < ledger_id_max:
        raise ValueError(f"id {text!r} is out of range")
    return value

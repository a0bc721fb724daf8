"""Ids: time-ordered 63-bit ids, and opaque prefixed ids for the HTTP edge."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource, parse_prefixed, prefixed
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import ledger_id_max


def test_ids_rise_strictly_while_the_clock_stands_still() -> None:
    source = IdSource(FixedClock(), random.Random(7))
    ids = [source.next_id() for _ in range(10_000)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert all(0 < i < ledger_id_max for i in ids)


def test_ids_rise_strictly_as_the_clock_moves() -> None:
    clock = FixedClock()
    source = IdSource(clock)  # system randomness
    ids = []
    for step in range(2_000):
        clock.advance_ns(step % 3 * 400_000)
        ids.append(source.next_id())
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_ids_carry_the_millisecond_in_their_high_bits() -> None:
    clock = FixedClock(start_ns=1_700_000_000_123_000_000)
    source = IdSource(clock, random.Random(1))
    first = source.next_id()
    assert first >> 22 == 1_700_000_000_123
    clock.advance_ns(5_000_000)
    assert source.next_id() >> 22 == 1_700_000_000_128


def test_seeded_sources_repeat_themselves() -> None:
    def ids() -> list[int]:
        source = IdSource(FixedClock(), random.Random(42))
        return [source.next_id() for _ in range(50)]

    assert ids() == ids()


@given(
    prefix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5),
    value=st.integers(1, ledger_id_max - 1),
)
def test_prefixed_ids_round_trip(prefix: str, value: int) -> None:
    text = prefixed(prefix, value)
    assert text.startswith(prefix + "_")
    assert len(text) == len(prefix) + 17
    assert parse_prefixed(prefix, text) == value


def test_prefixed_ids_sort_like_their_values() -> None:
    values = [1, 15, 16, 255, 2**40, ledger_id_max - 1]
    texts = [prefixed("txn", v) for v in values]
    assert texts == sorted(texts)
    assert prefixed("acc", 31) == "acc_000000000000001f"


@pytest.mark.parametrize(
    ("prefix", "value"),
    [("Acc", 1), ("ac1", 1), ("", 1), ("acc_", 1), ("acc", 0), ("acc", ledger_id_max), ("acc", -1)],
)
def test_prefixed_refuses_bad_prefixes_and_values(prefix: str, value: int) -> None:
    with pytest.raises(InvariantViolationError):
        prefixed(prefix, value)


@pytest.mark.parametrize(
    "text",
    [
        "txn_000000000000001f",  # another prefix
        "acc000000000000001f",  # no separator
        "acc_00000000000001f",  # 15 digits
        "acc_0000000000000001f",  # 17 digits
        "acc_000000000000001g",  # not hexadecimal
        "acc_0000000000000000",  # zero
        "acc_7fffffffffffffff",  # the reserved maximum
        "acc_ffffffffffffffff",  # beyond 63 bits
        "acc_-000000000000001",  # negative
        "acc_+000000000000001",  # a sign is not a digit
        "acc_0_00000000000001",  # nor is an underscore
        "acc_ 000000000000001",  # nor a space
        "acc_000000000000001\n",  # nor a newline
        "",
    ],
)
def test_parse_refuses_anything_prefixed_would_not_write(text: str) -> None:
    with pytest.raises(ValueError, match="acc"):
        parse_prefixed("acc", text)

"""Multi-row statements come in a few sizes only, so SQLite compiles each size once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hazina.kernel.limits import sqlite_rows_per_statement_max
from hazina.ledger.store.sqlite import _power_of_two_parts


@given(st.integers(0, 20_000))
def test_parts_cover_the_rows_in_order_in_power_of_two_sizes(rows: int) -> None:
    parts = list(_power_of_two_parts(rows))
    assert [start for start, _ in parts] == [0, *(stop for _, stop in parts)][: len(parts)]
    assert (parts[-1][1] if parts else 0) == rows
    sizes = [stop - start for start, stop in parts]
    assert all(
        size & (size - 1) == 0 and 0 < size <= sqlite_rows_per_statement_max for size in sizes
    )
    assert sizes == sorted(sizes, reverse=True)
    # Full statements, then each smaller size at most once: the binary digits of the rest.
    rest = rows % sqlite_rows_per_statement_max
    assert sizes.count(sqlite_rows_per_statement_max) == rows // sqlite_rows_per_statement_max
    assert sorted(s for s in sizes if s < sqlite_rows_per_statement_max) == sorted(
        1 << bit for bit in range(rest.bit_length()) if rest >> bit & 1
    )

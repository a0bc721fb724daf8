"""The holding-limit waterfall: what a wallet keeps and what is swept on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.cbdc.domain.chart import CbdcConfig, Tier
from hazina.cbdc.domain.waterfall import Split, split_inflow
from hazina.kernel.invariant import InvariantViolationError


@pytest.mark.parametrize(
    ("balance", "amount", "limit", "expected"),
    [
        (0, 100, 1_000, Split(100, 0)),  # well under
        (900, 100, 1_000, Split(100, 0)),  # exactly to the limit
        (900, 101, 1_000, Split(100, 1)),  # one over: one swept
        (1_000, 50, 1_000, Split(0, 50)),  # full: all swept
        (1_200, 50, 1_000, Split(0, 50)),  # already over (limit lowered): all swept
    ],
)
def test_split(balance: int, amount: int, limit: int, expected: Split) -> None:
    assert split_inflow(balance, amount, limit) == expected


@given(st.integers(0, 10**12), st.integers(1, 10**12), st.integers(1, 10**12))
def test_the_whole_inflow_is_placed_and_the_limit_holds(
    balance: int, amount: int, limit: int
) -> None:
    split = split_inflow(balance, amount, limit)
    assert split.kept + split.swept == amount
    assert split.kept >= 0
    assert split.swept >= 0
    assert balance + split.kept <= max(balance, limit)
    if balance + amount <= limit:
        assert split.swept == 0


def test_an_empty_inflow_is_a_bug() -> None:
    with pytest.raises(InvariantViolationError):
        split_inflow(0, 0, 100)


def test_tiers_have_rising_limits() -> None:
    config = CbdcConfig()
    assert config.holding_max(Tier.anonymous) < config.holding_max(Tier.full_kyc)
    with pytest.raises(InvariantViolationError):
        CbdcConfig(anonymous_holding_max=10, full_kyc_holding_max=5)

"""Ageing, IFRS 9 stages, ECL, repayment allocation and write-off legs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.credit.loans.domain.arrears import (
    ProvisioningPolicy,
    allocate_repayment,
    days_past_due,
    expected_credit_loss,
    overdue_installments,
    stage_of,
    write_off_pieces,
)
from hazina.credit.loans.domain.products import InterestMethod
from hazina.credit.loans.domain.schedule import build_schedule
from hazina.kernel.invariant import InvariantViolationError

SCHEDULE = build_schedule(1_000_000, 3, 1_000, InterestMethod.flat, 0, 30)  # 433,333 x 2 + 1


def test_days_past_due_counts_from_the_oldest_unpaid_installment() -> None:
    assert days_past_due(SCHEDULE, 0, 30) == 0  # due today is not yet late
    assert days_past_due(SCHEDULE, 0, 31) == 1
    assert days_past_due(SCHEDULE, 433_332, 45) == 15  # one unit short is still late
    assert days_past_due(SCHEDULE, 433_333, 45) == 0
    assert days_past_due(SCHEDULE, 433_333, 95) == 35  # the second fell due on day 60
    assert days_past_due(SCHEDULE, 1_300_000, 500) == 0


def test_overdue_installments_beyond_the_penalty_grace() -> None:
    assert overdue_installments(SCHEDULE, 0, 35, 5) == []
    assert overdue_installments(SCHEDULE, 0, 36, 5) == [1]
    assert overdue_installments(SCHEDULE, 433_333, 100, 5) == [2, 3]


@pytest.mark.parametrize(
    ("days", "stage"), [(0, 1), (30, 1), (31, 2), (90, 2), (91, 3), (1_000, 3)]
)
def test_stages_follow_the_ifrs_9_backstops(days: int, stage: int) -> None:
    assert stage_of(days) == stage


def test_expected_credit_loss_is_exposure_times_pd_times_lgd() -> None:
    policy = ProvisioningPolicy()
    assert expected_credit_loss(1_000_000, 1, policy) == 9_000  # 2% x 45%
    assert expected_credit_loss(1_000_000, 2, policy) == 90_000  # 20% x 45%
    assert expected_credit_loss(1_000_000, 3, policy) == 450_000  # 100% x 45%
    assert expected_credit_loss(0, 3, policy) == 0
    assert expected_credit_loss(111, 1, policy) == 1  # 0.999 rounds half up


def test_allocation_pays_penalties_then_interest_then_principal() -> None:
    allocation = allocate_repayment(150, 20, 100, 1_000)
    assert (allocation.penalty, allocation.interest, allocation.principal) == (20, 100, 30)
    with pytest.raises(InvariantViolationError):
        allocate_repayment(1_121, 20, 100, 1_000)


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
)
def test_write_off_uses_the_allowance_first_and_clears_every_receivable(
    allowance: int, principal: int, interest: int, penalty: int
) -> None:
    pieces, left = write_off_pieces(allowance, principal, interest, penalty)
    for target, owed in (("principal", principal), ("interest", interest), ("penalty", penalty)):
        assert sum(p.amount for p in pieces if p.target == target) == owed
    used = sum(p.amount for p in pieces if p.source == "allowance")
    assert used + left == allowance
    assert used == min(allowance, principal + interest + penalty)
    assert all(p.amount > 0 for p in pieces)

"""Schedules: worked examples against hand-checked tables, and the properties of accrual."""

from __future__ import annotations

from decimal import Decimal, getcontext

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hazina.credit.loans.domain.products import InterestMethod
from hazina.credit.loans.domain.schedule import (
    Installment,
    accrual_for_days,
    build_schedule,
    due_through,
    interest_accrued_through,
)

# KES 10,000.00 over 3 monthly installments at 10% a month, disbursed on day 0.
# Declining balance, checked by hand: the level payment is
#   A = 1,000,000 x 0.1 / (1 - 1.1^-3) = 100,000 / 0.248685199 = 402,114.80 -> 402,115
# and each line is interest = balance x 0.1 (half up), principal = A - interest:
#   1: 1,000,000 x 0.1 = 100,000.0 -> 100,000; principal 302,115; balance 697,885
#   2:   697,885 x 0.1 =  69,788.5 ->  69,789; principal 332,326; balance 365,559
#   3:   365,559 x 0.1 =  36,555.9 ->  36,556; principal 365,559 (the rest); balance 0
# (the last installment's total, 402,115, happens to equal A exactly).
DECLINING_TABLE = [
    (1, 30, 302_115, 100_000),
    (2, 60, 332_326, 69_789),
    (3, 90, 365_559, 36_556),
]
# Flat: interest on the original principal each period (1,000,000 x 0.1 = 100,000), principal
# 1,000,000 / 3 = 333,333 with the remaining unit on the last installment.
FLAT_TABLE = [
    (1, 30, 333_333, 100_000),
    (2, 60, 333_333, 100_000),
    (3, 90, 333_334, 100_000),
]


def _table(schedule: tuple[Installment, ...]) -> list[tuple[int, int, int, int]]:
    return [(i.number, i.due_day, i.principal, i.interest) for i in schedule]


def test_declining_balance_schedule_matches_the_hand_checked_table() -> None:
    schedule = build_schedule(1_000_000, 3, 1_000, InterestMethod.declining, 0, 30)
    assert _table(schedule) == DECLINING_TABLE
    assert sum(i.interest for i in schedule) == 206_345


def test_flat_schedule_matches_the_hand_checked_table() -> None:
    schedule = build_schedule(1_000_000, 3, 1_000, InterestMethod.flat, 0, 30)
    assert _table(schedule) == FLAT_TABLE
    assert [i.total for i in schedule] == [433_333, 433_333, 433_334]


def test_grace_installments_pay_interest_only_then_the_same_annuity() -> None:
    schedule = build_schedule(1_000_000, 4, 1_000, InterestMethod.declining, 0, 30, 1)
    assert _table(schedule)[0] == (1, 30, 0, 100_000)
    assert [row[2:] for row in _table(schedule)[1:]] == [row[2:] for row in DECLINING_TABLE]
    flat = build_schedule(1_000_000, 4, 1_000, InterestMethod.flat, 0, 30, 1)
    assert [i.principal for i in flat] == [0, 333_333, 333_333, 333_334]
    assert all(i.interest == 100_000 for i in flat)


def test_declining_balance_agrees_with_the_closed_form_annuity() -> None:
    # An independent oracle: the balance after k level payments A is
    # P(1+r)^k - A((1+r)^k - 1)/r, computed in 40-digit decimals from the unrounded A.
    getcontext().prec = 40
    amount, rate, term = 5_000_000, Decimal("0.035"), 12
    schedule = build_schedule(amount, term, 350, InterestMethod.declining, 0, 30)
    payment = amount * rate / (1 - (1 + rate) ** -term)
    for k in range(1, term):
        growth = (1 + rate) ** k
        exact = amount * growth - payment * (growth - 1) / rate
        ours = amount - sum(i.principal for i in schedule[:k])
        assert abs(Decimal(ours) - exact) <= k, (k, ours, exact)  # rounding: < 1 unit a period


def test_zero_rate_splits_principal_evenly() -> None:
    schedule = build_schedule(100, 3, 0, InterestMethod.declining, 5, 7)
    assert [(i.due_day, i.principal, i.interest) for i in schedule] == [
        (12, 33, 0),
        (19, 33, 0),
        (26, 34, 0),
    ]


def test_accrual_spreads_each_period_evenly_and_completes_on_the_due_day() -> None:
    schedule = build_schedule(1_000_000, 3, 1_000, InterestMethod.declining, 0, 30)
    assert interest_accrued_through(schedule, 0, 0) == 0
    assert interest_accrued_through(schedule, 0, 1) == 3_333  # 100,000 / 30, floored
    assert interest_accrued_through(schedule, 0, 15) == 50_000
    assert interest_accrued_through(schedule, 0, 30) == 100_000
    assert interest_accrued_through(schedule, 0, 31) == 100_000 + 69_789 // 30
    assert interest_accrued_through(schedule, 0, 90) == 206_345
    assert interest_accrued_through(schedule, 0, 400) == 206_345
    assert due_through(schedule, 59) == 402_115
    assert due_through(schedule, 60) == 804_230


amounts = st.integers(min_value=1, max_value=10**12)
terms = st.integers(min_value=1, max_value=120)
rates = st.integers(min_value=0, max_value=10_000)
methods = st.sampled_from(list(InterestMethod))
periods = st.integers(min_value=1, max_value=62)


@given(amounts, terms, rates, methods, periods, st.data())
@example(1, 1, 0, InterestMethod.flat, 1, None)
@example(7, 120, 10_000, InterestMethod.declining, 30, None)
def test_schedule_principal_sums_to_the_amount_lent(
    amount: int,
    term: int,
    rate_bps: int,
    method: InterestMethod,
    period_days: int,
    data: st.DataObject | None,
) -> None:
    grace = 0 if data is None else data.draw(st.integers(min_value=0, max_value=term - 1))
    schedule = build_schedule(amount, term, rate_bps, method, 100, period_days, grace)
    assert sum(i.principal for i in schedule) == amount
    assert all(i.principal >= 0 and i.interest >= 0 for i in schedule)
    assert [i.due_day for i in schedule] == [100 + k * period_days for k in range(1, term + 1)]
    assert all(i.principal == 0 for i in schedule[:grace])


@given(
    amounts,
    st.integers(min_value=1, max_value=24),
    rates,
    methods,
    periods,
    st.lists(st.integers(min_value=0, max_value=1_600), min_size=1, max_size=6),
)
def test_accrual_in_any_runs_equals_accrual_in_one_and_never_exceeds_the_contract(
    amount: int,
    term: int,
    rate_bps: int,
    method: InterestMethod,
    period_days: int,
    cut_points: list[int],
) -> None:
    schedule = build_schedule(amount, term, rate_bps, method, 0, period_days)
    end = max(cut_points)
    whole = sum(a for _, a in accrual_for_days(schedule, 0, 1, end))
    accrued_through = 0
    pieces = 0
    for cut in [*sorted(cut_points), end, end]:  # the repeated end: a run twice is a no-op
        if cut > accrued_through:
            pieces += sum(a for _, a in accrual_for_days(schedule, 0, accrued_through + 1, cut))
            accrued_through = cut
    assert pieces == whole == interest_accrued_through(schedule, 0, end)
    assert whole <= sum(i.interest for i in schedule)
    if end >= schedule[-1].due_day:
        assert whole == sum(i.interest for i in schedule)


@pytest.mark.parametrize("method", list(InterestMethod))
def test_accrual_days_are_listed_even_when_they_earn_nothing(method: InterestMethod) -> None:
    schedule = build_schedule(10, 1, 100, method, 0, 30)  # 0.1 units of interest: rounds to 0
    days = accrual_for_days(schedule, 0, 1, 3)
    assert days == [(1, 0), (2, 0), (3, 0)]

"""Repayment schedules (flat and declining balance) and the interest they accrue day by day.

Days are integers (days since 1970-01-01 UTC). Installment k (1-based) of a loan disbursed on
day D falls due on D + k * period_days. Money is integer minor units; a fraction of a minor
unit is rounded half up, once per installment, and the last installment takes whatever
remains, so the principal of a schedule always sums to the amount lent.

Accrual recognises each installment's contractual interest evenly over the days of its period
(the disbursement day earns nothing, the due day completes the period); the cumulative figure
is a floor, so accrual through any day is a pure function of the schedule and that day, and
accruing a range of days in any number of runs gives the same total.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hazina.credit.loans.domain.products import InterestMethod
from hazina.kernel.invariant import invariant


@dataclass(frozen=True, slots=True)
class Installment:
    number: int  # 1-based
    due_day: int
    principal: int
    interest: int

    @property
    def total(self) -> int:
        return self.principal + self.interest


def _round_half_up(value: Fraction) -> int:
    invariant(value >= 0, "only non-negative amounts are rounded here")
    return int(value + Fraction(1, 2))


def build_schedule(
    amount: int,
    term: int,
    rate_bps: int,
    method: InterestMethod,
    disbursed_day: int,
    period_days: int,
    grace_installments: int = 0,
) -> tuple[Installment, ...]:
    """The installments of a loan of `amount` over `term` periods at `rate_bps` per period.
    The first `grace_installments` pay interest only; principal is repaid over the rest."""
    invariant(type(amount) is int and amount > 0, "a loan lends a positive amount")
    invariant(term >= 1 and 0 <= grace_installments < term, "some installment repays principal")
    invariant(rate_bps >= 0 and period_days >= 1, "rate and period are not negative")
    rate = Fraction(rate_bps, 10_000)
    repaying = term - grace_installments
    principals: list[int] = []
    interests: list[int] = []
    if method is InterestMethod.flat:
        per_period = _round_half_up(amount * rate)
        share = amount // repaying
        for k in range(term):
            interests.append(per_period)
            principals.append(0 if k < grace_installments else share)
        principals[-1] += amount - sum(principals)
    else:
        balance = amount
        if rate == 0:
            payment = Fraction(amount, repaying)
        else:
            payment = amount * rate / (1 - (1 + rate) ** -repaying)
        level = _round_half_up(payment)
        for k in range(term):
            interest = _round_half_up(balance * rate)
            if k < grace_installments:
                principal = 0
            elif k == term - 1:
                principal = balance
            else:
                principal = min(balance, max(0, level - interest))
            interests.append(interest)
            principals.append(principal)
            balance -= principal
    schedule = tuple(
        Installment(k + 1, disbursed_day + (k + 1) * period_days, principals[k], interests[k])
        for k in range(term)
    )
    invariant(sum(i.principal for i in schedule) == amount, "principal sums to the amount lent")
    invariant(all(i.principal >= 0 and i.interest >= 0 for i in schedule), "no negative parts")
    return schedule


def interest_accrued_through(
    schedule: tuple[Installment, ...], disbursed_day: int, day: int
) -> int:
    """The interest recognised from disbursement through the end of `day` (cumulative)."""
    if not schedule or day <= disbursed_day:
        return 0
    total = 0
    start = disbursed_day
    for installment in schedule:
        if day >= installment.due_day:
            total += installment.interest
        else:
            length = installment.due_day - start
            total += installment.interest * (day - start) // length
            break
        start = installment.due_day
    invariant(0 <= total <= sum(i.interest for i in schedule), "accrual is bounded by contract")
    return total


def accrual_for_days(
    schedule: tuple[Installment, ...], disbursed_day: int, first_day: int, last_day: int
) -> list[tuple[int, int]]:
    """(day, interest) for each day of first_day..last_day inclusive; days that accrue
    nothing are listed with 0 so a caller can mark them done."""
    invariant(first_day <= last_day + 1, "a range of days runs forwards")
    days: list[tuple[int, int]] = []
    before = interest_accrued_through(schedule, disbursed_day, first_day - 1)
    for day in range(first_day, last_day + 1):
        through = interest_accrued_through(schedule, disbursed_day, day)
        days.append((day, through - before))
        before = through
    invariant(all(amount >= 0 for _, amount in days), "accrual never goes backwards")
    return days


def due_through(schedule: tuple[Installment, ...], day: int) -> int:
    """Principal plus interest of the installments due on or before `day`."""
    return sum(i.total for i in schedule if i.due_day <= day)

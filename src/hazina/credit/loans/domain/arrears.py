"""Arrears ageing, IFRS 9 staging, expected credit loss, repayment allocation and write-off.

Staging follows IFRS 9's rebuttable presumptions: more than 30 days past due is a significant
increase in credit risk (stage 2, lifetime losses), more than 90 days is credit-impaired
(stage 3). ECL = exposure at default x probability of default x loss given default, with the
stage's probability of default (12-month for stage 1, lifetime for 2, certain for 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from hazina.credit.loans.domain.schedule import Installment
from hazina.kernel.invariant import invariant

stage_2_after_days = 30  # IFRS 9 5.5.11: more than 30 days past due
stage_3_after_days = 90  # IFRS 9 B5.5.37: more than 90 days past due


@dataclass(frozen=True, slots=True)
class ProvisioningPolicy:
    """Probabilities of default per stage and the loss given default, in basis points."""

    stage_1_default_bps: int = 200
    stage_2_default_bps: int = 2_000
    stage_3_default_bps: int = 10_000
    loss_given_default_bps: int = 4_500


def days_past_due(schedule: tuple[Installment, ...], covered: int, day: int) -> int:
    """Days since the oldest installment that `covered` (principal and interest repaid) does
    not pay in full fell due; 0 when nothing due by `day` is unpaid. An installment is due on
    its due day and past due from the next."""
    invariant(covered >= 0, "repaid amounts are not negative")
    cumulative = 0
    for installment in schedule:
        cumulative += installment.total
        if cumulative > covered:
            return max(0, day - installment.due_day)
    return 0


def overdue_installments(
    schedule: tuple[Installment, ...], covered: int, day: int, after_days: int
) -> list[int]:
    """Numbers of installments not fully paid by `covered` and more than `after_days` late."""
    late: list[int] = []
    cumulative = 0
    for installment in schedule:
        cumulative += installment.total
        if cumulative > covered and day - installment.due_day > after_days:
            late.append(installment.number)
    return late


def stage_of(days_past_due_count: int) -> int:
    if days_past_due_count > stage_3_after_days:
        return 3
    if days_past_due_count > stage_2_after_days:
        return 2
    return 1


def expected_credit_loss(exposure: int, stage: int, policy: ProvisioningPolicy) -> int:
    """EAD x PD x LGD in minor units, rounded half up."""
    invariant(exposure >= 0 and stage in (1, 2, 3), "exposure and stage are valid")
    probability = (
        policy.stage_1_default_bps,
        policy.stage_2_default_bps,
        policy.stage_3_default_bps,
    )[stage - 1]
    scaled = exposure * probability * policy.loss_given_default_bps
    loss = (scaled + 50_000_000) // 100_000_000
    invariant(0 <= loss <= exposure, "a loss never exceeds what is owed")
    return loss


@dataclass(frozen=True, slots=True)
class Allocation:
    penalty: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


def allocate_repayment(amount: int, penalty: int, interest: int, principal: int) -> Allocation:
    """Split a repayment: penalties first, then accrued interest, then principal. The caller
    refuses amounts above the outstanding total (penalty + interest + principal)."""
    invariant(amount > 0, "a repayment is positive")
    invariant(amount <= penalty + interest + principal, "a repayment never exceeds what is owed")
    to_penalty = min(amount, penalty)
    to_interest = min(amount - to_penalty, interest)
    to_principal = amount - to_penalty - to_interest
    allocation = Allocation(to_penalty, to_interest, to_principal)
    invariant(allocation.total == amount, "every unit of a repayment is placed")
    return allocation


@dataclass(frozen=True, slots=True)
class WriteOffPiece:
    """One ledger leg of a write-off: `source` ('allowance' or 'expense') pays off `target`
    ('principal', 'interest' or 'penalty')."""

    source: str
    target: str
    amount: int


def write_off_pieces(
    allowance: int, principal: int, interest: int, penalty: int
) -> tuple[list[WriteOffPiece], int]:
    """The legs that take a loan's receivables to zero: the allowance is used first, the write-off
    expense covers the rest. Returns the legs and the allowance left over to release."""
    invariant(min(allowance, principal, interest, penalty) >= 0, "balances are not negative")
    pieces: list[WriteOffPiece] = []
    left = allowance
    for target, owed in (("penalty", penalty), ("interest", interest), ("principal", principal)):
        from_allowance = min(left, owed)
        if from_allowance:
            pieces.append(WriteOffPiece("allowance", target, from_allowance))
        if owed - from_allowance:
            pieces.append(WriteOffPiece("expense", target, owed - from_allowance))
        left -= from_allowance
    invariant(
        sum(p.amount for p in pieces) == principal + interest + penalty, "everything is written off"
    )
    return pieces, left

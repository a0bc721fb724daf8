"""What the loans service reads and returns: products, loans, repayments, end-of-day results."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.domain.schedule import Installment

LOAN_COLUMNS = (
    "id, party_id, product_id, currency, amount, term, status, reasons, default_bps, wallet_id,"
    " fee, disbursed_day, schedule, accrued_through, days_past_due, stage, principal_account,"
    " interest_account, penalty_account, allowance_account, written_off, created_at_ns,"
    " updated_at_ns"
)
REPAYMENT_COLUMNS = (
    "id, loan_id, kind, amount, penalty, interest, principal, transfer_ids, created_at_ns"
)


@dataclass(frozen=True, slots=True)
class Loan:
    id: int
    party_id: int
    product_id: int
    currency: str
    amount: int
    term: int
    status: str  # declined, approved, active, repaid, written_off
    reasons: tuple[str, ...]  # why it was declined; empty when approved
    default_bps: int | None  # the score's probability of default, if a score was used
    wallet_id: int
    fee: int
    disbursed_day: int | None
    schedule: tuple[Installment, ...]
    accrued_through: int | None
    days_past_due: int
    stage: int
    principal_account: int | None
    interest_account: int | None
    penalty_account: int | None
    allowance_account: int | None
    written_off: int
    created_at_ns: int
    updated_at_ns: int

    def account_ids(self) -> tuple[int, int, int, int]:
        if self.principal_account is None:
            raise ValueError("the loan has no accounts before disbursement")
        return (
            self.principal_account,
            self.interest_account or 0,
            self.penalty_account or 0,
            self.allowance_account or 0,
        )


@dataclass(frozen=True, slots=True)
class LoanBalances:
    """A loan's position, read from its ledger accounts."""

    principal: int
    interest: int
    penalty: int
    allowance: int

    @property
    def outstanding(self) -> int:
        return self.principal + self.interest + self.penalty


@dataclass(frozen=True, slots=True)
class LoanView:
    loan: Loan
    balances: LoanBalances
    repaid: int  # penalty + interest + principal repaid so far
    recovered: int
    assessment: CreditAssessment | None = None


@dataclass(frozen=True, slots=True)
class CreditAssessment:
    """A credit model's answer for one application: its probability of default, the score on
    the 300-850 scale and the adverse-action reason codes, strongest first."""

    model_version: str
    default_bps: int
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """What a decision rested on: the applicant's wallet-history features at application time
    (None where a quantity was undefined, e.g. no bills) and the model's assessment, if any."""

    loan_id: int
    features: dict[str, float | None]
    assessment: CreditAssessment | None


@dataclass(frozen=True, slots=True)
class Repayment:
    id: int
    loan_id: int
    kind: str  # repayment or recovery
    amount: int
    penalty: int
    interest: int
    principal: int
    transfer_ids: tuple[int, ...]
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class DayResult:
    """What one end-of-day run did to one loan."""

    loan_id: int
    accrued: int
    accrued_days: int
    penalties: int
    days_past_due: int
    stage: int
    allowance: int  # the loan's allowance after the run (0 when the loan was not looked at)
    provision_change: int


def product_to_json(product: LoanProduct) -> str:
    return json.dumps(asdict(product), sort_keys=True)


def product_from_json(text: str) -> LoanProduct:
    fields: dict[str, Any] = json.loads(text)
    fields["method"] = InterestMethod(fields["method"])
    return LoanProduct(**fields)


def schedule_to_json(schedule: tuple[Installment, ...]) -> str:
    return json.dumps([[i.number, i.due_day, i.principal, i.interest] for i in schedule])


def schedule_from_json(text: str) -> tuple[Installment, ...]:
    return tuple(Installment(*map(int, row)) for row in json.loads(text))


def loan_from_row(row: tuple[Any, ...]) -> Loan:
    return Loan(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        str(row[3]),
        int(row[4]),
        int(row[5]),
        str(row[6]),
        tuple(json.loads(row[7])),
        None if row[8] is None else int(row[8]),
        int(row[9]),
        int(row[10]),
        None if row[11] is None else int(row[11]),
        schedule_from_json(row[12]),
        None if row[13] is None else int(row[13]),
        int(row[14]),
        int(row[15]),
        _optional_int(row[16]),
        _optional_int(row[17]),
        _optional_int(row[18]),
        _optional_int(row[19]),
        int(row[20]),
        int(row[21]),
        int(row[22]),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def repayment_from_row(row: tuple[Any, ...]) -> Repayment:
    return Repayment(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        int(row[3]),
        int(row[4]),
        int(row[5]),
        int(row[6]),
        tuple(json.loads(row[7])),
        int(row[8]),
    )

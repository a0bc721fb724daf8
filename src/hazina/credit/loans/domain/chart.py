"""The loan side of the chart of accounts, next to the payments context's wallets.

Each disbursed loan gets four ledger accounts of its own (user_data_64 = loan id), so a loan's
position is read from the ledger and nowhere else: principal receivable, interest receivable
and penalty receivable are assets (debit-normal, never below zero: the ledger itself refuses a
repayment larger than what is owed), and the loss allowance is the contra-asset that holds its
expected credit loss (credit-normal). The operator has one account of each income and expense
kind per currency. Disbursement creates e-money in the customer's wallet against the new
receivable, exactly as a cash-in creates it against the trust account.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from hazina.ledger.domain.flags import AccountFlags


class LoanAccountCode(IntEnum):
    """Ledger account codes of the loan book (payments uses 100-140 and 900-940)."""

    principal_receivable = 200
    interest_receivable = 210
    penalty_receivable = 215
    loss_allowance = 220
    interest_income = 950
    loan_fee_income = 951
    recovery_income = 952
    provision_expense = 960
    write_off_expense = 961


class LoanAccountKind(StrEnum):
    principal = "principal"
    interest = "interest"
    penalty = "penalty"
    allowance = "allowance"


class OperatorLoanAccount(StrEnum):
    interest_income = "interest_income"
    loan_fee_income = "loan_fee_income"
    recovery_income = "recovery_income"
    provision_expense = "provision_expense"
    write_off_expense = "write_off_expense"


class LoanTransferCode(IntEnum):
    """The ledger transfer `code` of each loan posting (payments uses 1-12)."""

    disbursement = 20
    disbursement_fee = 21
    repayment = 22
    accrual = 23
    penalty = 24
    provision = 25
    write_off = 26
    recovery = 27


loan_account_codes = {
    LoanAccountKind.principal: LoanAccountCode.principal_receivable,
    LoanAccountKind.interest: LoanAccountCode.interest_receivable,
    LoanAccountKind.penalty: LoanAccountCode.penalty_receivable,
    LoanAccountKind.allowance: LoanAccountCode.loss_allowance,
}

_debit_normal = int(AccountFlags.credits_must_not_exceed_debits | AccountFlags.history)
_credit_normal = int(AccountFlags.debits_must_not_exceed_credits | AccountFlags.history)


def loan_account_flags(kind: LoanAccountKind) -> int:
    return _credit_normal if kind is LoanAccountKind.allowance else _debit_normal


def operator_account_flags(kind: OperatorLoanAccount) -> int:
    """Income never goes below zero; expenses move both ways (a provision is released when
    a loan gets better), so they carry no balance constraint."""
    if kind in (OperatorLoanAccount.provision_expense, OperatorLoanAccount.write_off_expense):
        return 0
    return int(AccountFlags.debits_must_not_exceed_credits)

"""Loan products: the ranges an application must fall in, and how interest and fees are priced.

Rates are in basis points per installment period (microloans are quoted "5% a month"), so a
schedule needs no day-count convention; accrual spreads each period's interest over its days.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import loan_period_days_max, loan_term_installments_max


class InterestMethod(StrEnum):
    flat = "flat"  # interest on the original principal every period
    declining = "declining"  # interest on the balance still owed (equal installments, annuity)


class ProductError(ValueError):
    """A product definition that cannot be offered; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class LoanProduct:
    id: int
    name: str
    currency: str
    amount_min: int  # minor units
    amount_max: int
    term_min: int  # installments
    term_max: int
    period_days: int  # days between installments
    method: InterestMethod
    rate_bps: int  # interest per period, basis points
    fee_bps: int  # upfront fee, basis points of the principal, deducted at disbursement
    grace_installments: int  # first installments that pay interest only
    penalty_fee: int  # minor units, charged once per installment late beyond penalty_after_days
    penalty_after_days: int
    max_default_probability_bps: int  # applications scored above this are declined
    min_kyc_tier: int

    def upfront_fee(self, amount: int) -> int:
        """The disbursement fee: fee_bps of the principal, rounded half up."""
        return (amount * self.fee_bps + 5_000) // 10_000


def validate_product(product: LoanProduct) -> LoanProduct:
    """The product as given, or a `ProductError` naming the first thing wrong with it."""
    checks: list[tuple[bool, str, str]] = [
        (product.name.strip() != "", "product_name_missing", "a product needs a name"),
        (
            0 < product.amount_min <= product.amount_max,
            "product_amounts_invalid",
            "amounts must satisfy 0 < amount_min <= amount_max",
        ),
        (
            0 < product.term_min <= product.term_max <= loan_term_installments_max,
            "product_terms_invalid",
            f"terms must satisfy 0 < term_min <= term_max <= {loan_term_installments_max}",
        ),
        (
            0 < product.period_days <= loan_period_days_max,
            "product_period_invalid",
            f"period_days must be 1..{loan_period_days_max}",
        ),
        (
            0 <= product.rate_bps <= 10_000,
            "product_rate_invalid",
            "rate_bps (per period) must be 0..10000",
        ),
        (0 <= product.fee_bps < 10_000, "product_fee_invalid", "fee_bps must be 0..9999"),
        (
            0 <= product.grace_installments < product.term_min,
            "product_grace_invalid",
            "grace_installments must be below term_min (some installment repays principal)",
        ),
        (
            product.penalty_fee >= 0 and product.penalty_after_days >= 0,
            "product_penalty_invalid",
            "penalty_fee and penalty_after_days must not be negative",
        ),
        (
            0 < product.max_default_probability_bps <= 10_000,
            "product_cutoff_invalid",
            "max_default_probability_bps must be 1..10000",
        ),
        (0 <= product.min_kyc_tier <= 3, "product_kyc_invalid", "min_kyc_tier must be 0..3"),
    ]
    for ok, code, message in checks:
        if not ok:
            raise ProductError(code, message)
    invariant(product.amount_min > 0, "a valid product lends something")
    return product


def check_application(product: LoanProduct, amount: int, term: int) -> tuple[str, str] | None:
    """(code, message) when an application falls outside the product's ranges, else None."""
    if type(amount) is not int or not product.amount_min <= amount <= product.amount_max:
        return (
            "amount_outside_product",
            f"{product.name} lends {product.amount_min}..{product.amount_max} minor units",
        )
    if type(term) is not int or not product.term_min <= term <= product.term_max:
        return (
            "term_outside_product",
            f"{product.name} runs {product.term_min}..{product.term_max} installments",
        )
    return None

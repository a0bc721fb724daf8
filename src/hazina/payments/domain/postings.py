"""The ledger legs of each transaction type: one linked chain, principal first, then fees.

Pure: given the accounts involved and the fee quote, say which transfers move what. Every chain
is posted with `linked` on all legs but the last, so it is applied whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from hazina.kernel.invariant import invariant
from hazina.payments.domain.chart import LegKind
from hazina.payments.domain.tariffs import FeeQuote, TransactionType


class PaymentType(IntEnum):
    """Every kind of payment transaction; the value is the ledger transfer `code` of its legs.
    The priced ones match `TransactionType` by name."""

    cash_in = 1
    cash_out = 2
    p2p = 3
    p2p_voucher = 4
    merchant_payment = 5
    bill_payment = 6
    bank_transfer_out = 7
    bank_transfer_in = 8
    reversal = 9
    voucher_claim = 10
    voucher_refund = 11
    float_purchase = 12
    manual_journal = 13  # an approved adjustment between two of the operator's own accounts
    revenue_share = 14  # fee income paid out to a partner for payments its app originated

    @property
    def priced_as(self) -> TransactionType | None:
        """The tariff entry that prices this type; None for types that carry no fee."""
        try:
            return TransactionType(self.name)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Leg:
    debit_account_id: int
    credit_account_id: int
    amount: int
    kind: LegKind


@dataclass(frozen=True, slots=True)
class Parties:
    """The ledger accounts a transaction may touch. `payer` and `payee` are the principal's
    two sides; the rest are the operator's accounts (and an agent's float for commission)."""

    payer: int
    payee: int
    fee_income: int
    commission_expense: int
    agent: int = 0  # the agent paid commission, for cash-in and cash-out


def legs_for(
    payment_type: PaymentType, amount: int, quote: FeeQuote | None, parties: Parties
) -> list[Leg]:
    """The legs of one transaction; zero-amount legs are left out."""
    invariant(type(amount) is int and amount > 0, "a transaction moves a positive amount")
    invariant(parties.payer != parties.payee, "a transaction moves money between two accounts")
    legs = [Leg(parties.payer, parties.payee, amount, LegKind.principal)]
    if quote is not None:
        if quote.customer_fee:
            legs.append(Leg(parties.payer, parties.fee_income, quote.customer_fee, LegKind.fee))
        if quote.merchant_discount:
            invariant(payment_type is PaymentType.merchant_payment, "discounts: merchants only")
            legs.append(
                Leg(
                    parties.payee,
                    parties.fee_income,
                    quote.merchant_discount,
                    LegKind.merchant_discount,
                )
            )
        if quote.biller_commission:
            invariant(payment_type is PaymentType.bill_payment, "biller commission: bills only")
            legs.append(
                Leg(
                    parties.payee,
                    parties.fee_income,
                    quote.biller_commission,
                    LegKind.biller_commission,
                )
            )
        if quote.agent_commission:
            invariant(parties.agent != 0, "commission is paid to an agent")
            legs.append(
                Leg(
                    parties.commission_expense,
                    parties.agent,
                    quote.agent_commission,
                    LegKind.commission,
                )
            )
    invariant(all(leg.amount > 0 for leg in legs), "no empty legs")
    return legs


def reversal_legs(original: list[Leg]) -> list[Leg]:
    """The legs that undo `original`: each one turned around, in reverse order."""
    reversed_legs = [
        Leg(leg.credit_account_id, leg.debit_account_id, leg.amount, leg.kind)
        for leg in reversed(original)
    ]
    invariant(len(reversed_legs) == len(original), "one reversing leg per leg")
    return reversed_legs

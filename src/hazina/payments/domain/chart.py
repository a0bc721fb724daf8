"""The chart of accounts: which ledger account code each kind of wallet gets, and its flags.

One ledger per currency, numbered by its ISO 4217 numeric code (KES: 404). Customer, merchant,
agent and biller wallets are liabilities of the operator: credit-normal, never overdrawn
(`debits_must_not_exceed_credits`), with balance history for statements. The operator's own
accounts carry the other side: `emoney_issued` is debit-normal and mirrors the trust account
at the bank (every unit of e-money in circulation was issued against it), `fee_income` collects
fees and merchant discounts, `commission_expense` pays agents, `voucher_liability` holds money
sent to unregistered numbers until it is claimed or refunded, `suspense` parks what cannot be
placed. A partner bank's `settlement` account is our net position with that bank (debit: the
bank owes us), so it may go either way.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from hazina.kernel.money import currency
from hazina.ledger.domain.flags import AccountFlags


class PartyKind(StrEnum):
    customer = "customer"
    merchant = "merchant"
    agent = "agent"
    biller = "biller"
    bank = "bank"
    operator = "operator"


class WalletKind(StrEnum):
    main = "main"  # a customer's, merchant's or biller's e-money
    float = "float"  # an agent's e-float, bought from the operator, traded for cash
    settlement = "settlement"  # a partner bank's account with us
    emoney_issued = "emoney_issued"
    fee_income = "fee_income"
    commission_expense = "commission_expense"
    voucher_liability = "voucher_liability"
    suspense = "suspense"


class AccountCode(IntEnum):
    """Ledger account codes (the account's type), one per party kind and wallet kind."""

    customer_wallet = 100
    merchant_wallet = 110
    agent_float = 120
    biller_wallet = 130
    bank_settlement = 140
    emoney_issued = 900
    fee_income = 910
    commission_expense = 920
    voucher_liability = 930
    suspense = 940


class LegKind(IntEnum):
    """What one leg of a transaction is, kept in the transfer's `user_data_32`."""

    principal = 1
    fee = 2
    commission = 3
    merchant_discount = 4
    biller_commission = 5


operator_wallet_kinds = (
    WalletKind.emoney_issued,
    WalletKind.fee_income,
    WalletKind.commission_expense,
    WalletKind.voucher_liability,
    WalletKind.suspense,
)

_wallet_flags = int(AccountFlags.debits_must_not_exceed_credits | AccountFlags.history)
_debit_normal = int(AccountFlags.credits_must_not_exceed_debits)


def ledger_of(currency_code: str) -> int:
    """The ledger number of a currency: its ISO 4217 numeric code."""
    return currency(currency_code).number


def account_code(party_kind: PartyKind, wallet_kind: WalletKind) -> AccountCode:
    match wallet_kind:
        case WalletKind.main:
            return {
                PartyKind.customer: AccountCode.customer_wallet,
                PartyKind.merchant: AccountCode.merchant_wallet,
                PartyKind.biller: AccountCode.biller_wallet,
            }[party_kind]
        case WalletKind.float:
            return AccountCode.agent_float
        case WalletKind.settlement:
            return AccountCode.bank_settlement
        case _:
            return AccountCode[wallet_kind.value]


def account_flags(wallet_kind: WalletKind) -> int:
    """Ledger flags: wallets never go below zero; the issuing and settlement sides never go
    above it (they are debit-normal); income and liabilities never go below zero."""
    if wallet_kind in (WalletKind.main, WalletKind.float):
        return _wallet_flags
    if wallet_kind in (WalletKind.emoney_issued, WalletKind.commission_expense):
        return _debit_normal
    if wallet_kind is WalletKind.settlement:
        return 0  # our net position with a bank goes either way
    return int(AccountFlags.debits_must_not_exceed_credits)


def wallet_kinds_for(party_kind: PartyKind) -> tuple[WalletKind, ...]:
    """The wallets a party gets in each currency it uses."""
    match party_kind:
        case PartyKind.agent:
            return (WalletKind.float,)
        case PartyKind.bank:
            return (WalletKind.settlement,)
        case PartyKind.operator:
            return operator_wallet_kinds
        case _:
            return (WalletKind.main,)

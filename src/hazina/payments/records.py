"""Records of the payments context as the service hands them out (frozen, slotted)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hazina.payments.domain.chart import PartyKind, WalletKind
from hazina.payments.domain.limits import KycTier


@dataclass(frozen=True, slots=True)
class Party:
    id: int
    kind: PartyKind
    name: str
    phone: str | None
    kyc_tier: KycTier
    status: str  # active, frozen, closed
    code: str | None  # merchant, agent, biller or bank code: unique, human-friendly
    details: dict[str, Any]
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class Wallet:
    id: int  # also the ledger account id
    party_id: int
    currency: str
    kind: WalletKind
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class WalletBalance:
    wallet: Wallet
    balance: int  # posted, in the account's normal direction
    pending_out: int  # held by pending outgoing transfers (bank transfers awaiting the bank)
    pending_in: int
    available: int  # what can be spent now: balance less pending_out


@dataclass(frozen=True, slots=True)
class PaymentTransaction:
    id: int
    type: str
    status: str  # completed, pending, failed, reversed
    currency: str
    amount: int
    fee: int
    payer_wallet: int
    payee_wallet: int
    tariff_version: int
    reference: str
    details: dict[str, Any]
    legs: tuple[int, ...]  # ledger transfer ids, principal first
    reversal_of: int | None
    reversed_by: int | None
    created_at_ns: int
    updated_at_ns: int


@dataclass(frozen=True, slots=True)
class StatementEntry:
    timestamp_ns: int
    transfer_id: int
    transaction_id: int
    transaction_type: str
    leg: str  # principal, fee, commission, merchant_discount, biller_commission
    direction: str  # debit (out of the wallet) or credit (into it)
    amount: int
    pending: bool
    balance_after: int  # posted balance after this entry


@dataclass(frozen=True, slots=True)
class Voucher:
    id: int
    transaction_id: int
    phone: str
    currency: str
    amount: int
    status: str
    expires_at_ns: int
    settled_by: int | None


@dataclass(frozen=True, slots=True)
class IssuedVoucher:
    """A voucher just created; `code` is shown to the sender once and never stored."""

    transaction: PaymentTransaction
    voucher: Voucher
    code: str


@dataclass(frozen=True, slots=True)
class ReversalRequest:
    id: int
    transaction_id: int
    requested_by: str
    reason: str
    status: str  # requested, approved, rejected
    decided_by: str | None
    reversal_id: int | None
    created_at_ns: int
    decided_at_ns: int | None


_party_columns = "id, kind, name, phone, kyc_tier, status, code, details, created_at_ns"
_wallet_columns = "id, party_id, currency, kind, created_at_ns"
_transaction_columns = (
    "id, type, status, currency, amount, fee, payer_wallet, payee_wallet, tariff_version,"
    " reference, details, legs, reversal_of, reversed_by, created_at_ns, updated_at_ns"
)
_voucher_columns = "id, transaction_id, phone, currency, amount, status, expires_at_ns, settled_by"
_reversal_columns = (
    "id, transaction_id, requested_by, reason, status, decided_by, reversal_id,"
    " created_at_ns, decided_at_ns"
)


@dataclass(frozen=True, slots=True)
class ActivityBucket:
    """Completed transactions of one type in one time bucket (the console's charts)."""

    start_ns: int
    type: str
    count: int
    amount: int  # minor units
    fee: int  # minor units
    payers: int  # distinct paying wallets


@dataclass(frozen=True, slots=True)
class TransactionSearch:
    """Filters of a transaction search; None leaves a filter out. Amounts in minor units,
    times in nanoseconds since the epoch (`until_ns` excluded)."""

    type: str | None = None
    status: str | None = None
    wallet_id: int | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    since_ns: int | None = None
    until_ns: int | None = None


def party_from_row(row: tuple[Any, ...]) -> Party:
    return Party(
        int(row[0]),
        PartyKind(row[1]),
        row[2],
        row[3],
        KycTier(row[4]),
        row[5],
        row[6],
        json.loads(row[7]),
        int(row[8]),
    )


def wallet_from_row(row: tuple[Any, ...]) -> Wallet:
    return Wallet(int(row[0]), int(row[1]), row[2], WalletKind(row[3]), int(row[4]))


def transaction_from_row(row: tuple[Any, ...]) -> PaymentTransaction:
    return PaymentTransaction(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        int(row[4]),
        int(row[5]),
        int(row[6]),
        int(row[7]),
        int(row[8]),
        row[9],
        json.loads(row[10]),
        tuple(json.loads(row[11])),
        None if row[12] is None else int(row[12]),
        None if row[13] is None else int(row[13]),
        int(row[14]),
        int(row[15]),
    )


def voucher_from_row(row: tuple[Any, ...]) -> Voucher:
    return Voucher(
        int(row[0]),
        int(row[1]),
        row[2],
        row[3],
        int(row[4]),
        row[5],
        int(row[6]),
        None if row[7] is None else int(row[7]),
    )


def reversal_from_row(row: tuple[Any, ...]) -> ReversalRequest:
    return ReversalRequest(
        int(row[0]),
        int(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        None if row[6] is None else int(row[6]),
        int(row[7]),
        None if row[8] is None else int(row[8]),
    )


PARTY_COLUMNS = _party_columns
WALLET_COLUMNS = _wallet_columns
TRANSACTION_COLUMNS = _transaction_columns
VOUCHER_COLUMNS = _voucher_columns
REVERSAL_COLUMNS = _reversal_columns

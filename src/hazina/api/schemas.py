"""Request and response bodies of the HTTP API, and their mapping from service records.

Amounts are decimal strings in major units with an ISO 4217 code; ids are opaque prefixed
strings; times are RFC 3339 UTC. Unknown fields in a request body are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hazina.api.amounts import AmountString, CurrencyCode, format_amount
from hazina.kernel.ids import prefixed
from hazina.payments.records import (
    Party,
    PaymentTransaction,
    ReversalRequest,
    StatementEntry,
    Voucher,
    Wallet,
    WalletBalance,
)

PartyId = Annotated[str, Field(pattern=r"^pty_[0-9a-f]{16}$", examples=["pty_0000018c2a1b3c4d"])]
WalletId = Annotated[str, Field(pattern=r"^wal_[0-9a-f]{16}$", examples=["wal_0000018c2a1b3c4d"])]
TransactionId = Annotated[
    str, Field(pattern=r"^txn_[0-9a-f]{16}$", examples=["txn_0000018c2a1b3c4d"])
]
Phone = Annotated[
    str, Field(min_length=4, max_length=32, description="A phone number, E.164 preferred.")
]
ShortText = Annotated[str, Field(max_length=140)]


class Strict(BaseModel):
    """A request body: unknown fields refused, and no text with a NUL character."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        # PostgreSQL text cannot hold U+0000 (SQLite can), so such text would fail only on one
        # of the two stores, deep in a transaction; no name, code, note or key needs one.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return value


def rfc3339(timestamp_ns: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ns // 1_000_000_000, tz=UTC)
    micros = (timestamp_ns // 1_000) % 1_000_000
    return moment.replace(microsecond=micros).isoformat().replace("+00:00", "Z")


# -- requests ------------------------------------------------------------------------------------


class SessionCreate(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    totp_code: Annotated[str, Field(min_length=1, max_length=16)]


class PartyCreate(Strict):
    kind: Literal["customer", "merchant", "agent", "biller", "bank"]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Phone | None = None
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{2,32}$")] | None = None
    currencies: Annotated[list[CurrencyCode], Field(min_length=1, max_length=8)] = ["KES"]
    kyc_tier: Annotated[int, Field(ge=0, le=3)] = 0
    merchant_category_code: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    city: Annotated[str, Field(min_length=1, max_length=15)] | None = None


class KycDocumentCreate(Strict):
    kind: Annotated[str, Field(min_length=1, max_length=40, examples=["national_id"])]
    number: Annotated[str, Field(min_length=1, max_length=64)]
    tier_granted: Annotated[int, Field(ge=0, le=3)]


class PartyStatusChange(Strict):
    status: Literal["active", "frozen", "closed"]


class MoneyFields(Strict):
    amount: AmountString
    currency: CurrencyCode


class FloatPurchaseCreate(MoneyFields):
    agent_wallet: WalletId
    reference: Annotated[str, Field(min_length=1, max_length=64)]


class CashInCreate(MoneyFields):
    agent_wallet: WalletId
    customer_phone: Phone


class CashOutCreate(MoneyFields):
    customer_wallet: WalletId
    agent_code: Annotated[str, Field(min_length=2, max_length=32)]


class P2PCreate(MoneyFields):
    sender_wallet: WalletId
    recipient_phone: Phone
    note: ShortText = ""


class VoucherClaimCreate(Strict):
    code: Annotated[str, Field(pattern=r"^[0-9]{10}$")]
    wallet: WalletId


class MerchantPaymentCreate(Strict):
    payer_wallet: WalletId
    qr_payload: Annotated[str, Field(min_length=1, max_length=512)] | None = None
    merchant_code: Annotated[str, Field(min_length=2, max_length=32)] | None = None
    amount: AmountString | None = None
    currency: CurrencyCode | None = None
    reference: ShortText = ""


class QrCodeCreate(Strict):
    currency: CurrencyCode = "KES"
    amount: AmountString | None = None
    reference: Annotated[str, Field(max_length=25)] | None = None
    expires_in_s: Annotated[int, Field(ge=60, le=86_400)] | None = None


class BillPaymentCreate(MoneyFields):
    payer_wallet: WalletId
    biller_code: Annotated[str, Field(min_length=2, max_length=32)]
    bill_account: Annotated[str, Field(min_length=1, max_length=64)]


class BankTransferCreate(MoneyFields):
    payer_wallet: WalletId
    bank_code: Annotated[str, Field(min_length=2, max_length=32)]
    bank_account: Annotated[str, Field(min_length=1, max_length=64)]


class BankTransferSettlement(Strict):
    outcome: Literal["succeeded", "failed"]


class IncomingBankTransferCreate(MoneyFields):
    bank_code: Annotated[str, Field(min_length=2, max_length=32)]
    customer_phone: Phone
    bank_reference: Annotated[str, Field(min_length=1, max_length=64)]


class ReversalRequestCreate(Strict):
    transaction_id: TransactionId
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ApiKeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    owner: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[str], Field(min_length=1, max_length=32)]


class OperatorCreate(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    display_name: Annotated[str, Field(max_length=100)] = ""
    password: Annotated[str, Field(min_length=12, max_length=1024)]
    roles: Annotated[list[str], Field(min_length=1, max_length=8)]


# -- responses -----------------------------------------------------------------------------------


class WalletOut(BaseModel):
    id: str
    party_id: str
    currency: str
    kind: str
    created_at: str


class BalanceOut(BaseModel):
    wallet: WalletOut
    balance: str
    available: str
    pending_out: str
    pending_in: str
    currency: str


class PartyOut(BaseModel):
    id: str
    kind: str
    name: str
    phone: str | None
    code: str | None
    kyc_tier: int
    status: str
    details: dict[str, Any]
    created_at: str
    wallets: list[WalletOut]


class TransactionOut(BaseModel):
    id: str
    type: str
    status: str
    amount: str
    fee: str
    currency: str
    payer_wallet: str
    payee_wallet: str
    reference: str
    details: dict[str, Any]
    tariff_version: int
    legs: list[str]
    reversal_of: str | None
    reversed_by: str | None
    created_at: str
    updated_at: str


class VoucherOut(BaseModel):
    id: str
    status: str
    phone: str
    amount: str
    currency: str
    expires_at: str
    code: str | None = Field(None, description="Shown once, to the sender, when issued.")


class P2POut(BaseModel):
    transaction: TransactionOut
    voucher: VoucherOut | None = None


class StatementEntryOut(BaseModel):
    cursor: str
    at: str
    transfer_id: str
    transaction_id: str
    transaction_type: str
    leg: str
    direction: str
    amount: str
    pending: bool
    balance_after: str


class ReceiptOut(BaseModel):
    receipt_number: str
    transaction: TransactionOut
    payer: str
    payee: str
    total_debited: str
    issued_at: str


class ReversalRequestOut(BaseModel):
    id: str
    transaction_id: str
    requested_by: str
    reason: str
    status: str
    decided_by: str | None
    reversal_id: str | None
    created_at: str
    decided_at: str | None


class QrCodeOut(BaseModel):
    payload: str
    merchant_code: str
    amount: str | None
    currency: str


def wallet_out(wallet: Wallet) -> WalletOut:
    return WalletOut(
        id=prefixed("wal", wallet.id),
        party_id=prefixed("pty", wallet.party_id),
        currency=wallet.currency,
        kind=wallet.kind.value,
        created_at=rfc3339(wallet.created_at_ns),
    )


def balance_out(balance: WalletBalance) -> BalanceOut:
    code = balance.wallet.currency
    return BalanceOut(
        wallet=wallet_out(balance.wallet),
        balance=format_amount(balance.balance, code),
        available=format_amount(balance.available, code),
        pending_out=format_amount(balance.pending_out, code),
        pending_in=format_amount(balance.pending_in, code),
        currency=code,
    )


def party_out(party: Party, wallets: list[Wallet]) -> PartyOut:
    return PartyOut(
        id=prefixed("pty", party.id),
        kind=party.kind.value,
        name=party.name,
        phone=party.phone,
        code=party.code,
        kyc_tier=int(party.kyc_tier),
        status=party.status,
        details=party.details,
        created_at=rfc3339(party.created_at_ns),
        wallets=[wallet_out(w) for w in wallets],
    )


def transaction_out(transaction: PaymentTransaction) -> TransactionOut:
    code = transaction.currency
    return TransactionOut(
        id=prefixed("txn", transaction.id),
        type=transaction.type,
        status=transaction.status,
        amount=format_amount(transaction.amount, code),
        fee=format_amount(transaction.fee, code),
        currency=code,
        payer_wallet=prefixed("wal", transaction.payer_wallet),
        payee_wallet=prefixed("wal", transaction.payee_wallet),
        reference=transaction.reference,
        details=transaction.details,
        tariff_version=transaction.tariff_version,
        legs=[prefixed("trf", leg) for leg in transaction.legs],
        reversal_of=None
        if transaction.reversal_of is None
        else prefixed("txn", transaction.reversal_of),
        reversed_by=None
        if transaction.reversed_by is None
        else prefixed("txn", transaction.reversed_by),
        created_at=rfc3339(transaction.created_at_ns),
        updated_at=rfc3339(transaction.updated_at_ns),
    )


def voucher_out(voucher: Voucher, code: str | None = None) -> VoucherOut:
    return VoucherOut(
        id=prefixed("vch", voucher.id),
        status=voucher.status,
        phone=voucher.phone,
        amount=format_amount(voucher.amount, voucher.currency),
        currency=voucher.currency,
        expires_at=rfc3339(voucher.expires_at_ns),
        code=code,
    )


def statement_entry_out(entry: StatementEntry, currency_code: str) -> StatementEntryOut:
    return StatementEntryOut(
        cursor=str(entry.timestamp_ns),
        at=rfc3339(entry.timestamp_ns),
        transfer_id=prefixed("trf", entry.transfer_id),
        transaction_id=prefixed("txn", entry.transaction_id) if entry.transaction_id else "",
        transaction_type=entry.transaction_type,
        leg=entry.leg,
        direction=entry.direction,
        amount=format_amount(entry.amount, currency_code),
        pending=entry.pending,
        balance_after=format_amount(entry.balance_after, currency_code),
    )


def reversal_out(request: ReversalRequest) -> ReversalRequestOut:
    return ReversalRequestOut(
        id=prefixed("rev", request.id),
        transaction_id=prefixed("txn", request.transaction_id),
        requested_by=request.requested_by,
        reason=request.reason,
        status=request.status,
        decided_by=request.decided_by,
        reversal_id=None if request.reversal_id is None else prefixed("txn", request.reversal_id),
        created_at=rfc3339(request.created_at_ns),
        decided_at=None if request.decided_at_ns is None else rfc3339(request.decided_at_ns),
    )

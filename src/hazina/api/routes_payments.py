"""Money-moving routes (each takes an Idempotency-Key) and transaction reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Query

from hazina.api.amounts import format_amount, parse_amount
from hazina.api.app import (
    Caller,
    Context,
    IdempotencyKey,
    StepUp,
    idempotency_for,
    parse_id,
)
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router, on_loop_if
from hazina.api.schemas import (
    BankTransferCreate,
    BankTransferSettlement,
    BillPaymentCreate,
    CashInCreate,
    CashOutCreate,
    FloatPurchaseCreate,
    IncomingBankTransferCreate,
    MerchantPaymentCreate,
    P2PCreate,
    P2POut,
    ReceiptOut,
    ReversalRequestCreate,
    ReversalRequestOut,
    TransactionOut,
    VoucherClaimCreate,
    reversal_out,
    rfc3339,
    transaction_out,
    voucher_out,
)
from hazina.identity.phones import PhoneNumberError, normalize_e164
from hazina.identity.roles import Scope
from hazina.payments import qr
from hazina.payments.records import IssuedVoucher, PaymentTransaction
from hazina.payments.service import PaymentsService


def phone(text: str) -> str:
    try:
        return normalize_e164(text)
    except PhoneNumberError as error:
        raise ProblemError(422, "phone_invalid", "Invalid phone number", str(error)) from None


def cursor_id(prefix: str, page: PageParameters) -> int:
    if page.starting_after is None:
        return 0
    return parse_id(prefix, page.starting_after, "cursor")


def _customer_wallet(payments: PaymentsService, phone_number: str, currency: str) -> int:
    party = payments.find_party(phone=phone_number)
    return payments.wallet_of(party.id, currency).id


def _coded_wallet(payments: PaymentsService, code: str, currency: str) -> int:
    return payments.wallet_of_code(code, currency).id


router = api_router(tags=["payments"])


def _reads_in_process(arguments: Mapping[str, Any]) -> bool:
    """A money movement runs on the event loop when its platform's database is in process
    (SQLite): its reads take microseconds, and it waits for its commit without a pool thread.
    On PostgreSQL each read is a round trip, which would stall the loop: the pool it is."""
    context = arguments.get("context")
    return isinstance(context, Context) and context.platform.ledger.store.reads_in_process


on_loop_when_in_process = on_loop_if(_reads_in_process)


@router.post("/float-purchases", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def purchase_float(
    body: FloatPurchaseCreate, context: Caller, key: IdempotencyKey
) -> TransactionOut:
    """An agent buys e-float against a deposit into the operator's trust account."""
    context.require(Scope.agents_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    wallet = parse_id("wal", body.agent_wallet, "wallet")
    record = payments.purchase_float(
        wallet,
        amount,
        body.reference,
        idempotency_for(context, key, body, 201, transaction_out),
    )
    return transaction_out(record)


@router.post("/cash-ins", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def cash_in(body: CashInCreate, context: Caller, key: IdempotencyKey) -> TransactionOut:
    """A customer hands cash to an agent; the agent's float pays the customer's wallet."""
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    customer = _customer_wallet(payments, phone(body.customer_phone), body.currency)
    record = payments.cash_in(
        parse_id("wal", body.agent_wallet, "wallet"),
        customer,
        amount,
        body.currency,
        idempotency_for(context, key, body, 201, transaction_out),
    )
    return transaction_out(record)


@router.post("/cash-outs", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def cash_out(
    body: CashOutCreate, context: Caller, key: IdempotencyKey, step_up: StepUp
) -> TransactionOut:
    """A customer withdraws cash at an agent (fee by the tariff; the agent earns commission)."""
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    agent = _coded_wallet(payments, body.agent_code, body.currency)
    record = payments.cash_out(
        parse_id("wal", body.customer_wallet, "wallet"),
        agent,
        amount,
        body.currency,
        idempotency_for(context, key, body, 201, transaction_out),
        step_up=step_up,
    )
    return transaction_out(record)


def p2p_out(outcome: PaymentTransaction | IssuedVoucher) -> P2POut:
    if isinstance(outcome, IssuedVoucher):
        return P2POut(
            transaction=transaction_out(outcome.transaction),
            voucher=voucher_out(outcome.voucher, outcome.code),
        )
    return P2POut(transaction=transaction_out(outcome))


@router.post("/p2p-transfers", status_code=201, response_model=P2POut)
@on_loop_when_in_process
def send_p2p(body: P2PCreate, context: Caller, key: IdempotencyKey, step_up: StepUp) -> P2POut:
    """Send money to a phone number: to its wallet, or as a voucher if it is unregistered
    (the voucher code is in the response, once)."""
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    outcome = payments.send_p2p(
        parse_id("wal", body.sender_wallet, "wallet"),
        phone(body.recipient_phone),
        amount,
        body.currency,
        body.note,
        idempotency_for(context, key, body, 201, p2p_out_of_transaction),
        step_up=step_up,
    )
    return p2p_out(outcome)


def p2p_out_of_transaction(record: PaymentTransaction) -> P2POut:
    # What a replay answers. A voucher's code is never stored, so a replay leaves the
    # voucher out; its state can be read from the transaction.
    return P2POut(transaction=transaction_out(record))


@router.post("/voucher-claims", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def claim_voucher(body: VoucherClaimCreate, context: Caller, key: IdempotencyKey) -> TransactionOut:
    context.require(Scope.payments_write)
    record = context.platform.payments.claim_voucher(
        body.code,
        parse_id("wal", body.wallet, "wallet"),
        idempotency_for(context, key, body, 201, transaction_out),
    )
    return transaction_out(record)


@router.post("/merchant-payments", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def pay_merchant(
    body: MerchantPaymentCreate, context: Caller, key: IdempotencyKey, step_up: StepUp
) -> TransactionOut:
    """Pay a merchant by scanning its EMVCo QR code (`qr_payload`) or by merchant code."""
    context.require(Scope.payments_write)
    payments = context.platform.payments
    if (body.qr_payload is None) == (body.merchant_code is None):
        raise ProblemError(
            422,
            "merchant_required",
            "Name one merchant",
            "give either qr_payload or merchant_code",
        )
    reference = body.reference
    if body.qr_payload is not None:
        try:
            code = qr.parse(body.qr_payload, now_s=context.platform.clock.now_ns() // 1_000_000_000)
        except qr.QrError as error:
            raise ProblemError(
                422, str(error.code), "The QR code cannot be used", error.message
            ) from None
        merchant_code, currency = code.merchant_id, code.currency
        if code.amount_minor is not None:
            if body.amount is not None and parse_amount(body.amount, currency) != code.amount_minor:
                raise ProblemError(
                    422,
                    "amount_mismatch",
                    "The amount differs from the QR code",
                    "a dynamic QR code fixes the amount; leave amount out or match it",
                )
            amount = code.amount_minor
        elif body.amount is None:
            raise ProblemError(
                422,
                "amount_required",
                "Amount required",
                "a static QR code has no amount: give one",
            )
        else:
            amount = parse_amount(body.amount, currency)
        if body.currency is not None and body.currency != currency:
            raise ProblemError(
                422,
                "currency_mismatch",
                "The currency differs from the QR code",
                f"the QR code is in {currency}",
            )
        reference = reference or (code.reference or "")
    else:
        if body.amount is None or body.currency is None:
            raise ProblemError(
                422,
                "amount_required",
                "Amount required",
                "paying by merchant code needs amount and currency",
            )
        merchant_code, currency = body.merchant_code or "", body.currency
        amount = parse_amount(body.amount, currency)
    merchant = _coded_wallet(payments, merchant_code, currency)
    record = payments.pay_merchant(
        parse_id("wal", body.payer_wallet, "wallet"),
        merchant,
        amount,
        currency,
        reference,
        idempotency_for(context, key, body, 201, transaction_out),
        step_up=step_up,
    )
    return transaction_out(record)


@router.post("/bill-payments", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def pay_bill(
    body: BillPaymentCreate, context: Caller, key: IdempotencyKey, step_up: StepUp
) -> TransactionOut:
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    biller = _coded_wallet(payments, body.biller_code, body.currency)
    record = payments.pay_bill(
        parse_id("wal", body.payer_wallet, "wallet"),
        biller,
        body.bill_account,
        amount,
        body.currency,
        idempotency_for(context, key, body, 201, transaction_out),
        step_up=step_up,
    )
    return transaction_out(record)


@router.post("/bank-transfers", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def send_to_bank(
    body: BankTransferCreate, context: Caller, key: IdempotencyKey, step_up: StepUp
) -> TransactionOut:
    """Send to a bank account: held (status `pending`) until the bank confirms."""
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    bank = _coded_wallet(payments, body.bank_code, body.currency)
    record = payments.send_to_bank(
        parse_id("wal", body.payer_wallet, "wallet"),
        bank,
        body.bank_account,
        amount,
        body.currency,
        idempotency_for(context, key, body, 201, transaction_out),
        step_up=step_up,
    )
    return transaction_out(record)


@router.post("/bank-transfers/{transaction_id}/settlement", response_model=TransactionOut)
@on_loop_when_in_process
def settle_bank_transfer(
    transaction_id: str, body: BankTransferSettlement, context: Caller
) -> TransactionOut:
    """The bank's answer: `succeeded` posts the held money, `failed` returns it."""
    context.require(Scope.payments_write)
    record = context.platform.payments.settle_bank_transfer(
        parse_id("txn", transaction_id, "transaction"), body.outcome == "succeeded"
    )
    return transaction_out(record)


@router.post("/incoming-bank-transfers", status_code=201, response_model=TransactionOut)
@on_loop_when_in_process
def receive_from_bank(
    body: IncomingBankTransferCreate, context: Caller, key: IdempotencyKey
) -> TransactionOut:
    context.require(Scope.payments_write)
    payments = context.platform.payments
    amount = parse_amount(body.amount, body.currency)
    bank = _coded_wallet(payments, body.bank_code, body.currency)
    customer = _customer_wallet(payments, phone(body.customer_phone), body.currency)
    record = payments.receive_from_bank(
        bank,
        customer,
        amount,
        body.currency,
        body.bank_reference,
        idempotency_for(context, key, body, 201, transaction_out),
    )
    return transaction_out(record)


@router.get("/transactions", response_model=Page[TransactionOut])
def list_transactions(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    wallet: Annotated[str | None, Query(pattern=r"^wal_[0-9a-f]{16}$")] = None,
    status: Annotated[
        str | None,
        Query(
            pattern="^(completed|pending|held|failed|reversed)$",
            description="Only transactions in this state (`held`: waiting for risk review).",
        ),
    ] = None,
) -> Page[TransactionOut]:
    context.require(Scope.payments_read)
    wallet_id = None if wallet is None else parse_id("wal", wallet, "wallet")
    records = context.platform.payments.list_transactions(
        wallet_id, cursor_id("txn", page), page.limit + 1, status
    )
    return page_from([transaction_out(r) for r in records], page.limit, lambda t: t.id)


@router.get("/transactions/{transaction_id}", response_model=TransactionOut)
def get_transaction(transaction_id: str, context: Caller) -> TransactionOut:
    context.require(Scope.payments_read)
    return transaction_out(
        context.platform.payments.get_transaction(parse_id("txn", transaction_id, "transaction"))
    )


@router.get("/transactions/{transaction_id}/receipt", response_model=ReceiptOut)
def receipt(transaction_id: str, context: Caller) -> ReceiptOut:
    context.require(Scope.payments_read)
    payments = context.platform.payments
    record = payments.get_transaction(parse_id("txn", transaction_id, "transaction"))
    payer = payments.get_party(payments.get_wallet(record.payer_wallet).party_id)
    payee = payments.get_party(payments.get_wallet(record.payee_wallet).party_id)
    return ReceiptOut(
        receipt_number=f"R{record.id:019d}",
        transaction=transaction_out(record),
        payer=payer.name,
        payee=payee.name,
        total_debited=format_amount(record.amount + record.fee, record.currency),
        issued_at=rfc3339(record.created_at_ns),
    )


@router.post("/reversal-requests", status_code=201, response_model=ReversalRequestOut)
@on_loop_when_in_process
def request_reversal(body: ReversalRequestCreate, context: Caller) -> ReversalRequestOut:
    """Maker: ask for a completed transaction to be reversed. Another operator decides."""
    context.require(Scope.reversals_request)
    request = context.platform.payments.request_reversal(
        parse_id("txn", body.transaction_id, "transaction"), context.actor, body.reason
    )
    return reversal_out(request)


@router.get("/reversal-requests", response_model=Page[ReversalRequestOut])
def list_reversal_requests(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    status: Annotated[str | None, Query(pattern="^(requested|approved|rejected)$")] = None,
) -> Page[ReversalRequestOut]:
    context.require(Scope.payments_read)
    requests = context.platform.payments.list_reversal_requests(
        status, cursor_id("rev", page), page.limit + 1
    )
    return page_from([reversal_out(r) for r in requests], page.limit, lambda r: r.id)


@router.post("/reversal-requests/{request_id}/approval", response_model=ReversalRequestOut)
@on_loop_when_in_process
def approve_reversal(request_id: str, context: Caller) -> ReversalRequestOut:
    """Checker: approve (posting the reversal); never the operator who asked."""
    context.require(Scope.reversals_approve)
    return reversal_out(
        context.platform.payments.decide_reversal(
            parse_id("rev", request_id, "reversal_request"), context.actor, approve=True
        )
    )


@router.post("/reversal-requests/{request_id}/rejection", response_model=ReversalRequestOut)
@on_loop_when_in_process
def reject_reversal(request_id: str, context: Caller) -> ReversalRequestOut:
    context.require(Scope.reversals_approve)
    return reversal_out(
        context.platform.payments.decide_reversal(
            parse_id("rev", request_id, "reversal_request"), context.actor, approve=False
        )
    )

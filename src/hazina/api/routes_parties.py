"""Parties (customers, merchants, agents, billers, banks), their wallets, statements, QR codes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query

from hazina.api.amounts import format_amount, parse_amount
from hazina.api.app import Caller, Context, parse_id
from hazina.api.pagination import Page, PageParameters, numeric_cursor, page_from
from hazina.api.problems import ProblemError
from hazina.api.routes_payments import cursor_id, phone
from hazina.api.routing import api_router
from hazina.api.schemas import (
    BalanceOut,
    KycDocumentCreate,
    PartyCreate,
    PartyOut,
    PartyStatusChange,
    QrCodeCreate,
    QrCodeOut,
    StatementEntryOut,
    balance_out,
    party_out,
    statement_entry_out,
)
from hazina.identity.roles import Scope
from hazina.kernel.limits import statement_page_max
from hazina.payments import qr
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.records import Party

router = api_router(tags=["parties"])


def render(context: Context, party: Party) -> PartyOut:
    return party_out(party, context.platform.payments.wallets_of(party.id))


@router.post("/parties", status_code=201, response_model=PartyOut)
def register(body: PartyCreate, context: Caller) -> PartyOut:
    """Register a customer (by phone), merchant, agent, biller or partner bank (by code);
    wallets are opened in each currency."""
    kind = PartyKind(body.kind)
    context.require(Scope.agents_write if kind is PartyKind.agent else Scope.parties_write)
    if kind is not PartyKind.customer and body.code is None:
        raise ProblemError(
            422,
            "code_required",
            "Code required",
            f"a {kind.value} is found by its code: give one",
        )
    details: dict[str, object] = {}
    if kind is PartyKind.merchant:
        details = {
            "merchant_category_code": body.merchant_category_code or "5411",
            "city": body.city or "Nairobi",
        }
    party = context.platform.payments.register_party(
        kind,
        body.name,
        sorted(set(body.currencies)),
        phone=None if body.phone is None else phone(body.phone),
        code=body.code,
        kyc_tier=KycTier(body.kyc_tier),
        details=details,
    )
    context.platform.identity.record(context.actor, "party.registered", str(party.id))
    return render(context, party)


@router.get("/parties", response_model=Page[PartyOut])
def list_parties(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    kind: Literal["customer", "merchant", "agent", "biller", "bank", "operator"] | None = None,
    phone_number: Annotated[str | None, Query(alias="phone", max_length=32)] = None,
    code: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[PartyOut]:
    context.require(Scope.parties_read)
    payments = context.platform.payments
    if code is not None and "\x00" in code:  # no code has one; PostgreSQL refuses it in text
        raise ProblemError(404, "party_not_found", "Not found", f"no party has the code {code!r}")
    if phone_number is not None or code is not None:
        found = (
            payments.find_party(phone=phone(phone_number))
            if phone_number is not None
            else payments.find_party(code=code)
        )
        return Page[PartyOut](data=[render(context, found)], has_more=False, next_cursor=None)
    parties = payments.list_parties(
        None if kind is None else PartyKind(kind), cursor_id("pty", page), page.limit + 1
    )
    return page_from([render(context, p) for p in parties], page.limit, lambda p: p.id)


@router.get("/parties/{party_id}", response_model=PartyOut)
def get_party(party_id: str, context: Caller) -> PartyOut:
    context.require(Scope.parties_read)
    return render(context, context.platform.payments.get_party(parse_id("pty", party_id, "party")))


@router.post("/parties/{party_id}/kyc-documents", status_code=201, response_model=PartyOut)
def record_document(party_id: str, body: KycDocumentCreate, context: Caller) -> PartyOut:
    """Record a verified identity document; the KYC tier rises to what it grants."""
    context.require(Scope.parties_write)
    party = context.platform.payments.record_kyc_document(
        parse_id("pty", party_id, "party"),
        body.kind,
        body.number,
        KycTier(body.tier_granted),
        context.actor,
    )
    return render(context, party)


@router.post("/parties/{party_id}/status", response_model=PartyOut)
def change_status(party_id: str, body: PartyStatusChange, context: Caller) -> PartyOut:
    """Freeze, unfreeze or close a party's wallets."""
    context.require(Scope.parties_write)
    party = context.platform.payments.set_party_status(
        parse_id("pty", party_id, "party"), body.status, context.actor
    )
    context.platform.identity.record(
        context.actor, "party.status_changed", str(party.id), status=body.status
    )
    return render(context, party)


@router.post("/parties/{party_id}/qr-codes", status_code=201, response_model=QrCodeOut)
def make_qr(party_id: str, body: QrCodeCreate, context: Caller) -> QrCodeOut:
    """An EMVCo merchant-presented QR payload: static (no amount) or dynamic (amount,
    optional expiry)."""
    context.require(Scope.parties_read)
    platform = context.platform
    party = platform.payments.get_party(parse_id("pty", party_id, "party"))
    if party.kind is not PartyKind.merchant or party.code is None:
        raise ProblemError(422, "not_a_merchant", "Not a merchant", "QR codes are for merchants")
    amount = None if body.amount is None else parse_amount(body.amount, body.currency)
    if all(w.currency != body.currency for w in platform.payments.wallets_of(party.id)):
        # Refused now rather than at payment time, when a customer is already paying it.
        raise ProblemError(
            422,
            "currency_not_held",
            "The merchant has no wallet in this currency",
            f"merchant {party.code} holds no {body.currency} wallet to receive this QR's payments",
        )
    expires = None
    if body.expires_in_s is not None:
        expires = platform.clock.now_ns() // 1_000_000_000 + body.expires_in_s
    try:
        payload = qr.encode(
            qr.MerchantQr(
                merchant_id=party.code,
                merchant_name=party.name[:25],
                merchant_city=str(party.details.get("city", "Nairobi"))[:15],
                country_code="KE",
                merchant_category_code=str(party.details.get("merchant_category_code", "5411")),
                currency=body.currency,
                amount_minor=amount,
                reference=body.reference,
                expires_at_s=expires,
            )
        )
    except qr.QrError as error:
        raise ProblemError(
            422, str(error.code), "Cannot make this QR code", error.message
        ) from None
    return QrCodeOut(
        payload=payload,
        merchant_code=party.code,
        amount=None if amount is None else format_amount(amount, body.currency),
        currency=body.currency,
    )


@router.get("/wallets/{wallet_id}", response_model=BalanceOut)
def get_wallet(wallet_id: str, context: Caller) -> BalanceOut:
    context.require(Scope.accounts_read)
    return balance_out(context.platform.payments.balance(parse_id("wal", wallet_id, "wallet")))


@router.get("/wallets/{wallet_id}/statement", response_model=Page[StatementEntryOut])
def statement(
    wallet_id: str,
    context: Caller,
    limit: Annotated[int, Query(ge=1, le=statement_page_max)] = 50,
    starting_after: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
) -> Page[StatementEntryOut]:
    """Entries oldest first with the running balance; page on with `starting_after`."""
    context.require(Scope.accounts_read)
    payments = context.platform.payments
    wallet = payments.get_wallet(parse_id("wal", wallet_id, "wallet"))
    after = numeric_cursor(starting_after)
    entries = payments.statement(wallet.id, after, min(limit + 1, statement_page_max))
    rendered = [statement_entry_out(e, wallet.currency) for e in entries]
    if limit == statement_page_max:  # cannot look one further: ask the ledger's cursor
        return Page[StatementEntryOut](
            data=rendered,
            has_more=len(rendered) == limit,
            next_cursor=rendered[-1].cursor if rendered else None,
        )
    return page_from(rendered, limit, lambda e: e.cursor, limit_max=statement_page_max)

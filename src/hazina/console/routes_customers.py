"""Customer search and Customer 360; transaction search and detail with ledger legs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hazina.api.amounts import parse_amount
from hazina.api.problems import ProblemError
from hazina.console.app import ConsoleRefusedError, refusals
from hazina.console.rendering import render
from hazina.console.security import Page, Viewer, checked_form, page_viewer, platform_of
from hazina.identity.roles import Scope
from hazina.kernel.ids import parse_prefixed
from hazina.kernel.limits import (
    console_page_rows_max,
    console_search_results_max,
    console_statement_rows_max,
    risk_decision_page_max,
)
from hazina.ledger.domain.flags import TransferFlags
from hazina.payments.domain.chart import LegKind, PartyKind
from hazina.payments.domain.postings import PaymentType
from hazina.payments.errors import PaymentError
from hazina.payments.records import TransactionSearch

router = APIRouter(include_in_schema=False)

CustomersViewer = Annotated[Viewer, page_viewer(Page.customers)]
TransactionsViewer = Annotated[Viewer, page_viewer(Page.transactions)]
SearchText = Annotated[str, Query(max_length=100)]

_currency = "KES"
_statuses = ("completed", "pending", "held", "failed", "reversed")
_ns_per_day = 86_400 * 1_000_000_000


def parse_console_id(prefix: str, text: str, what: str) -> int:
    try:
        return parse_prefixed(prefix, text)
    except ValueError:
        raise ConsoleRefusedError(404, f"there is no {what} {text!r}") from None


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, viewer: CustomersViewer, q: SearchText = "") -> Response:
    payments = platform_of(request).payments
    results = []
    if q.strip():
        kind = None if viewer.may(Scope.agents_write) else PartyKind.customer
        results = payments.search_parties(q, kind, console_search_results_max)
    return render(
        request,
        "customers.html",
        viewer,
        {"q": q, "results": results, "limit": console_search_results_max},
        page=Page.customers,
    )


@router.get("/customers/{party_id}", response_class=HTMLResponse)
def customer(request: Request, party_id: str, viewer: CustomersViewer) -> Response:
    platform = platform_of(request)
    payments = platform.payments
    identifier = parse_console_id("pty", party_id, "party")
    with refusals():
        party = payments.get_party(identifier)
    wallets = [payments.balance(wallet.id) for wallet in payments.wallets_of(identifier)]
    statement: list[Any] = []
    if viewer.may(Scope.accounts_read) and wallets:
        statement = payments.statement(wallets[0].wallet.id, 0, console_statement_rows_max)
    decisions: list[dict[str, Any]] = []
    cases: list[Any] = []
    if viewer.may(Scope.risk_read):
        decisions = platform.risk.decisions(payer_party_id=identifier, limit=risk_decision_page_max)
        if wallets:
            cases = platform.cases.list_cases(
                limit=console_page_rows_max, subject_accounts=[w.wallet.id for w in wallets]
            )
    loans = platform.loans.list_loans(identifier, 0, console_page_rows_max)
    return render(
        request,
        "customer.html",
        viewer,
        {
            "party": party,
            "wallets": wallets,
            "statement": statement,
            "decisions": decisions,
            "cases": cases,
            "loans": loans,
        },
        page=Page.customers,
    )


def _day_ns(text: str, field: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConsoleRefusedError(422, f"{field} must be a date such as 2026-01-31") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


def _amount(text: str, field: str) -> int:
    try:
        return parse_amount(text.strip(), _currency)
    except ProblemError as error:
        raise ConsoleRefusedError(422, f"{field}: {error.detail}") from None


def transaction_search(filters: dict[str, str]) -> TransactionSearch:
    """The search the filter form asks for; a clear refusal for anything malformed."""
    kind = filters.get("type") or None
    if kind is not None and kind not in PaymentType.__members__:
        raise ConsoleRefusedError(422, f"unknown transaction type {kind!r}")
    status = filters.get("status") or None
    if status is not None and status not in _statuses:
        raise ConsoleRefusedError(422, f"unknown status {status!r}")
    wallet = filters.get("wallet") or None
    return TransactionSearch(
        type=kind,
        status=status,
        wallet_id=None if wallet is None else parse_console_id("wal", wallet.strip(), "wallet"),
        amount_min=_amount(filters["amount_min"], "minimum amount")
        if filters.get("amount_min")
        else None,
        amount_max=_amount(filters["amount_max"], "maximum amount")
        if filters.get("amount_max")
        else None,
        since_ns=_day_ns(filters["since"], "from") if filters.get("since") else None,
        until_ns=_day_ns(filters["until"], "to") + _ns_per_day if filters.get("until") else None,
    )


@router.get("/transactions", response_class=HTMLResponse)
def transactions(
    request: Request,
    viewer: TransactionsViewer,
    type: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    wallet: Annotated[str, Query(max_length=40)] = "",
    amount_min: Annotated[str, Query(max_length=40)] = "",
    amount_max: Annotated[str, Query(max_length=40)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    before: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    filters = {
        "type": type,
        "status": status,
        "wallet": wallet,
        "amount_min": amount_min,
        "amount_max": amount_max,
        "since": since,
        "until": until,
    }
    search = transaction_search(filters)
    cursor = parse_console_id("txn", before, "transaction") if before else None
    rows = platform_of(request).payments.search_transactions(
        search, cursor, console_page_rows_max + 1
    )
    has_more = len(rows) > console_page_rows_max
    rows = rows[:console_page_rows_max]
    return render(
        request,
        "transactions.html",
        viewer,
        {
            "filters": filters,
            "query": urlencode({name: value for name, value in filters.items() if value}),
            "rows": rows,
            "has_more": has_more,
            "next_cursor": rows[-1].id if has_more else None,
            "first_page": cursor is None,
            "types": list(PaymentType.__members__),
            "statuses": _statuses,
        },
        page=Page.transactions,
    )


@router.get("/transactions/{transaction_id}", response_class=HTMLResponse)
def transaction(request: Request, transaction_id: str, viewer: TransactionsViewer) -> Response:
    platform = platform_of(request)
    payments = platform.payments
    identifier = parse_console_id("txn", transaction_id, "transaction")
    with refusals():
        record = payments.get_transaction(identifier)
    legs = []
    for transfer in platform.ledger.lookup_transfers(list(record.legs)):
        try:
            leg_kind = LegKind(transfer.user_data_32).name
        except ValueError:
            leg_kind = "other"
        legs.append(
            {
                "transfer": transfer,
                "kind": leg_kind,
                "pending": bool(transfer.flags & TransferFlags.pending),
                "debit": _account_name(request, transfer.debit_account_id),
                "credit": _account_name(request, transfer.credit_account_id),
            }
        )
    decisions = []
    if viewer.may(Scope.risk_read):
        decisions = platform.risk.decisions(transaction_id=identifier, limit=10)
    return render(
        request,
        "transaction.html",
        viewer,
        {"txn": record, "legs": legs, "decisions": decisions},
        page=Page.transactions,
    )


def _account_name(request: Request, account_id: int) -> str:
    payments = platform_of(request).payments
    try:
        wallet = payments.get_wallet(account_id)
        party = payments.get_party(wallet.party_id)
    except PaymentError:  # a ledger account no wallet names (a loan's, for instance)
        return f"ledger account {account_id}"
    return f"{party.name} ({wallet.kind.value})"


@router.post("/transactions/{transaction_id}/reversal-request")
async def request_reversal(
    request: Request, transaction_id: str, viewer: TransactionsViewer
) -> Response:
    form = await checked_form(request, viewer)
    viewer.require(Scope.reversals_request, "requesting a reversal")
    identifier = parse_console_id("txn", transaction_id, "transaction")
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise ConsoleRefusedError(422, "a reversal request needs a reason")
    with refusals():
        platform_of(request).payments.request_reversal(identifier, viewer.actor, reason)
    return RedirectResponse("/console/approvals", status_code=303)

"""Loan routes: products, applications, disbursement, repayments, end of day, write-off and
recovery. Money-moving POSTs take an Idempotency-Key; the end-of-day run is idempotent by
construction (one accrual per loan and day), so it takes none. No business rules here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from hazina.api.amounts import AmountString, CurrencyCode, format_amount, parse_amount
from hazina.api.app import Caller, Context, IdempotencyKey, idempotency_for, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import PartyId, ShortText, Strict, rfc3339
from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.records import DayResult, Loan, LoanView, Repayment
from hazina.credit.loans.service import LoansService
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import loan_period_days_max, loan_term_installments_max

_epoch = date(1970, 1, 1)

ProductId = Annotated[str, Field(pattern=r"^lpr_[0-9a-f]{16}$", examples=["lpr_0000018c2a1b3c4d"])]
Bps = Annotated[int, Field(ge=0, le=10_000, description="Basis points (1/100 of a percent).")]


def loans_of(context: Context) -> LoansService:
    return context.platform.loans


def _day_text(day: int | None) -> str | None:
    return None if day is None else (_epoch + timedelta(days=day)).isoformat()


# -- bodies ---------------------------------------------------------------------------------------


class ProductCreate(Strict):
    name: ShortText = Field(min_length=1)
    currency: CurrencyCode
    amount_min: AmountString
    amount_max: AmountString
    term_min: int = Field(ge=1, le=loan_term_installments_max, description="Installments.")
    term_max: int = Field(ge=1, le=loan_term_installments_max)
    period_days: int = Field(ge=1, le=loan_period_days_max, description="Days between dues.")
    interest_method: InterestMethod
    rate_bps: Bps = Field(description="Interest per period, basis points (500: 5% a period).")
    fee_bps: Bps = Field(0, description="Upfront fee, basis points of the principal.")
    grace_installments: int = Field(0, ge=0, le=loan_term_installments_max)
    penalty_fee: AmountString = "0"
    penalty_after_days: int = Field(0, ge=0, le=3_660)
    max_default_probability_bps: Bps = 10_000
    min_kyc_tier: int = Field(0, ge=0, le=3)


class ProductOut(BaseModel):
    id: str
    name: str
    currency: str
    amount_min: str
    amount_max: str
    term_min: int
    term_max: int
    period_days: int
    interest_method: InterestMethod
    rate_bps: int
    fee_bps: int
    grace_installments: int
    penalty_fee: str
    penalty_after_days: int
    max_default_probability_bps: int
    min_kyc_tier: int


class ApplicationCreate(Strict):
    party: PartyId
    product: ProductId
    amount: AmountString
    currency: CurrencyCode
    term: int = Field(ge=1, le=loan_term_installments_max, description="Installments.")


class InstallmentOut(BaseModel):
    number: int
    due_on: str
    principal: str
    interest: str
    total: str


class BalancesOut(BaseModel):
    principal: str
    interest: str
    penalty: str
    outstanding: str
    allowance: str = Field(description="Expected credit loss provided for (IFRS 9).")


class LoanOut(BaseModel):
    id: str
    party: str
    product: str
    status: Literal["declined", "approved", "active", "repaid", "written_off"]
    reasons: list[str]
    default_probability_bps: int | None
    amount: str
    currency: str
    term: int
    fee: str
    disbursed_on: str | None
    schedule: list[InstallmentOut]
    days_past_due: int
    stage: int
    written_off: str
    created_at: str


class CreditOut(BaseModel):
    model_version: str = Field(description="The credit model version that scored the application.")
    score: int = Field(ge=300, le=850, description="600 = 50:1 odds; +20 points doubles them.")
    default_probability_bps: int = Field(ge=0, le=10_000)
    reasons: list[str] = Field(
        description="Adverse-action reason codes, strongest first (wallet-history features)."
    )


class LoanDetailOut(LoanOut):
    balances: BalancesOut
    repaid: str
    recovered: str
    credit: CreditOut | None = Field(
        description="The credit model's assessment; null when no model scored the application."
    )


class RepaymentCreate(Strict):
    amount: AmountString
    currency: CurrencyCode


class RepaymentOut(BaseModel):
    id: str
    loan: str
    kind: Literal["repayment", "recovery"]
    amount: str
    currency: str
    penalty: str
    interest: str
    principal: str
    created_at: str


class CloseDayCreate(Strict):
    day: date | None = Field(None, description="The day to close (UTC); default today.")


class DayResultOut(BaseModel):
    loan: str
    accrued: str
    accrued_days: int
    penalties: str
    days_past_due: int
    stage: int
    allowance: str
    provision_change: str


class CloseDayOut(BaseModel):
    day: str
    loans: list[DayResultOut]


# -- rendering ------------------------------------------------------------------------------------


def product_out(product: LoanProduct) -> ProductOut:
    money = product.currency
    return ProductOut(
        id=prefixed("lpr", product.id),
        name=product.name,
        currency=money,
        amount_min=format_amount(product.amount_min, money),
        amount_max=format_amount(product.amount_max, money),
        term_min=product.term_min,
        term_max=product.term_max,
        period_days=product.period_days,
        interest_method=product.method,
        rate_bps=product.rate_bps,
        fee_bps=product.fee_bps,
        grace_installments=product.grace_installments,
        penalty_fee=format_amount(product.penalty_fee, money),
        penalty_after_days=product.penalty_after_days,
        max_default_probability_bps=product.max_default_probability_bps,
        min_kyc_tier=product.min_kyc_tier,
    )


def _loan_fields(loan: Loan) -> dict[str, object]:
    money = loan.currency
    return {
        "id": prefixed("lon", loan.id),
        "party": prefixed("pty", loan.party_id),
        "product": prefixed("lpr", loan.product_id),
        "status": loan.status,
        "reasons": list(loan.reasons),
        "default_probability_bps": loan.default_bps,
        "amount": format_amount(loan.amount, money),
        "currency": money,
        "term": loan.term,
        "fee": format_amount(loan.fee, money),
        "disbursed_on": _day_text(loan.disbursed_day),
        "schedule": [
            InstallmentOut(
                number=i.number,
                due_on=_day_text(i.due_day) or "",
                principal=format_amount(i.principal, money),
                interest=format_amount(i.interest, money),
                total=format_amount(i.total, money),
            )
            for i in loan.schedule
        ],
        "days_past_due": loan.days_past_due,
        "stage": loan.stage,
        "written_off": format_amount(loan.written_off, money),
        "created_at": rfc3339(loan.created_at_ns),
    }


def loan_out(loan: Loan) -> LoanOut:
    return LoanOut.model_validate(_loan_fields(loan))


def loan_detail_out(view: LoanView) -> LoanDetailOut:
    money = view.loan.currency
    b = view.balances
    return LoanDetailOut.model_validate(
        {
            **_loan_fields(view.loan),
            "balances": BalancesOut(
                principal=format_amount(b.principal, money),
                interest=format_amount(b.interest, money),
                penalty=format_amount(b.penalty, money),
                outstanding=format_amount(b.outstanding, money),
                allowance=format_amount(b.allowance, money),
            ),
            "repaid": format_amount(view.repaid, money),
            "recovered": format_amount(view.recovered, money),
            "credit": None
            if view.assessment is None
            else CreditOut(
                model_version=view.assessment.model_version,
                score=view.assessment.score,
                default_probability_bps=view.assessment.default_bps,
                reasons=list(view.assessment.reasons),
            ),
        }
    )


def repayment_renderer(currency: str) -> Callable[[Repayment], RepaymentOut]:
    def render(repayment: Repayment) -> RepaymentOut:
        return RepaymentOut(
            id=prefixed("lrp", repayment.id),
            loan=prefixed("lon", repayment.loan_id),
            kind="recovery" if repayment.kind == "recovery" else "repayment",
            amount=format_amount(repayment.amount, currency),
            currency=currency,
            penalty=format_amount(repayment.penalty, currency),
            interest=format_amount(repayment.interest, currency),
            principal=format_amount(repayment.principal, currency),
            created_at=rfc3339(repayment.created_at_ns),
        )

    return render


def day_result_out(result: DayResult, currency: str) -> DayResultOut:
    return DayResultOut(
        loan=prefixed("lon", result.loan_id),
        accrued=format_amount(result.accrued, currency),
        accrued_days=result.accrued_days,
        penalties=format_amount(result.penalties, currency),
        days_past_due=result.days_past_due,
        stage=result.stage,
        allowance=format_amount(result.allowance, currency),
        provision_change=format_amount(result.provision_change, currency),
    )


# -- routes ---------------------------------------------------------------------------------------

router = api_router(tags=["loans"])


@router.post("/loan-products", status_code=201, response_model=ProductOut)
def create_product(body: ProductCreate, context: Caller) -> ProductOut:
    """Offer a loan product (amount and term ranges, interest, fees, grace, penalties)."""
    context.require(Scope.tariffs_write)
    product = LoanProduct(
        0,
        body.name,
        body.currency,
        parse_amount(body.amount_min, body.currency),
        parse_amount(body.amount_max, body.currency),
        body.term_min,
        body.term_max,
        body.period_days,
        body.interest_method,
        body.rate_bps,
        body.fee_bps,
        body.grace_installments,
        parse_amount(body.penalty_fee, body.currency),
        body.penalty_after_days,
        body.max_default_probability_bps,
        body.min_kyc_tier,
    )
    return product_out(loans_of(context).create_product(product, context.actor))


@router.get("/loan-products", response_model=Page[ProductOut])
def list_products(context: Caller, page: Annotated[PageParameters, Depends()]) -> Page[ProductOut]:
    context.require(Scope.tariffs_read)
    after = 0 if page.starting_after is None else parse_id("lpr", page.starting_after, "cursor")
    products = loans_of(context).list_products(after, page.limit + 1)
    return page_from([product_out(p) for p in products], page.limit, lambda p: p.id)


@router.get("/loan-products/{product_id}", response_model=ProductOut)
def get_product(product_id: str, context: Caller) -> ProductOut:
    context.require(Scope.tariffs_read)
    return product_out(loans_of(context).get_product(parse_id("lpr", product_id, "product")))


@router.post("/loan-applications", status_code=201, response_model=LoanOut)
def apply(body: ApplicationCreate, context: Caller) -> LoanOut:
    """Apply for a loan and get the automated decision at once: `approved` (disburse it
    next) or `declined` with reasons. Outside the product's ranges is a 422, not a loan."""
    context.require(Scope.payments_write)
    service = loans_of(context)
    product = service.get_product(parse_id("lpr", body.product, "product"))
    if body.currency != product.currency:
        raise ProblemError(
            422,
            "currency_mismatch",
            "The currency does not match the product",
            f"{product.name} lends {product.currency}",
        )
    loan = service.apply(
        parse_id("pty", body.party, "party"),
        product.id,
        parse_amount(body.amount, body.currency),
        body.term,
    )
    return loan_out(loan)


@router.get("/loans", response_model=Page[LoanOut])
def list_loans(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    party: Annotated[PartyId | None, Query()] = None,
) -> Page[LoanOut]:
    context.require(Scope.payments_read)
    after = 0 if page.starting_after is None else parse_id("lon", page.starting_after, "cursor")
    party_id = None if party is None else parse_id("pty", party, "party")
    loans = loans_of(context).list_loans(party_id, after, page.limit + 1)
    return page_from([loan_out(loan) for loan in loans], page.limit, lambda loan: loan.id)


@router.get("/loans/{loan_id}", response_model=LoanDetailOut)
def get_loan(loan_id: str, context: Caller) -> LoanDetailOut:
    """A loan with its schedule and its position read from the ledger."""
    context.require(Scope.payments_read)
    return loan_detail_out(loans_of(context).view(parse_id("lon", loan_id, "loan")))


class NoBody(Strict):
    """Operations that need nothing but the loan in the path."""


@router.post("/loans/{loan_id}/disbursement", response_model=LoanOut)
def disburse(loan_id: str, context: Caller, key: IdempotencyKey) -> LoanOut:
    """Pay an approved loan into the borrower's wallet, less the upfront fee. Twice: 409."""
    context.require(Scope.payments_write)
    idempotency = idempotency_for(context, key, NoBody(), 200, loan_out)
    return loan_out(loans_of(context).disburse(parse_id("lon", loan_id, "loan"), idempotency))


@router.post("/loans/{loan_id}/repayments", status_code=201, response_model=RepaymentOut)
def repay(
    loan_id: str, body: RepaymentCreate, context: Caller, key: IdempotencyKey
) -> RepaymentOut:
    """Repay from the borrower's wallet: penalties, then interest, then principal. More
    than is owed now is refused (422 `repayment_exceeds_outstanding`)."""
    context.require(Scope.payments_write)
    service = loans_of(context)
    loan = service.get_loan(parse_id("lon", loan_id, "loan"))
    render = repayment_renderer(loan.currency)
    amount = _amount_in(body, loan)
    repayment = service.repay(
        loan.id,
        amount,
        idempotency_for(context, key, body, 201, render),
    )
    return render(repayment)


@router.post("/loans/{loan_id}/recoveries", status_code=201, response_model=RepaymentOut)
def recover(
    loan_id: str, body: RepaymentCreate, context: Caller, key: IdempotencyKey
) -> RepaymentOut:
    """Collect on a written-off loan, up to what was written off."""
    context.require(Scope.payments_write)
    service = loans_of(context)
    loan = service.get_loan(parse_id("lon", loan_id, "loan"))
    render = repayment_renderer(loan.currency)
    amount = _amount_in(body, loan)
    repayment = service.recover(
        loan.id,
        amount,
        idempotency_for(context, key, body, 201, render),
    )
    return render(repayment)


@router.post("/loans/{loan_id}/write-off", response_model=LoanOut)
def write_off(loan_id: str, context: Caller, key: IdempotencyKey) -> LoanOut:
    """Write off a stage 3 loan (more than 90 days past due): 409 `loan_not_impaired`
    otherwise."""
    context.require(Scope.risk_write)
    idempotency = idempotency_for(context, key, NoBody(), 200, loan_out)
    return loan_out(loans_of(context).write_off(parse_id("lon", loan_id, "loan"), idempotency))


@router.post("/loans/close-day", response_model=CloseDayOut)
def close_day(body: CloseDayCreate, context: Caller) -> CloseDayOut:
    """End of day for every active loan: accrue interest (catching up missed days), charge
    penalties, age arrears, set IFRS 9 stages and allowances. A second run posts nothing."""
    context.require(Scope.risk_write)
    service = loans_of(context)
    day = None if body.day is None else (body.day - _epoch).days
    results = service.close_day(day)
    closed = day if day is not None else context.platform.clock.now_ns() // 86_400_000_000_000
    currencies = {r.loan_id: service.get_loan(r.loan_id).currency for r in results}
    return CloseDayOut(
        day=_day_text(closed) or "",
        loans=[day_result_out(r, currencies[r.loan_id]) for r in results],
    )


class SweepOut(BaseModel):
    repayments: list[RepaymentOut]


@router.post("/loans/sweeps", response_model=SweepOut)
def sweep_inflows(context: Caller) -> SweepOut:
    """Collect what is due from the wallets that received money since the last sweep (the
    platform's payment events). Takes only what is due and what the wallet holds, so a
    second call takes nothing; it needs no Idempotency-Key."""
    context.require(Scope.payments_write)
    service = loans_of(context)
    swept = service.sweep_inflows()
    return SweepOut(
        repayments=[repayment_renderer(service.get_loan(r.loan_id).currency)(r) for r in swept]
    )


def _amount_in(body: RepaymentCreate, loan: Loan) -> int:
    if body.currency != loan.currency:
        raise ProblemError(
            422, "currency_mismatch", "The currency does not match the loan", f"{loan.currency}"
        )
    return parse_amount(body.amount, body.currency)

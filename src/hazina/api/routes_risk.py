"""Risk control: the rule set, the decisions made in the payment path, and held payments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from hazina.api.app import Caller, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.schemas import TransactionOut, rfc3339, transaction_out
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.risk.rules import RuleError
from hazina.risk.service import RuleSet

router = APIRouter(tags=["risk"])


class RuleSetOut(BaseModel):
    version: int = Field(description="0 until the first rule set is saved.")
    rules: list[dict[str, Any]]
    created_by: str
    created_at: str | None


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] = Field(
        max_length=500,
        description="Rules in the JSON condition language (docs/risk-rules.md); checked on save.",
    )


class FeatureOut(BaseModel):
    name: str
    type: Literal["number", "text"]


class RuleHitOut(BaseModel):
    rule: str
    action: str
    reason: str


class ReasonOut(BaseModel):
    feature: str
    value: float
    contribution: float


class DecisionOut(BaseModel):
    id: str
    transaction: str | None
    payer_party: str
    payment_type: str
    currency: str
    amount_minor: int
    action: Literal["approve", "step_up", "hold", "decline"]
    score: float | None
    reasons: list[ReasonOut]
    rule_hits: list[RuleHitOut]
    model_version: str | None
    rules_version: int
    fallback: str | None
    latency_us: int
    created_at: str


class HoldReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release: bool = Field(description="true: post the payment; false: void it (money back).")
    fraud: bool = Field(
        default=False, description="The analyst judges it fraud (only with release=false)."
    )


def _rule_set_out(rule_set: RuleSet) -> RuleSetOut:
    return RuleSetOut(
        version=rule_set.version,
        rules=[dict(rule) for rule in rule_set.source()],
        created_by=rule_set.created_by,
        created_at=rfc3339(rule_set.created_at_ns) if rule_set.version else None,
    )


@router.get("/risk/rules", response_model=RuleSetOut)
def current_rules(context: Caller) -> RuleSetOut:
    """The rule set in force."""
    context.require(Scope.risk_read)
    return _rule_set_out(context.platform.risk.rules())


@router.put("/risk/rules", response_model=RuleSetOut)
def save_rules(body: RuleSetIn, context: Caller) -> RuleSetOut:
    """Replace the rule set with a new version (checked now, never at payment time)."""
    context.require(Scope.risk_write)
    try:
        saved = context.platform.risk.save_rules(body.rules, context.actor)
    except RuleError as error:
        raise ProblemError(422, error.code, "Rule set refused", str(error)) from None
    context.platform.identity.record(
        context.actor, "risk.rules_saved", f"risk-rules:{saved.version}", count=len(body.rules)
    )
    return _rule_set_out(saved)


@router.get("/risk/rules/{version}", response_model=RuleSetOut)
def rule_set_version(version: int, context: Caller) -> RuleSetOut:
    context.require(Scope.risk_read)
    found = context.platform.risk.rule_set(version) if 0 < version < 2**31 else None
    if found is None:
        raise ProblemError(404, "rule_set_not_found", "Not found", f"no rule set version {version}")
    return _rule_set_out(found)


@router.get("/risk/features", response_model=list[FeatureOut])
def features(context: Caller) -> list[FeatureOut]:
    """Every name a rule may test, with its type."""
    context.require(Scope.risk_read)
    return [
        FeatureOut(name=name, type=kind)  # type: ignore[arg-type]
        for name, kind in sorted(context.platform.risk.known_features.items())
    ]


@router.get("/risk/decisions", response_model=Page[DecisionOut])
def decisions(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    action: Annotated[str | None, Query(pattern="^(approve|step_up|hold|decline)$")] = None,
    transaction: Annotated[str | None, Query(pattern=r"^txn_[0-9a-f]{16}$")] = None,
) -> Page[DecisionOut]:
    """Decisions in the order they were made, with their reasons."""
    context.require(Scope.risk_read)
    after = 0 if page.starting_after is None else parse_id("rsk", page.starting_after, "cursor")
    rows = context.platform.risk.decisions(
        action=action,
        transaction_id=None if transaction is None else parse_id("txn", transaction, "txn"),
        after_id=after,
        limit=page.limit + 1,
    )
    return page_from([_decision_out(row) for row in rows], page.limit, lambda d: d.id)


def _decision_out(row: dict[str, Any]) -> DecisionOut:
    return DecisionOut(
        id=prefixed("rsk", row["id"]),
        transaction=None
        if row["transaction_id"] is None
        else prefixed("txn", row["transaction_id"]),
        payer_party=prefixed("pty", row["payer_party_id"]),
        payment_type=row["payment_type"],
        currency=row["currency"],
        amount_minor=row["amount"],
        action=row["action"],
        score=row["score"],
        reasons=[ReasonOut(**reason) for reason in row["reasons"]],
        rule_hits=[RuleHitOut(**hit) for hit in row["rule_hits"]],
        model_version=row["model_version"],
        rules_version=row["rules_version"],
        fallback=row["fallback"],
        latency_us=row["latency_us"],
        created_at=rfc3339(row["created_at_ns"]),
    )


@router.post("/risk/held-payments/{transaction_id}/review", response_model=TransactionOut)
def review_held_payment(transaction_id: str, body: HoldReview, context: Caller) -> TransactionOut:
    """Release a held payment (posted) or reject it (voided, the money goes back). List them
    with `GET /v1/transactions?status=held`."""
    context.require(Scope.risk_write)
    record = context.platform.payments.review_held_payment(
        parse_id("txn", transaction_id, "transaction"), body.release, context.actor, body.fraud
    )
    context.platform.identity.record(
        context.actor,
        "risk.hold_reviewed",
        prefixed("txn", record.id),
        release=body.release,
        fraud=body.fraud,
    )
    return transaction_out(record)

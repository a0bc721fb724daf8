"""Risk control: the rule set, the decisions made in the payment path, held payments, and the
fraud models with their drift."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hazina.api.app import Caller, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import TransactionOut, rfc3339, transaction_out
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import risk_drift_days_max, risk_warm_up_payments_max
from hazina.risk.drift import moderate_shift_psi, significant_shift_psi
from hazina.risk.live_drift import NoRecentPaymentsError, drift_window_ns, model_drift
from hazina.risk.registry import ModelRegistry, ModelUnreadableError, UnknownModelVersionError
from hazina.risk.rules import RuleError
from hazina.risk.service import RuleSet

router = api_router(tags=["risk"])


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
    value: float | None = Field(description="null: the feature was missing for this payment.")
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


def _reason_out(reason: dict[str, Any]) -> ReasonOut:
    """A stored reason; a missing feature's NaN (which JSON cannot carry) becomes null."""
    value = reason["value"]
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return ReasonOut(
        feature=reason["feature"],
        value=None if missing else value,
        contribution=reason["contribution"],
    )


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
        reasons=[_reason_out(reason) for reason in row["reasons"]],
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


class ModelOut(BaseModel):
    version: str
    role: Literal["champion", "challenger", "retired"]
    in_use: bool = Field(description="This server scores payments with it.")
    created_at: str
    metrics: dict[str, float | int]
    features: int
    training_data: dict[str, Any]


class FeatureDriftOut(BaseModel):
    feature: str
    psi: float
    level: Literal["stable", "moderate", "significant"]


class DriftOut(BaseModel):
    version: str
    days: int
    payments: int = Field(description="Recent screened payments compared.")
    since: str
    thresholds: dict[str, float] = Field(
        description="PSI below `moderate` is stable, below `significant` moderate."
    )
    score_psi: float
    score_level: Literal["stable", "moderate", "significant"]
    features: list[FeatureDriftOut] = Field(description="Every feature, most shifted first.")


def _registry(context: Caller) -> ModelRegistry:
    registry = context.platform.models
    if registry is None:
        raise ProblemError(
            404, "model_registry_missing", "Not found", "this server was started without models"
        )
    return registry


@router.get("/risk/models", response_model=list[ModelOut])
def list_models(context: Caller) -> list[ModelOut]:
    """The registered fraud models, oldest first, with their roles and test metrics."""
    context.require(Scope.risk_read)
    registry = _registry(context)
    in_use = context.platform.risk.model_version
    return [
        ModelOut(
            version=entry.version,
            role=entry.role,  # type: ignore[arg-type]
            in_use=entry.version == in_use,
            created_at=entry.created_at,
            metrics=entry.metrics,
            features=len(entry.feature_names),
            training_data=entry.data.to_json(),
        )
        for entry in registry.versions()
    ]


@router.get("/risk/models/{version}/drift", response_model=DriftOut)
def model_drift_report(
    version: Annotated[str, Path(pattern=r"^(v[0-9]{4,}|champion)$")],
    context: Caller,
    days: Annotated[int, Query(ge=1, le=risk_drift_days_max)] = 7,
) -> DriftOut:
    """Population stability index of every feature and of the score: the model's training
    data against the screened payments of the last `days` (replayed through the model's
    features). `champion` names the current champion."""
    context.require(Scope.risk_read)
    registry = _registry(context)
    platform = context.platform
    replay_from_ns, since_ns = drift_window_ns(platform.clock.now_ns(), days)
    try:
        result = model_drift(
            registry,
            None if version == "champion" else version,
            platform.payments.screened_history(replay_from_ns, risk_warm_up_payments_max),
            platform.risk.stored_labels(replay_from_ns, risk_warm_up_payments_max),
            since_ns,
        )
    except UnknownModelVersionError as error:
        raise ProblemError(404, error.code, "Not found", str(error)) from None
    except ModelUnreadableError as error:
        raise ProblemError(409, error.code, "Model unreadable", str(error)) from None
    except NoRecentPaymentsError as error:
        raise ProblemError(422, error.code, "Nothing to compare", str(error)) from None
    return DriftOut(
        version=result.version,
        days=days,
        payments=result.payments,
        since=rfc3339(since_ns),
        thresholds={"moderate": moderate_shift_psi, "significant": significant_shift_psi},
        score_psi=result.report.score_psi,
        score_level=result.score_level.value,
        features=[
            FeatureDriftOut(feature=name, psi=psi, level=level.value)
            for name, psi, level in result.features_by_shift()
        ],
    )

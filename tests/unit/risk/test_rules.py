"""The operator rule language: parsing refuses what could fail at payment time; evaluation."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.risk.decision import Reason, Thresholds, ThresholdsError, decide, top_reasons
from hazina.risk.rules import Action, RuleError, RuleHit, evaluate, holds, parse_rules

KNOWN = {"amount": "number", "hour_of_day": "number", "payment_type": "text", "new_payee": "number"}


def rule(when: Any, action: str = "hold", name: str = "r1") -> dict[str, Any]:
    return {"name": name, "when": when, "action": action, "reason": "because"}


def leaf(feature: str, op: str, value: Any) -> dict[str, Any]:
    return {"feature": feature, "op": op, "value": value}


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ({"name": "x"}, "rules_malformed"),
        (["not an object"], "rule_malformed"),
        ([rule(leaf("amount", ">", 1)) | {"extra": 1}], "rule_malformed"),
        ([rule(leaf("amount", ">", 1), name="")], "rule_malformed"),
        ([rule(leaf("amount", ">", 1), action="block")], "rule_action_unknown"),
        ([{"name": "r", "action": "hold"}], "rule_malformed"),
        ([rule(leaf("velocity_1h", ">", 3))], "rule_feature_unknown"),
        ([rule(leaf("amount", "~", 3))], "rule_operator_unknown"),
        ([rule(leaf("amount", ">", "3"))], "rule_value_invalid"),
        ([rule(leaf("amount", ">", True))], "rule_value_invalid"),
        ([rule(leaf("amount", ">", float("nan")))], "rule_value_invalid"),
        ([rule(leaf("payment_type", ">", 3))], "rule_value_invalid"),
        ([rule(leaf("amount", "between", [5, 1]))], "rule_value_invalid"),
        ([rule(leaf("amount", "between", [1]))], "rule_value_invalid"),
        ([rule(leaf("payment_type", "in", []))], "rule_value_invalid"),
        ([rule(leaf("payment_type", "in", ["p2p", 3]))], "rule_value_invalid"),
        ([rule({"all": []})], "rule_malformed"),
        ([rule({"any": leaf("amount", ">", 1)})], "rule_malformed"),
        ([rule({"all": [leaf("amount", ">", 1)], "any": []})], "rule_malformed"),
        ([rule(leaf("amount", ">", 1)), rule(leaf("amount", ">", 2))], "rule_name_duplicate"),
        ([rule(leaf("amount", ">", 1), name=f"r{i}") for i in range(501)], "rules_too_many"),
    ],
)
def test_malformed_rules_are_refused_when_saved(rules: Any, code: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rules(rules, KNOWN)
    assert raised.value.code == code


def test_nesting_is_bounded() -> None:
    condition: dict[str, Any] = leaf("amount", ">", 1)
    for _ in range(8):
        condition = {"not": condition}
    with pytest.raises(RuleError) as raised:
        parse_rules([rule(condition)], KNOWN)
    assert raised.value.code == "rule_too_deep"


def test_a_night_rule_fires_only_at_night_on_large_amounts() -> None:
    (parsed,) = parse_rules(
        [
            rule(
                {
                    "all": [
                        leaf("amount", ">=", 500_000),
                        leaf("hour_of_day", "between", [0, 4]),
                        {"not": leaf("payment_type", "in", ["bill_payment"])},
                    ]
                }
            )
        ],
        KNOWN,
    )
    base = {"amount": 600_000, "hour_of_day": 2, "payment_type": "p2p"}
    assert holds(parsed.condition, base)
    assert not holds(parsed.condition, base | {"amount": 499_999})
    assert not holds(parsed.condition, base | {"hour_of_day": 5})
    assert not holds(parsed.condition, base | {"payment_type": "bill_payment"})
    assert holds(parsed.condition, base | {"hour_of_day": 0, "amount": 500_000})


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("==", 3, 3, True),
        ("!=", 3, 3, False),
        ("<", 3, 2.5, True),
        ("<=", 3, 3, True),
        (">", 3, 3, False),
        (">=", 3, 3, True),
        ("in", [1, 2], 2, True),
        ("not_in", [1, 2], 2, False),
        ("between", [1, 2], 2, True),
    ],
)
def test_each_operator(op: str, value: Any, actual: float, expected: bool) -> None:
    (parsed,) = parse_rules([rule(leaf("amount", op, value))], KNOWN)
    assert holds(parsed.condition, {"amount": actual}) is expected


def test_missing_or_nan_features_never_fire() -> None:
    (parsed,) = parse_rules([rule(leaf("amount", "<", 10))], KNOWN)
    assert not holds(parsed.condition, {})
    assert not holds(parsed.condition, {"amount": float("nan")})


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_not_is_the_complement_on_present_values(threshold: int, amount: int) -> None:
    rules = parse_rules(
        [
            rule(leaf("amount", ">", threshold), name="gt"),
            rule({"not": leaf("amount", ">", threshold)}, name="not-gt"),
        ],
        KNOWN,
    )
    hits = evaluate(rules, {"amount": amount})
    assert len(hits) == 1
    assert hits[0].name == ("gt" if amount > threshold else "not-gt")


def test_thresholds_map_scores_to_actions_and_must_rise() -> None:
    thresholds = Thresholds(step_up=0.3, hold=0.6, decline=0.9)
    assert [thresholds.action_for(s) for s in (0.0, 0.3, 0.59, 0.6, 0.9, 1.0)] == [
        Action.approve,
        Action.step_up,
        Action.step_up,
        Action.hold,
        Action.decline,
        Action.decline,
    ]
    with pytest.raises(ThresholdsError):
        Thresholds(step_up=0.7, hold=0.6, decline=0.9)
    with pytest.raises(ThresholdsError):
        Thresholds(decline=1.5)


def test_the_strictest_action_wins_and_allow_sets_only_the_model_aside() -> None:
    thresholds = Thresholds()
    hold = RuleHit("night", "hold", "night")
    allow = RuleHit("payroll", "allow", "payroll")
    decided = decide(0.95, (), [hold], thresholds, model_version="m1", rules_version=1)
    assert decided.action is Action.decline
    decided = decide(0.95, (), [allow], thresholds, model_version="m1", rules_version=1)
    assert decided.action is Action.approve
    decided = decide(0.95, (), [allow, hold], thresholds, model_version="m1", rules_version=1)
    assert decided.action is Action.hold
    decided = decide(
        None,
        (),
        [hold],
        thresholds,
        model_version=None,
        rules_version=2,
        fallback="model failed: boom",
    )
    assert decided.action is Action.hold
    assert decided.fallback == "model failed: boom"
    assert "night (rule night)" in decided.explanation()


def test_top_reasons_keep_the_positive_pushes_strongest_first() -> None:
    reasons = top_reasons(["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0], [0.5, -2.0, 1.5, 0.0])
    assert reasons == (Reason("c", 3.0, 1.5), Reason("a", 1.0, 0.5))

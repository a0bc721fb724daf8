"""Operator rules: a small, safe condition language in JSON, checked when saved.

A rule is data, never code: nothing is evaluated with `eval`, and every rule is validated
against the features the scorer actually produces when it is saved, so a rule cannot fail at
payment time. A rule looks like this:

    {"name": "large-night-transfer",
     "when": {"all": [{"feature": "amount", "op": ">=", "value": 5000000},
                      {"feature": "hour_of_day", "op": "between", "value": [0, 4]}]},
     "action": "hold",
     "reason": "large transfer at night"}

Conditions: `{"feature", "op", "value"}` leaves with the operators `==`, `!=`, `<`, `<=`, `>`,
`>=` (numbers; `==`/`!=` also strings), `between` (two numbers, both ends included), `in` and
`not_in` (a list of numbers or strings); `{"all": [...]}`, `{"any": [...]}` and `{"not": {...}}`
combine them. Actions, from mildest: `allow` (overrides what the model alone would have done,
for known-good patterns), `step_up`, `hold`, `decline`. A missing numeric feature is never
true, so a rule cannot fire on data it has not seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    risk_rule_depth_max,
    risk_rule_list_length_max,
    risk_rule_name_length_max,
    risk_rules_per_set_max,
)

FeatureValue = float | int | str


class Action(IntEnum):
    """What a decision does to a payment; larger is stricter."""

    approve = 0
    step_up = 1
    hold = 2
    decline = 3


RULE_ACTIONS = ("allow", "step_up", "hold", "decline")
_NUMERIC_OPERATORS = ("<", "<=", ">", ">=")
_EQUALITY_OPERATORS = ("==", "!=")
_LIST_OPERATORS = ("in", "not_in")
OPERATORS = (*_EQUALITY_OPERATORS, *_NUMERIC_OPERATORS, "between", *_LIST_OPERATORS)


class RuleError(ValueError):
    """A rule that cannot be saved: `code` is stable, the message says where and why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition tree: a leaf (feature, op, value) or a combinator of children."""

    kind: str  # "leaf" | "all" | "any" | "not"
    feature: str = ""
    operator: str = ""
    value: Any = None
    children: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    condition: Condition
    action: str  # one of RULE_ACTIONS
    reason: str
    source: Mapping[str, Any]  # the rule as it was saved, for display and round trips


@dataclass(frozen=True, slots=True)
class RuleHit:
    name: str
    action: str
    reason: str


def parse_rules(rules: Any, known_features: Mapping[str, str]) -> tuple[Rule, ...]:
    """Validate a rule set (a JSON list of rules) against the features on offer.

    `known_features` maps each feature name to "number" or "text". Raises `RuleError`."""
    if not isinstance(rules, list):
        raise RuleError("rules_malformed", "a rule set is a JSON list of rules")
    if len(rules) > risk_rules_per_set_max:
        raise RuleError(
            "rules_too_many", f"a rule set holds at most {risk_rules_per_set_max} rules"
        )
    parsed = tuple(_parse_rule(rule, index, known_features) for index, rule in enumerate(rules))
    names = [rule.name for rule in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RuleError("rule_name_duplicate", f"rule names must be unique: {duplicates}")
    invariant(len(parsed) == len(rules), "one parsed rule per rule")
    return parsed


def _parse_rule(rule: Any, index: int, known: Mapping[str, str]) -> Rule:
    where = f"rule {index + 1}"
    if not isinstance(rule, dict):
        raise RuleError("rule_malformed", f"{where}: a rule is a JSON object")
    unknown_keys = set(rule) - {"name", "when", "action", "reason"}
    if unknown_keys:
        raise RuleError("rule_malformed", f"{where}: unknown keys {sorted(unknown_keys)}")
    name = rule.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > risk_rule_name_length_max:
        raise RuleError(
            "rule_malformed",
            f"{where}: 'name' must be text of 1 to {risk_rule_name_length_max} characters",
        )
    where = f"rule {name!r}"
    action = rule.get("action")
    if action not in RULE_ACTIONS:
        raise RuleError("rule_action_unknown", f"{where}: 'action' must be one of {RULE_ACTIONS}")
    reason = rule.get("reason", name)
    if not isinstance(reason, str) or not reason.strip():
        raise RuleError("rule_malformed", f"{where}: 'reason' must be non-empty text")
    if "when" not in rule:
        raise RuleError("rule_malformed", f"{where}: 'when' (the condition) is required")
    condition = _parse_condition(rule["when"], where, known, depth=1)
    return Rule(name, condition, str(action), reason, dict(rule))


def _parse_condition(node: Any, where: str, known: Mapping[str, str], depth: int) -> Condition:
    if depth > risk_rule_depth_max:
        raise RuleError(
            "rule_too_deep", f"{where}: conditions nest at most {risk_rule_depth_max} deep"
        )
    if not isinstance(node, dict):
        raise RuleError("rule_malformed", f"{where}: a condition is a JSON object")
    if set(node) == {"all"} or set(node) == {"any"}:
        kind = "all" if "all" in node else "any"
        children = node[kind]
        if not isinstance(children, list) or not children:
            raise RuleError("rule_malformed", f"{where}: '{kind}' takes a non-empty list")
        if len(children) > risk_rule_list_length_max:
            raise RuleError(
                "rule_malformed", f"{where}: '{kind}' takes at most {risk_rule_list_length_max}"
            )
        return Condition(
            kind,
            children=tuple(_parse_condition(c, where, known, depth + 1) for c in children),
        )
    if set(node) == {"not"}:
        return Condition("not", children=(_parse_condition(node["not"], where, known, depth + 1),))
    if set(node) != {"feature", "op", "value"}:
        raise RuleError(
            "rule_malformed",
            f"{where}: a condition is {{'feature', 'op', 'value'}}, or 'all', 'any' or 'not'",
        )
    feature, operator, value = node["feature"], node["op"], node["value"]
    if not isinstance(feature, str) or feature not in known:
        raise RuleError(
            "rule_feature_unknown",
            f"{where}: unknown feature {feature!r}; known: {', '.join(sorted(known))}",
        )
    if operator not in OPERATORS:
        raise RuleError("rule_operator_unknown", f"{where}: 'op' must be one of {OPERATORS}")
    kind = known[feature]
    _check_value(where, feature, kind, operator, value)
    if isinstance(value, list):
        value = tuple(value)
    return Condition("leaf", feature, operator, value)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_value(where: str, feature: str, kind: str, operator: str, value: Any) -> None:
    def wrong(expected: str) -> RuleError:
        return RuleError(
            "rule_value_invalid", f"{where}: {feature} {operator} needs {expected}, got {value!r}"
        )

    element_ok = _is_number if kind == "number" else (lambda v: isinstance(v, str))
    element = "a number" if kind == "number" else "text"
    if operator in _NUMERIC_OPERATORS:
        if kind != "number" or not _is_number(value):
            raise wrong("a number (and a numeric feature)")
    elif operator == "between":
        if kind != "number" or not (
            isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
        ):
            raise wrong("a list of two numbers")
        if value[0] > value[1]:
            raise wrong("[low, high] with low <= high")
    elif operator in _LIST_OPERATORS:
        if not (
            isinstance(value, list)
            and 0 < len(value) <= risk_rule_list_length_max
            and all(element_ok(v) for v in value)
        ):
            raise wrong(f"a non-empty list of {element}")
    elif not element_ok(value):
        raise wrong(element)


def holds(condition: Condition, features: Mapping[str, FeatureValue]) -> bool:
    """Whether `condition` holds for these feature values (missing values: false)."""
    if condition.kind == "all":
        return all(holds(child, features) for child in condition.children)
    if condition.kind == "any":
        return any(holds(child, features) for child in condition.children)
    if condition.kind == "not":
        return not holds(condition.children[0], features)
    actual = features.get(condition.feature)
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return False
    operator, value = condition.operator, condition.value
    if operator == "==":
        return bool(actual == value)
    if operator == "!=":
        return bool(actual != value)
    if operator == "in":
        return bool(actual in value)
    if operator == "not_in":
        return bool(actual not in value)
    if isinstance(actual, str):
        return False  # numeric comparisons on text never hold (validated away on save)
    if operator == "<":
        return bool(actual < value)
    if operator == "<=":
        return bool(actual <= value)
    if operator == ">":
        return bool(actual > value)
    if operator == ">=":
        return bool(actual >= value)
    invariant(operator == "between", f"operator {operator} is handled")
    return bool(value[0] <= actual <= value[1])


def evaluate(rules: Sequence[Rule], features: Mapping[str, FeatureValue]) -> list[RuleHit]:
    """Every rule that fires, in rule-set order."""
    return [
        RuleHit(rule.name, rule.action, rule.reason)
        for rule in rules
        if holds(rule.condition, features)
    ]

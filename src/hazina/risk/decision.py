"""From a model score and rule hits to one decision with its reasons. Pure.

The model's fraud probability maps to an action by thresholds (approve below `step_up`, then
step-up, hold for review, decline). Rules then add: the strictest action among the rules that
fired and the model's wins, except that an `allow` rule sets the model's part aside (a known-good
pattern the model keeps flagging); `allow` never overrides another rule. When the model could
not score (absent, or failed at payment time), rules decide alone and `fallback` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_top_reasons_max
from hazina.risk.rules import Action, FeatureValue, RuleHit


class ThresholdsError(ValueError):
    code = "thresholds_invalid"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Fraud probabilities at and above which the model asks for each action."""

    step_up: float = 0.30
    hold: float = 0.60
    decline: float = 0.90

    def __post_init__(self) -> None:
        values = (self.step_up, self.hold, self.decline)
        if not all(isinstance(v, float | int) and 0.0 <= v <= 1.0 for v in values):
            raise ThresholdsError("thresholds are probabilities between 0 and 1")
        if not self.step_up <= self.hold <= self.decline:
            raise ThresholdsError("thresholds must rise: step_up <= hold <= decline")

    def action_for(self, score: float) -> Action:
        if score >= self.decline:
            return Action.decline
        if score >= self.hold:
            return Action.hold
        if score >= self.step_up:
            return Action.step_up
        return Action.approve


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's push on the score (log-odds; positive: towards fraud)."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    score: float | None  # the model's fraud probability; None when rules decided alone
    reasons: tuple[Reason, ...]  # the model's top reasons towards fraud, strongest first
    rule_hits: tuple[RuleHit, ...]
    model_version: str | None
    rules_version: int
    fallback: str | None = None  # why the model did not take part, when it did not

    def explanation(self) -> str:
        """One sentence for a refusal or an analyst's queue."""
        parts = [f"{hit.reason} (rule {hit.name})" for hit in self.rule_hits]
        if self.score is not None:
            top = ", ".join(reason.feature for reason in self.reasons[:3])
            parts.append(f"fraud score {self.score:.2f}" + (f" driven by {top}" if top else ""))
        return "; ".join(parts) if parts else "no risk signals"


def top_reasons(
    names: Sequence[str], values: Sequence[float], contributions: Sequence[float]
) -> tuple[Reason, ...]:
    """The features that pushed the score up most, strongest first."""
    invariant(len(names) == len(values) == len(contributions), "one contribution per feature")
    ranked = sorted(
        (i for i in range(len(names)) if contributions[i] > 0),
        key=lambda i: -contributions[i],
    )
    return tuple(
        Reason(names[i], float(values[i]), float(contributions[i]))
        for i in ranked[:risk_top_reasons_max]
    )


def decide(
    score: float | None,
    reasons: tuple[Reason, ...],
    hits: Sequence[RuleHit],
    thresholds: Thresholds,
    *,
    model_version: str | None,
    rules_version: int,
    fallback: str | None = None,
) -> Decision:
    invariant(score is None or 0.0 <= score <= 1.0, "a score is a probability")
    model_action = Action.approve if score is None else thresholds.action_for(score)
    if any(hit.action == "allow" for hit in hits):
        model_action = Action.approve
    rule_actions = [Action[hit.action] for hit in hits if hit.action != "allow"]
    action = max([model_action, *rule_actions])
    invariant(action >= max(rule_actions, default=Action.approve), "rules are never weakened")
    return Decision(action, score, reasons, tuple(hits), model_version, rules_version, fallback)


def features_by_name(names: Sequence[str], values: Sequence[float]) -> Mapping[str, FeatureValue]:
    invariant(len(names) == len(values), "one value per feature name")
    return dict(zip(names, values, strict=True))

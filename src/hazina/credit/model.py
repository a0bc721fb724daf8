"""One interface for every credit model family: probability of default, score, reasons.

A `CreditModel` is trained by its family's `fit` on a `CreditDataset` and then, for a table of
applicants with the same columns, gives each a calibrated probability of default, a score on
the 300-850 scale (`hazina.credit.scale`) and the adverse-action reasons: the features that
pulled that applicant's score down the most, strongest first, for every decision (approved or
not, so a declined applicant and an auditor see the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from hazina.credit.scale import score_from_probability
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_reasons_max


@dataclass(frozen=True, slots=True)
class Reason:
    """One adverse-action reason: a feature, the applicant's value and what it cost."""

    code: str  # stable: the feature's name, upper-cased, as the reason code
    feature: str
    value: str
    points_lost: float  # score points below the feature's best (scorecard) or SHAP-equivalent

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "feature": self.feature,
            "value": self.value,
            "points_lost": round(self.points_lost, 2),
        }


@dataclass(frozen=True, slots=True)
class CreditDecision:
    probability_of_default: float
    score: int
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "probability_of_default": self.probability_of_default,
            "score": self.score,
            "reasons": [reason.to_json() for reason in self.reasons],
        }


class CreditModel(Protocol):
    family: str
    feature_names: tuple[str, ...]

    def probability_of_default(self, features: Any) -> npt.NDArray[np.float64]: ...

    def reasons(self, features: Any, count: int) -> list[tuple[Reason, ...]]: ...


def reason_code(feature: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in feature).upper()


def decide(
    model: CreditModel, features: Any, count: int = credit_reasons_max
) -> list[CreditDecision]:
    """Probability, score and reasons for each applicant (row) of `features`."""
    invariant(1 <= count <= credit_reasons_max, "reasons within the limit")
    invariant(tuple(str(name) for name in features.columns) == model.feature_names, "columns")
    probabilities = model.probability_of_default(features)
    scores = score_from_probability(probabilities)
    reasons = model.reasons(features, count)
    invariant(len(reasons) == len(probabilities) == len(features), "a decision per applicant")
    return [
        CreditDecision(float(probability), int(score), applicant_reasons)
        for probability, score, applicant_reasons in zip(
            probabilities, scores, reasons, strict=True
        )
    ]


def reasons_from(
    names: tuple[str, ...], features: Any, points_lost: npt.NDArray[np.float64], count: int
) -> list[tuple[Reason, ...]]:
    """Each applicant's top reasons from a (applicants x features) table of points lost."""
    invariant(points_lost.shape == (len(features), len(names)), "points lost per feature")
    rows = features[list(names)].astype(str).to_numpy()
    return [
        top_reasons(names, [str(value) for value in rows[row]], points_lost[row], count)
        for row in range(len(features))
    ]


def top_reasons(
    names: tuple[str, ...],
    values: list[str],
    points_lost: npt.NDArray[np.float64],
    count: int,
) -> tuple[Reason, ...]:
    """The `count` features that cost the most points (only those that cost any)."""
    order = np.argsort(-points_lost, kind="stable")[:count]
    return tuple(
        Reason(reason_code(names[index]), names[index], values[index], float(points_lost[index]))
        for index in order
        if points_lost[index] > 1e-9
    )

"""How well a probability of default ranks and how well it is calibrated.

ROC AUC; Gini = 2 AUC - 1; KS, the largest gap between the cumulative score distributions of
defaulters and non-defaulters; Brier, the mean squared error of the probability; and a
calibration table of predicted against observed default rates by decile of predicted risk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import brier_score_loss, roc_auc_score  # type: ignore[import-untyped]

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_calibration_bins_max


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    applicants: int
    predicted_default_rate: float
    observed_default_rate: float


@dataclass(frozen=True, slots=True)
class CreditMetrics:
    roc_auc: float
    ks: float
    gini: float
    brier: float
    applicants: int
    defaults: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "roc_auc": self.roc_auc,
            "ks": self.ks,
            "gini": self.gini,
            "brier": self.brier,
            "applicants": self.applicants,
            "defaults": self.defaults,
        }


def kolmogorov_smirnov(
    defaulted: npt.NDArray[np.integer], probability: npt.NDArray[np.floating]
) -> float:
    """Largest distance between the score CDFs of defaulters and non-defaulters."""
    order = np.argsort(-np.asarray(probability, dtype=np.float64), kind="stable")
    ordered = np.asarray(defaulted)[order]
    scores = np.asarray(probability, dtype=np.float64)[order]
    positives = max(int(ordered.sum()), 1)
    negatives = max(len(ordered) - int(ordered.sum()), 1)
    cumulative_bad = np.cumsum(ordered) / positives
    cumulative_good = np.cumsum(1 - ordered) / negatives
    # Only compare at the ends of runs of tied scores, so ties cannot open a false gap.
    run_ends = np.append(scores[1:] != scores[:-1], True)
    value = float(np.max(np.abs(cumulative_bad - cumulative_good)[run_ends]))
    invariant(0.0 <= value <= 1.0, "KS is a distance between two CDFs")
    return value


def credit_metrics(
    defaulted: npt.NDArray[np.integer], probability: npt.NDArray[np.floating]
) -> CreditMetrics:
    invariant(len(defaulted) == len(probability), "a probability per applicant")
    invariant(0 < int(np.sum(defaulted)) < len(defaulted), "both classes present")
    invariant(bool(np.all((probability >= 0.0) & (probability <= 1.0))), "probabilities")
    auc = float(roc_auc_score(defaulted, probability))
    return CreditMetrics(
        roc_auc=auc,
        ks=kolmogorov_smirnov(defaulted, probability),
        gini=2.0 * auc - 1.0,
        brier=float(brier_score_loss(defaulted, probability)),
        applicants=len(defaulted),
        defaults=int(np.sum(defaulted)),
    )


def calibration_table(
    defaulted: npt.NDArray[np.integer],
    probability: npt.NDArray[np.floating],
    bins: int = credit_calibration_bins_max,
) -> tuple[CalibrationBin, ...]:
    """Applicants in `bins` equal-count groups by predicted probability, lowest risk first."""
    invariant(1 <= bins <= credit_calibration_bins_max, "bins within the limit")
    invariant(len(defaulted) == len(probability) and len(defaulted) >= bins, "enough rows")
    order = np.argsort(np.asarray(probability, dtype=np.float64), kind="stable")
    table = tuple(
        CalibrationBin(
            applicants=len(group),
            predicted_default_rate=float(np.mean(probability[group])),
            observed_default_rate=float(np.mean(defaulted[group])),
        )
        for group in np.array_split(order, bins)
    )
    invariant(sum(row.applicants for row in table) == len(defaulted), "every row in a bin")
    return table

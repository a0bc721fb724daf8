"""The score scale: points-to-double-the-odds, clipped to 300-850.

score = 600 + 20 / ln 2 * ln(odds / 50), with odds = (1 - PD) / PD, the odds of repaying.
So 600 points mean 50:1 odds of repaying (PD 1.96%), every 20 points double the odds, and the
score is clipped to 300..850 (PD above about 97% is 300; below about 0.03% is 850). The scale
is monotone: a higher score always means a lower probability of default.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant

score_min = 300
score_max = 850
base_score = 600
base_odds = 50.0  # odds of repaying (good:bad) at the base score
points_to_double_odds = 20.0
points_per_log_odds = points_to_double_odds / math.log(2.0)
probability_floor = 1e-9


def score_from_probability(
    probability_of_default: npt.NDArray[np.floating],
) -> npt.NDArray[np.int64]:
    """Whole points on the 300-850 scale for each probability of default."""
    probability = np.clip(
        np.asarray(probability_of_default, dtype=np.float64),
        probability_floor,
        1.0 - probability_floor,
    )
    invariant(bool(np.all(np.isfinite(probability))), "probabilities are finite")
    log_odds = np.log((1.0 - probability) / probability)
    raw = base_score + points_per_log_odds * (log_odds - math.log(base_odds))
    scores = np.clip(np.rint(raw), score_min, score_max).astype(np.int64)
    invariant(bool(np.all((scores >= score_min) & (scores <= score_max))), "on the scale")
    return scores


def probability_from_score(score: float) -> float:
    """The probability of default at the middle of a score (the inverse, before rounding)."""
    invariant(score_min <= score <= score_max, "a score on the scale")
    log_odds = (score - base_score) / points_per_log_odds + math.log(base_odds)
    return 1.0 / (1.0 + math.exp(log_odds))

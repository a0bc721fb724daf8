"""The 300-850 scale: 600 at 50:1, +20 points per doubling of the odds, clipped."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.credit.scale import (
    probability_from_score,
    score_from_probability,
    score_max,
    score_min,
)


def test_base_score_at_base_odds_and_twenty_points_to_double() -> None:
    pd_at_50_to_1 = 1.0 / 51.0
    pd_at_100_to_1 = 1.0 / 101.0
    scores = score_from_probability(np.array([pd_at_50_to_1, pd_at_100_to_1]))
    assert scores.tolist() == [600, 620]


def test_scores_are_clipped_to_the_scale_and_fall_as_risk_rises() -> None:
    probabilities = np.array([0.0, 1e-6, 0.01, 0.1, 0.5, 0.99, 1.0])
    scores = score_from_probability(probabilities)
    assert scores[0] == score_max
    assert scores[-1] == score_min
    assert np.all(np.diff(scores) <= 0)


def test_probability_from_score_inverts_the_scale() -> None:
    assert probability_from_score(600) == pytest.approx(1 / 51)
    assert score_from_probability(np.array([probability_from_score(700)]))[0] == 700

"""AUC, KS, Gini, Brier and calibration tables, against independent calculations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp  # type: ignore[import-untyped]

from hazina.credit.metrics import calibration_table, credit_metrics, kolmogorov_smirnov


def test_perfect_ranking_scores_one_and_gini_is_two_auc_minus_one() -> None:
    defaulted = np.array([0, 0, 0, 1, 1])
    probability = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    metrics = credit_metrics(defaulted, probability)
    assert metrics.roc_auc == pytest.approx(1.0)
    assert metrics.ks == pytest.approx(1.0)
    assert metrics.gini == pytest.approx(1.0)
    assert metrics.brier == pytest.approx(np.mean((probability - defaulted) ** 2))
    assert (metrics.applicants, metrics.defaults) == (5, 2)


def test_ks_matches_scipy_two_sample_statistic() -> None:
    generator = np.random.default_rng(4)
    defaulted = (generator.random(3_000) < 0.2).astype(np.int64)
    probability = np.clip(0.2 + 0.2 * defaulted + generator.normal(0, 0.15, 3_000), 0, 1)
    probability = np.round(probability, 2)  # ties must not open a false gap
    expected = ks_2samp(probability[defaulted == 1], probability[defaulted == 0]).statistic
    assert kolmogorov_smirnov(defaulted, probability) == pytest.approx(expected)


def test_calibration_table_puts_every_applicant_in_one_decile_lowest_risk_first() -> None:
    generator = np.random.default_rng(1)
    probability = generator.random(1_003)
    defaulted = (generator.random(1_003) < probability).astype(np.int64)
    table = calibration_table(defaulted, probability)
    assert len(table) == 10
    assert sum(row.applicants for row in table) == 1_003
    predicted = [row.predicted_default_rate for row in table]
    assert predicted == sorted(predicted)
    # Drawn from the probabilities themselves: observed tracks predicted.
    for row in table:
        assert abs(row.observed_default_rate - row.predicted_default_rate) < 0.12

"""Population stability index: known values, binning, and a stored profile read back."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hazina.risk.drift import (
    DriftLevel,
    DriftProfile,
    bin_proportions,
    drift_level,
    population_stability_index,
    proportion_floor,
    psi_from_proportions,
    quantile_edges,
)


def test_psi_of_known_proportions() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert psi_from_proportions([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.25 * math.log(2) + 0.25 * math.log(1.5), abs=1e-12
    )
    assert psi_from_proportions([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.2747, abs=1e-4)
    assert psi_from_proportions([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]) == 0.0
    # Symmetric in its arguments, and an empty bin is floored rather than infinite.
    assert psi_from_proportions([0.2, 0.8], [0.6, 0.4]) == pytest.approx(
        psi_from_proportions([0.6, 0.4], [0.2, 0.8])
    )
    floored = psi_from_proportions([0.5, 0.5], [0.0, 1.0])
    assert floored == pytest.approx(
        (proportion_floor - 0.5) * math.log(proportion_floor / 0.5) + 0.5 * math.log(2.0)
    )


def test_psi_of_samples_uses_reference_quantiles() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0.0, 1.0, 50_000)
    assert population_stability_index(reference, rng.normal(0.0, 1.0, 50_000)) < 0.01
    shifted = population_stability_index(reference, rng.normal(1.0, 1.0, 50_000))
    assert drift_level(shifted) is DriftLevel.significant
    edges = quantile_edges(reference, 10)
    assert len(edges) == 9
    proportions = bin_proportions(reference, edges)
    assert proportions[:-1] == pytest.approx([0.1] * 10, abs=1e-3)
    assert proportions[-1] == 0.0  # the missing-value bin


def test_missing_values_have_their_own_bin_and_levels() -> None:
    values = np.array([1.0, 2.0, math.nan, math.nan])
    proportions = bin_proportions(values, np.array([1.5]))
    assert proportions.tolist() == [0.25, 0.25, 0.5]
    assert drift_level(0.05) is DriftLevel.stable
    assert drift_level(0.1) is DriftLevel.moderate
    assert drift_level(0.3) is DriftLevel.significant


def test_profile_round_trip_and_report() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.normal(0.0, 1.0, (5_000, 3))
    matrix[::7, 2] = math.nan
    scores = rng.uniform(0.0, 1.0, 5_000)
    profile = DriftProfile.of(matrix, ["a", "b", "c"], scores)
    again = DriftProfile.from_json(json.loads(json.dumps(profile.to_json())))
    assert again == profile
    moved = matrix.copy()
    moved[:, 1] += 2.0
    report = again.report(moved, scores)
    assert report.most_shifted(1)[0][0] == "b"
    assert dict(report.feature_psi)["a"] == pytest.approx(0.0)
    assert report.score_psi == pytest.approx(0.0)
    assert report.score_level is DriftLevel.stable

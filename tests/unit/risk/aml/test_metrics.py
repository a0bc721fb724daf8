from __future__ import annotations

import pytest

from hazina.risk.aml.metrics import score


def test_precision_recall_f1_within_a_population() -> None:
    population = set(range(10))
    result = score({1, 2, 3, 42}, {1, 2, 5, 6}, population)
    assert (result.flagged, result.positives, result.true_positives) == (3, 4, 2)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(0.5)
    assert result.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    empty = score(set(), {1}, population)
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)

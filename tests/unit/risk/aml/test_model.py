"""The learned model: fits, scores accounts it has not seen, explains its alerts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hazina.risk.aml.alerts import Scenario
from hazina.risk.aml.features import FeatureMatrix, graph_features
from hazina.risk.aml.model import ModelSettings, cross_validated_scores, train_model
from tests.unit.risk.aml.graphs import HOUR, SETTINGS, graph_of

FAST = ModelSettings(trees=30, learning_rate=0.3, leaves=4, folds=3, seed=1)


def _separable(size: int = 600) -> tuple[FeatureMatrix, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = np.zeros(size, dtype=bool)
    labels[: size // 4] = True
    values = rng.normal(size=(size, 3))
    values[:, 0] += labels * 4.0
    return FeatureMatrix(np.arange(size, dtype=np.int64), ("signal", "a", "b"), values), labels


def test_cross_validated_scores_separate_a_separable_problem() -> None:
    features, labels = _separable()
    scores = cross_validated_scores(features, labels, FAST)
    assert scores.shape == labels.shape
    assert scores[labels].mean() > 0.8
    assert scores[~labels].mean() < 0.2
    again = cross_validated_scores(features, labels, FAST)
    assert np.array_equal(scores, again)  # deterministic for a seed


def test_training_needs_both_classes_and_the_same_features() -> None:
    features, labels = _separable()
    with pytest.raises(ValueError, match="both"):
        train_model(features, np.zeros_like(labels), FAST)
    model = train_model(features, labels, FAST)
    renamed = dataclasses.replace(features, names=("x", "a", "b"))
    with pytest.raises(ValueError, match="differ"):
        model.scores(renamed)
    with pytest.raises(ValueError, match="folds"):
        ModelSettings(folds=1).validate()


def test_model_alerts_name_the_features_that_raised_the_score() -> None:
    rows = [
        (k * 3 + j, 1 + k, 100 + k, 90_000, k * 10 + j * HOUR) for k in range(8) for j in (1, 2, 3)
    ]
    rows += [(1_000 + k, 200 + k, 300 + k, 12_000 + k, k * 7) for k in range(40)]
    graph = graph_of(rows)
    features = graph_features(graph, SETTINGS)
    labels = features.column("out_split_transfers") > 0
    model = train_model(features, labels, FAST)
    alerts = model.alerts(graph, features)
    assert {alert.account for alert in alerts} == {1 + k for k in range(8)}
    assert all(alert.scenario is Scenario.model for alert in alerts)
    assert "raised most by" in alerts[0].reason
    assert len(alerts[0].transaction_ids) == 3

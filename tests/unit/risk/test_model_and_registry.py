"""The fraud model (scores, path contributions against LightGBM itself, TreeSHAP) and the
registry (round trip, champion and challenger, unknown versions)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hazina.risk.drift import DriftProfile
from hazina.risk.model import FraudModel, ModelFormatError
from hazina.risk.registry import ModelRegistry, TrainingData, UnknownModelVersionError
from hazina.risk.replay import FeatureMatrix, replay
from hazina.risk.synthetic import synthetic_payments
from hazina.risk.training import ModelParameters, time_ordered_split, train_model

CREATED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained() -> tuple[FraudModel, FeatureMatrix]:
    payments = synthetic_payments(customers=150, days=30, seed=11)
    features, _engine = replay(payments, payments.feature_config())
    rows = np.arange(len(payments), dtype=np.int64)
    model = train_model(
        features,
        payments.is_fraud,
        payments.feature_config(),
        rows[: len(rows) * 3 // 4],
        ModelParameters(members=2, trees=40, threads=1),
    )
    return model, features


def test_path_contributions_add_up_to_lightgbm_raw_scores(
    trained: tuple[FraudModel, FeatureMatrix],
) -> None:
    model, features = trained
    rows = features.values[::97][:60]
    assert np.isnan(rows).any()  # missing values take LightGBM's default directions too
    expected = model.raw_scores(rows)
    for row, raw in zip(rows, expected, strict=True):
        explanation = model.explain(row.tolist(), top=5)
        assert explanation.raw_score == pytest.approx(raw, abs=1e-9)
        assert explanation.score == pytest.approx(model.score(row.tolist()), abs=1e-12)
        assert explanation.score == pytest.approx(1 / (1 + math.exp(-raw)), abs=1e-12)
        sizes = [abs(reason.contribution) for reason in explanation.reasons]
        assert sizes == sorted(sizes, reverse=True)
        probability, contributions = model.score_with_contributions(row.tolist())
        assert probability == pytest.approx(explanation.score)
        assert len(contributions) == len(model.feature_names)


def test_tree_shap_adds_up_and_batches_match_single_scores(
    trained: tuple[FraudModel, FeatureMatrix],
) -> None:
    model, features = trained
    rows = features.values[:200]
    shap = model.shap_contributions(rows)
    assert shap.shape == (200, len(model.feature_names) + 1)
    assert shap.sum(axis=1) == pytest.approx(model.raw_scores(rows), abs=1e-6)
    batch = model.score_batch(rows)
    assert batch[:20] == pytest.approx([model.score(row.tolist()) for row in rows[:20]])


def test_save_and_load_give_the_same_scores(
    trained: tuple[FraudModel, FeatureMatrix], tmp_path: Path
) -> None:
    model, features = trained
    model.save(tmp_path / "model")
    loaded = FraudModel.load(tmp_path / "model")
    assert loaded.feature_names == model.feature_names
    assert loaded.config == model.config
    rows = features.values[:300]
    assert loaded.score_batch(rows) == pytest.approx(model.score_batch(rows), abs=1e-12)
    with pytest.raises(ModelFormatError):
        FraudModel.load(tmp_path / "nothing-here")


def data_description() -> TrainingData:
    return TrainingData(
        description="synthetic card payments, seed 11",
        path="memory",
        fingerprint="0" * 64,
        payments=1_000,
        frauds=20,
        train_from_s=1,
        train_until_s=2,
        test_from_s=3,
        test_until_s=4,
    )


def test_registry_round_trip_champion_and_challenger(
    trained: tuple[FraudModel, FeatureMatrix], tmp_path: Path
) -> None:
    model, features = trained
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.versions() == ()
    assert registry.champion() is None
    profile = DriftProfile.of(features.values, features.names, model.score_batch(features.values))
    metrics = {"roc_auc": 0.9, "average_precision": 0.5, "card_precision_at_k": 0.3, "k": 100}
    first = registry.register(
        model, metrics=metrics, data=data_description(), drift=profile, created_at=CREATED
    )
    assert (first.version, first.role) == ("v0001", "champion")
    second = registry.register(
        model, metrics=metrics, data=data_description(), drift=profile, created_at=CREATED
    )
    assert (second.version, second.role) == ("v0002", "challenger")
    again = ModelRegistry(tmp_path / "registry")  # read back from disk
    assert [v.version for v in again.versions()] == ["v0001", "v0002"]
    stored = again.get("v0001")
    assert stored.metrics == metrics
    assert stored.data == data_description()
    assert stored.feature_names == model.feature_names
    assert stored.created_at == CREATED.isoformat()
    assert again.drift_profile("v0001") == profile
    scorer = again.scorer()
    assert scorer.version == "v0001"
    row = features.values[5].tolist()
    probability, contributions = scorer.score(row)
    assert probability == pytest.approx(model.score(row))
    assert len(contributions) == len(model.feature_names)
    promoted = again.promote("v0002")
    assert promoted.role == "champion"
    assert again.get("v0001").role == "retired"
    assert again.challenger() is None
    with pytest.raises(UnknownModelVersionError, match="v0009"):
        again.promote("v0009")
    with pytest.raises(UnknownModelVersionError):
        again.scorer("v0042")


def test_time_ordered_split_leaves_delay_gaps() -> None:
    day = 86_400
    timestamps = np.arange(0, 100 * day, 3_600, dtype=np.int64)
    split = time_ordered_split(timestamps, gap_s=7 * day, warm_up_s=10 * day)
    train_end = timestamps[split.train].max()
    assert timestamps[split.train].min() >= 10 * day
    assert timestamps[split.validation].min() - train_end >= 7 * day
    assert timestamps[split.test].min() - timestamps[split.validation].max() >= 7 * day
    assert timestamps[split.test].max() == timestamps[-1]

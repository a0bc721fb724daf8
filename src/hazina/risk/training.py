"""Training fraud models: time-ordered splits, LightGBM ensembles, metrics, the registry entry.

Everything is split by time, never at random: a model is trained on the past and judged on
what came after it. Between the training rows and the rows judged there is a gap of the label
delay, because labels of the last days before a model is trained are not known yet.

`train_from_dataset` is what `hazina risk train` runs: read a dataset (see `risk.data`), replay
it through the online feature engine, split it (warm-up | train | delay | validation | delay |
test), train with early stopping on the validation rows, measure ROC AUC, average precision
and card precision at 100 on the test rows, and register the model with its metrics, the data
it was trained on and the drift profile of its training population.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    risk_early_stopping_rounds_max,
    risk_ensemble_members_max,
    risk_history_window_s,
    risk_trees_max,
)
from hazina.risk.data import LabelledPayments, load_payments
from hazina.risk.drift import DriftProfile
from hazina.risk.evaluation import Metrics, assess
from hazina.risk.features.events import FeatureConfig
from hazina.risk.model import FraudModel
from hazina.risk.registry import ModelRegistry, ModelVersion, TrainingData
from hazina.risk.replay import FeatureMatrix, replay

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ModelParameters:
    """LightGBM settings, chosen on the handbook's earlier weeks (docs/risk.md), not its test."""

    trees: int = 500
    learning_rate: float = 0.02
    leaves: int = 31
    leaf_rows_min: int = 10
    row_fraction: float = 0.8
    feature_fraction: float = 0.5
    bins_max: int = 1_023  # fine bins: an amount threshold must be found to the cent
    members: int = 1  # boosters with different seeds, averaged (5 measured no better)
    seed: int = 0
    threads: int = 2

    def __post_init__(self) -> None:
        invariant(1 <= self.trees <= risk_trees_max, "trees within the limit")
        invariant(1 <= self.members <= risk_ensemble_members_max, "members within the limit")
        invariant(0.0 < self.learning_rate <= 1.0, "a learning rate in (0, 1]")
        invariant(0.0 < self.row_fraction <= 1.0, "a row fraction in (0, 1]")
        invariant(0.0 < self.feature_fraction <= 1.0, "a feature fraction in (0, 1]")
        invariant(self.leaves >= 2 and self.leaf_rows_min >= 1, "trees can split")
        invariant(self.bins_max >= 2 and self.threads >= 1, "bins and threads are positive")

    def lightgbm(self, member: int) -> dict[str, object]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.leaves,
            "min_data_in_leaf": self.leaf_rows_min,
            "bagging_fraction": self.row_fraction,
            "bagging_freq": 1,
            "feature_fraction": self.feature_fraction,
            "max_bin": self.bins_max,
            "seed": self.seed + member,
            "num_threads": self.threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def to_json(self) -> dict[str, object]:
        return {
            "trees": self.trees,
            "learning_rate": self.learning_rate,
            "leaves": self.leaves,
            "leaf_rows_min": self.leaf_rows_min,
            "row_fraction": self.row_fraction,
            "feature_fraction": self.feature_fraction,
            "bins_max": self.bins_max,
            "members": self.members,
            "seed": self.seed,
        }


def train_model(
    features: FeatureMatrix,
    labels: npt.NDArray[np.int8],
    config: FeatureConfig,
    train_rows: IndexArray,
    parameters: ModelParameters,
    validation_rows: IndexArray | None = None,
) -> FraudModel:
    """Fit `parameters.members` boosters on `train_rows`; with validation rows, each stops
    early once average precision on them has not improved for a while."""
    invariant(len(train_rows) > 0, "training needs rows")
    train_labels = labels[train_rows]
    invariant(0 < int(train_labels.sum()) < len(train_labels), "training needs both classes")
    names = list(features.names)
    train_set = lightgbm.Dataset(
        features.values[train_rows],
        label=train_labels,
        feature_name=names,
        params={"max_bin": parameters.bins_max, "verbosity": -1},
        free_raw_data=False,
    )
    validation_set = None
    if validation_rows is not None and len(validation_rows) > 0:
        validation_labels = labels[validation_rows]
        if 0 < int(validation_labels.sum()) < len(validation_labels):
            validation_set = lightgbm.Dataset(
                features.values[validation_rows],
                label=validation_labels,
                reference=train_set,
                feature_name=names,
            )
    boosters = []
    for member in range(parameters.members):
        options = parameters.lightgbm(member)
        callbacks: list[Callable[..., Any]] = []
        valid_sets = []
        if validation_set is not None:
            options = {**options, "metric": "average_precision"}
            valid_sets = [validation_set]
            callbacks = [lightgbm.early_stopping(risk_early_stopping_rounds_max, verbose=False)]
        booster = lightgbm.train(
            options,
            train_set,
            num_boost_round=parameters.trees,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        if validation_set is not None and booster.best_iteration > 0:
            booster = lightgbm.Booster(
                model_str=booster.model_to_string(num_iteration=booster.best_iteration)
            )
        boosters.append(booster)
    return FraudModel(boosters, names, config, parameters.to_json())


@dataclass(frozen=True, slots=True)
class TimeSplit:
    train: IndexArray
    validation: IndexArray
    test: IndexArray


def time_ordered_split(
    timestamps_s: npt.NDArray[np.int64],
    *,
    gap_s: int,
    warm_up_s: int,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> TimeSplit:
    """warm-up | train | gap | validation | gap | test, by time; fractions of the time after
    the warm-up. The warm-up rows (features without enough history) go in no set."""
    invariant(len(timestamps_s) > 0, "a split needs rows")
    invariant(bool(np.all(np.diff(timestamps_s) >= 0)), "rows in time order")
    invariant(validation_fraction > 0.0 and test_fraction > 0.0, "positive fractions")
    invariant(validation_fraction + test_fraction < 1.0, "room left to train")
    first = int(timestamps_s[0])
    last = int(timestamps_s[-1])
    start = first + min(warm_up_s, (last - first) // 4)
    span = last - start
    test_start = last - int(span * test_fraction)
    validation_start = test_start - gap_s - int(span * validation_fraction)
    train_end = validation_start - gap_s
    invariant(train_end > start, "the data spans more than the gaps: shorten the label delay")
    rows = np.arange(len(timestamps_s), dtype=np.int64)
    return TimeSplit(
        train=rows[(timestamps_s >= start) & (timestamps_s < train_end)],
        validation=rows[(timestamps_s >= validation_start) & (timestamps_s < test_start - gap_s)],
        test=rows[timestamps_s >= test_start],
    )


@dataclass(frozen=True, slots=True)
class TrainingReport:
    version: ModelVersion
    metrics: Metrics
    train_rows: int
    validation_rows: int
    test_rows: int
    replay_s: float
    training_s: float
    timings: dict[str, float] = field(default_factory=dict)


def train_from_dataset(
    dataset: Path,
    registry_folder: Path,
    *,
    created_at: datetime,
    parameters: ModelParameters | None = None,
    label_delay_s: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainingReport:
    """`hazina risk train`: replay, split by time, train, measure, register (as champion if the
    registry has none, else as challenger)."""
    chosen = parameters or ModelParameters()
    payments = load_payments(dataset)
    config = payments.feature_config(label_delay_s)
    started = time.perf_counter()
    features, _engine = replay(payments, config, progress=progress)
    replay_s = time.perf_counter() - started
    split = time_ordered_split(
        payments.timestamps_s, gap_s=config.label_delay_s, warm_up_s=risk_history_window_s
    )
    started = time.perf_counter()
    model = train_model(
        features, payments.is_fraud, config, split.train, chosen, validation_rows=split.validation
    )
    training_s = time.perf_counter() - started
    metrics = measure(model, features, payments, split.test)
    train_scores = model.score_batch(features.values[split.train])
    profile = DriftProfile.of(features.values[split.train], features.names, train_scores)
    data = TrainingData(
        description=payments.description,
        path=str(dataset),
        fingerprint=payments.fingerprint,
        payments=len(payments),
        frauds=int(payments.is_fraud.sum()),
        train_from_s=int(payments.timestamps_s[split.train[0]]),
        train_until_s=int(payments.timestamps_s[split.train[-1]]),
        test_from_s=int(payments.timestamps_s[split.test[0]]),
        test_until_s=int(payments.timestamps_s[split.test[-1]]),
    )
    version = ModelRegistry(registry_folder).register(
        model, metrics=metrics.to_json(), data=data, drift=profile, created_at=created_at
    )
    return TrainingReport(
        version=version,
        metrics=metrics,
        train_rows=len(split.train),
        validation_rows=len(split.validation),
        test_rows=len(split.test),
        replay_s=replay_s,
        training_s=training_s,
    )


def measure(
    model: FraudModel,
    features: FeatureMatrix,
    payments: LabelledPayments,
    rows: IndexArray,
    k: int = 100,
) -> Metrics:
    """AUC, average precision and card precision at k (cards are customers) on `rows`."""
    invariant(len(rows) > 0, "metrics need rows")
    scores = model.score_batch(features.values[rows])
    days = payments.days()[rows]
    return assess(days, payments.customers[rows], payments.is_fraud[rows], scores, k)

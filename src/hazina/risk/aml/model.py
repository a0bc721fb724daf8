"""The learned AML model: gradient-boosted trees (LightGBM) over the graph features.

`train_model` fits on labelled accounts; `cross_validated_scores` gives every account a score
from a model that never saw it (stratified k-fold over accounts), which is how the AMLSim
evaluation measures the model. Training is deterministic for a given seed and thread count.
A model's alerts explain themselves with the features that pushed the score up most
(LightGBM's per-prediction contributions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_alert_evidence_max
from hazina.risk.aml.alerts import Alert, Scenario
from hazina.risk.aml.features import FeatureMatrix, FloatArray
from hazina.risk.aml.graph import TransactionGraph

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    trees: int = 300
    learning_rate: float = 0.05
    leaves: int = 31
    row_sample: float = 0.8
    column_sample: float = 0.8
    threshold: float = 0.5  # score at or above which an account is flagged
    folds: int = 5
    seed: int = 7
    threads: int = 1  # LightGBM threads; more only pay off on an idle machine
    top_reasons: int = 3  # features named in a model alert's sentence

    def validate(self) -> ModelSettings:
        if self.trees < 1 or self.leaves < 2 or self.folds < 2 or self.threads < 1:
            raise ValueError("need trees >= 1, leaves >= 2, folds >= 2 and threads >= 1")
        if not 0.0 < self.learning_rate <= 1.0:
            raise ValueError("learning_rate must be in (0, 1]")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        if not (0.0 < self.row_sample <= 1.0 and 0.0 < self.column_sample <= 1.0):
            raise ValueError("row_sample and column_sample must be in (0, 1]")
        return self


def _classifier(settings: ModelSettings, seed: int) -> Any:
    return lightgbm.LGBMClassifier(
        n_estimators=settings.trees,
        learning_rate=settings.learning_rate,
        num_leaves=settings.leaves,
        subsample=settings.row_sample,
        subsample_freq=1,
        colsample_bytree=settings.column_sample,
        random_state=seed,
        n_jobs=settings.threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


@dataclass(frozen=True, slots=True, eq=False)
class AmlModel:
    """A fitted model and the feature names it was fitted on, in order."""

    classifier: Any
    feature_names: tuple[str, ...]
    settings: ModelSettings

    def _matrix(self, features: FeatureMatrix) -> FloatArray:
        if features.names != self.feature_names:
            raise ValueError("the features differ from those the model was trained on")
        return features.values

    def scores(self, features: FeatureMatrix) -> FloatArray:
        """Probability of laundering per account, in `features.accounts` order."""
        matrix = self._matrix(features)
        if matrix.shape[0] == 0:
            return np.zeros(0)
        scores: FloatArray = self.classifier.predict_proba(matrix)[:, 1].astype(np.float64)
        return scores

    def alerts(self, graph: TransactionGraph, features: FeatureMatrix) -> list[Alert]:
        """One alert per account scoring at or above the threshold, naming the features that
        raised its score most; the evidence is the account's latest transactions."""
        invariant(bool(np.array_equal(graph.accounts, features.accounts)), "same accounts")
        scores = self.scores(features)
        flagged = np.flatnonzero(scores >= self.settings.threshold)
        if flagged.size == 0:
            return []
        contributions = self.classifier.predict(features.values[flagged], pred_contrib=True)
        alerts = []
        for row, index in enumerate(flagged.tolist()):
            top = np.argsort(-contributions[row, :-1])[: self.settings.top_reasons]
            named = ", ".join(self.feature_names[k] for k in top.tolist())
            positions = np.concatenate((graph.outgoing(index), graph.incoming(index)))
            latest = np.sort(positions)[-aml_alert_evidence_max:]
            counterparties = sorted(
                int(graph.accounts[i]) for i in graph.counterparties(index).tolist()
            )
            alerts.append(
                Alert(
                    scenario=Scenario.model,
                    account=int(graph.accounts[index]),
                    transaction_ids=graph.ids_of(latest.tolist()),
                    counterparties=tuple(counterparties),
                    reason=(
                        f"Model score {scores[index]:.2f} is at or above "
                        f"{self.settings.threshold:.2f}; raised most by {named}."
                    ),
                )
            )
        return alerts


def train_model(features: FeatureMatrix, labels: BoolArray, settings: ModelSettings) -> AmlModel:
    """Fit on every labelled account; `labels[i]` says whether account i launders."""
    settings.validate()
    invariant(labels.shape == (features.values.shape[0],), "one label per account")
    if labels.all() or not labels.any():
        raise ValueError("training needs both laundering and other accounts")
    classifier = _classifier(settings, settings.seed)
    classifier.fit(features.values, labels.astype(np.int64))
    return AmlModel(classifier, features.names, settings)


def cross_validated_scores(
    features: FeatureMatrix, labels: BoolArray, settings: ModelSettings
) -> FloatArray:
    """Every account's score from a model trained on the other folds (stratified by label)."""
    settings.validate()
    invariant(labels.shape == (features.values.shape[0],), "one label per account")
    positives = int(labels.sum())
    if positives < settings.folds or labels.size - positives < settings.folds:
        raise ValueError(f"each class needs at least {settings.folds} accounts")
    scores = np.full(labels.size, np.nan)
    splitter = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=settings.seed)
    for fold, (train, test) in enumerate(splitter.split(features.values, labels)):
        classifier = _classifier(settings, settings.seed + fold)
        classifier.fit(features.values[train], labels[train].astype(np.int64))
        scores[test] = classifier.predict_proba(features.values[test])[:, 1]
    invariant(bool(np.all(np.isfinite(scores))), "every account is scored exactly once")
    return scores

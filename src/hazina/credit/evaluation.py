"""Stated splits: a stratified 20% hold-out, and stratified 5-fold CV on the other 80%.

The hold-out rows are chosen once per seed and never seen in training or model choice; the
cross-validation runs on the remaining 80% (the development rows), each fold's model trained
on four fifths of them and scored on the fifth. Reported: per-fold and mean +- sd metrics, the
hold-out metrics of a model trained on all development rows, and the hold-out calibration table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import (  # type: ignore[import-untyped]
    StratifiedKFold,
    train_test_split,
)

from hazina.credit.data import CreditDataset, take_rows
from hazina.credit.families import fit
from hazina.credit.metrics import CalibrationBin, CreditMetrics, calibration_table, credit_metrics
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_cv_folds_max

holdout_share = 0.2
default_folds = 5


@dataclass(frozen=True, slots=True)
class Split:
    development: npt.NDArray[np.intp]
    holdout: npt.NDArray[np.intp]


def holdout_split(target: npt.NDArray[np.int8], seed: int, share: float = holdout_share) -> Split:
    rows = np.arange(len(target))
    development, holdout = train_test_split(
        rows, test_size=share, stratify=target, random_state=seed
    )
    split = Split(np.sort(development), np.sort(holdout))
    invariant(len(np.intersect1d(split.development, split.holdout)) == 0, "disjoint rows")
    invariant(len(split.development) + len(split.holdout) == len(target), "every row used")
    return split


@dataclass(frozen=True, slots=True)
class FamilyEvaluation:
    dataset: str
    family: str
    folds: tuple[CreditMetrics, ...]
    holdout: CreditMetrics
    calibration: tuple[CalibrationBin, ...]
    holdout_probability: npt.NDArray[np.float64]
    holdout_target: npt.NDArray[np.int8]
    seconds: float

    def fold_mean(self, metric: str) -> tuple[float, float]:
        if not self.folds:
            return float("nan"), float("nan")
        values = np.array([getattr(fold, metric) for fold in self.folds], dtype=np.float64)
        spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        return float(values.mean()), spread

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "family": self.family,
            "cv_folds": [fold.to_json() for fold in self.folds],
            "cv_mean": {
                metric: self.fold_mean(metric)[0] for metric in ("roc_auc", "ks", "gini", "brier")
            },
            "holdout": self.holdout.to_json(),
            "calibration": [
                {
                    "applicants": row.applicants,
                    "predicted": row.predicted_default_rate,
                    "observed": row.observed_default_rate,
                }
                for row in self.calibration
            ],
            "seconds": self.seconds,
        }


def evaluate_family(
    dataset: CreditDataset, family: str, *, folds: int = default_folds, seed: int = 0
) -> FamilyEvaluation:
    invariant(0 <= folds <= credit_cv_folds_max and folds != 1, "no CV or 2.. folds")
    started = time.perf_counter()
    split = holdout_split(dataset.target, seed)
    development = take_rows(dataset, split.development)
    fold_metrics: list[CreditMetrics] = []
    if folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train_rows, test_rows in splitter.split(development.features, development.target):
            model = fit(family, take_rows(development, train_rows), seed)
            test = take_rows(development, test_rows)
            fold_metrics.append(
                credit_metrics(test.target, model.probability_of_default(test.features))
            )
    model = fit(family, development, seed)
    holdout = take_rows(dataset, split.holdout)
    probability = model.probability_of_default(holdout.features)
    result = FamilyEvaluation(
        dataset=dataset.name,
        family=family,
        folds=tuple(fold_metrics),
        holdout=credit_metrics(holdout.target, probability),
        calibration=calibration_table(holdout.target, probability),
        holdout_probability=probability,
        holdout_target=holdout.target,
        seconds=time.perf_counter() - started,
    )
    invariant(len(result.folds) == folds, "a result per fold")
    return result


def markdown_table(evaluations: list[FamilyEvaluation]) -> str:
    lines = [
        "| dataset | model | CV AUC (mean +- sd) | CV KS | hold-out AUC | KS | Gini | Brier | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for evaluation in evaluations:
        auc, auc_sd = evaluation.fold_mean("roc_auc")
        ks, _ = evaluation.fold_mean("ks")
        cv = f"{auc:.4f} +- {auc_sd:.4f}" if evaluation.folds else "-"
        cv_ks = f"{ks:.4f}" if evaluation.folds else "-"
        holdout = evaluation.holdout
        lines.append(
            f"| {evaluation.dataset} | {evaluation.family} | {cv} | {cv_ks} "
            f"| {holdout.roc_auc:.4f} | {holdout.ks:.4f} | {holdout.gini:.4f} "
            f"| {holdout.brier:.4f} | {evaluation.seconds:.0f} |"
        )
    return "\n".join(lines)


def calibration_markdown(evaluation: FamilyEvaluation) -> str:
    lines = [
        f"{evaluation.dataset} / {evaluation.family} (hold-out, deciles of predicted PD)",
        "",
        "| decile | applicants | predicted PD | observed default rate |",
        "|---|---|---|---|",
    ]
    for index, row in enumerate(evaluation.calibration, start=1):
        lines.append(
            f"| {index} | {row.applicants} | {row.predicted_default_rate:.4f} "
            f"| {row.observed_default_rate:.4f} |"
        )
    return "\n".join(lines)

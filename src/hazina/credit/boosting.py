"""Gradient boosting (LightGBM) with monotonic constraints where the data says which way.

A numeric feature gets a monotone constraint when its rank correlation with default on the
training rows is clear (|Spearman rho| >= `monotone_correlation_min`): more days past due may
only raise the probability of default, more income only lower it, whatever a few trees think.
Special codes become missing values (LightGBM sends missing values down a learned side of every
split), categorical features are LightGBM categories. An eighth of the training rows is held
aside to stop boosting when the validation log-loss stops improving; the model is then refitted
on all training rows for that many rounds. The log-loss objective gives probabilities that the
evaluation's calibration tables check. Reasons are the features whose SHAP contributions
(LightGBM's `pred_contrib`) raised the applicant's log-odds of default the most, in points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

from hazina.credit.data import CreditDataset
from hazina.credit.model import Reason, reasons_from
from hazina.credit.scale import points_per_log_odds
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_early_stopping_rounds_max, credit_trees_max

family = "boosting"
monotone_correlation_min = 0.03
monotone_shape_min = 0.9
monotone_bins = 10
validation_share = 0.125
learning_rate = 0.02


def model_frame(features: Any, names: tuple[str, ...], special_codes: tuple[float, ...]) -> Any:
    frame = features[list(names)].copy()
    if special_codes:
        for name in names:
            if frame[name].dtype == np.float64:
                frame.loc[frame[name].isin(special_codes), name] = np.nan
    return frame


def binned_default_rates(
    values: npt.NDArray[np.float64], target: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64]:
    """Default rate in each of up to `monotone_bins` quantile bins of the feature, in order."""
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, monotone_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, values, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    defaults = np.bincount(bins, weights=target, minlength=len(edges) + 1)
    present = counts > 0
    return np.asarray(defaults[present] / counts[present], dtype=np.float64)


def monotone_directions(frame: Any, target: npt.NDArray[np.int8]) -> list[int]:
    """+1 where default rises with a feature, -1 where it falls, 0 where it does not move one
    way (a U shape, such as the number of open credit lines) or the feature is categorical.

    A feature is constrained when its rank correlation with default is clear
    (|rho| >= `monotone_correlation_min`) and its default rate across quantile bins moves the
    same way almost everywhere (rank correlation of bin order and rate >= `monotone_shape_min`).
    """
    directions: list[int] = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype != np.float64:
            directions.append(0)
            continue
        present = column.notna().to_numpy()
        values = column.to_numpy(dtype=np.float64)[present]
        if len(values) < 10 or len(np.unique(values)) < 2:
            directions.append(0)
            continue
        rho = float(spearmanr(values, target[present]).statistic)
        rates = binned_default_rates(values, target[present])
        shape = float(spearmanr(np.arange(len(rates)), rates).statistic) if len(rates) > 2 else rho
        clear = abs(rho) >= monotone_correlation_min
        monotone = np.sign(shape) == np.sign(rho) and abs(shape) >= monotone_shape_min
        directions.append(int(np.sign(rho)) if clear and monotone else 0)
    invariant(len(directions) == frame.shape[1], "a direction per feature")
    return directions


def parameters(rows: int, directions: list[int], seed: int) -> dict[str, Any]:
    return {
        "objective": "binary",
        "learning_rate": learning_rate,
        "num_leaves": 15,
        "min_child_samples": max(10, min(200, rows // 200)),
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 5.0,
        "min_split_gain": 0.0,
        "monotone_constraints": directions,
        "monotone_constraints_method": "advanced",
        "cat_smooth": 20.0,
        "min_data_per_group": 50,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,  # OpenMP threads spin when the machine is busy: 15x slower
        "verbosity": -1,
    }


@dataclass(slots=True)
class BoostingModel:
    feature_names: tuple[str, ...]
    special_codes: tuple[float, ...]
    booster: lightgbm.Booster
    directions: tuple[int, ...]
    categories: dict[str, list[str]]  # training categories, so scoring codes them the same
    family: str = family

    def frame(self, features: Any) -> Any:
        frame = model_frame(features, self.feature_names, self.special_codes)
        for name, categories in self.categories.items():
            frame[name] = frame[name].astype(str).astype("category")
            frame[name] = frame[name].cat.set_categories(categories)
        return frame

    def probability_of_default(self, features: Any) -> npt.NDArray[np.float64]:
        probability = np.asarray(self.booster.predict(self.frame(features)), dtype=np.float64)
        invariant(len(probability) == len(features), "a probability per applicant")
        return probability

    def points_lost(self, features: Any) -> npt.NDArray[np.float64]:
        """Per applicant and feature: its SHAP contribution to the log-odds of default, in
        points (negative where the feature helped)."""
        contributions = np.asarray(
            self.booster.predict(self.frame(features), pred_contrib=True), dtype=np.float64
        )
        invariant(contributions.shape[1] == len(self.feature_names) + 1, "one per feature + bias")
        return contributions[:, :-1] * points_per_log_odds

    def reasons(self, features: Any, count: int) -> list[tuple[Reason, ...]]:
        return reasons_from(self.feature_names, features, self.points_lost(features), count)

    def describe(self) -> list[dict[str, object]]:
        gains = self.booster.feature_importance(importance_type="gain")
        return [
            {"feature": name, "monotone": direction, "gain": float(gain)}
            for name, direction, gain in zip(
                self.feature_names, self.directions, gains, strict=True
            )
        ]


def fit(dataset: CreditDataset, seed: int = 0) -> BoostingModel:
    names = dataset.feature_names
    frame = model_frame(dataset.features, names, dataset.special_codes)
    categories = {
        name: [str(value) for value in frame[name].cat.categories]
        for name in dataset.categorical_names
    }
    directions = monotone_directions(frame, dataset.target)
    settings = parameters(len(frame), directions, seed)
    rows = np.arange(len(frame))
    fit_rows, validation_rows = train_test_split(
        rows, test_size=validation_share, stratify=dataset.target, random_state=seed
    )
    trial = lightgbm.train(
        settings,
        lightgbm.Dataset(frame.iloc[fit_rows], dataset.target[fit_rows]),
        num_boost_round=credit_trees_max,
        valid_sets=[lightgbm.Dataset(frame.iloc[validation_rows], dataset.target[validation_rows])],
        callbacks=[lightgbm.early_stopping(credit_early_stopping_rounds_max, verbose=False)],
    )
    rounds = max(1, int(trial.best_iteration * (1.0 + validation_share)))
    booster = lightgbm.train(
        settings, lightgbm.Dataset(frame, dataset.target), num_boost_round=rounds
    )
    model = BoostingModel(
        feature_names=names,
        special_codes=dataset.special_codes,
        booster=booster,
        directions=tuple(directions),
        categories=categories,
    )
    invariant(1 <= booster.num_trees() <= rounds, "at most the chosen number of rounds")
    return model

"""The points scorecard: optimal binning, weight of evidence, logistic regression.

Each feature is cut into bins by `optbinning` (mixed-integer optimal binning with the event
rate monotone across numeric bins where that fits the data, special codes and missing values
in bins of their own), each bin replaced by its weight of evidence (WoE), and a logistic
regression fitted on the WoE. The model's log-odds are a sum of one term per feature, so each
applicant's score is a sum of points per feature; the reasons are the features whose points
fell furthest below the best that feature can give.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from optbinning import BinningProcess  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from hazina.credit.data import CreditDataError, CreditDataset
from hazina.credit.model import Reason, reasons_from
from hazina.credit.scale import points_per_log_odds
from hazina.kernel.invariant import invariant

family = "scorecard"
regularisation_strength = 1.0  # inverse L2 strength of the logistic regression (sklearn's C)
logistic_iterations_max = 1_000


@contextmanager
def quiet_binning() -> Iterator[None]:
    """optbinning 1.0 builds its binning tables in a way pandas 3 deprecates (a float column
    given text) and its summary with `inplace=True` renames, which pandas 3.1 deprecates;
    the results are right, the warnings are not ours to fix, so they are silenced here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Setting an item of incompatible dtype", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame")
        yield


def binning_table_frame(frame: Any, categorical: tuple[str, ...]) -> Any:
    """Categorical columns as plain strings, which is what optbinning expects."""
    prepared = frame.copy()
    for name in categorical:
        if name in prepared.columns:
            prepared[name] = prepared[name].astype(str)
    return prepared


@dataclass(slots=True)
class ScorecardModel:
    feature_names: tuple[str, ...]
    categorical_names: tuple[str, ...]
    binning: Any  # optbinning.BinningProcess, fitted
    regression: Any  # sklearn LogisticRegression, fitted on the WoE
    best_points: npt.NDArray[np.float64]  # per feature: the most points any of its bins gives
    # The features that were binned: those with at least one value that is neither missing nor
    # a special code in the training rows. The others (every applicant's bill interval
    # undefined, say) say nothing; their weight of evidence is 0 for everyone. () means all.
    binned_names: tuple[str, ...] = ()
    family: str = family

    def weights_of_evidence(self, features: Any) -> npt.NDArray[np.float64]:
        binned = list(self.binned_names or self.feature_names)
        with quiet_binning():
            woe = self.binning.transform(
                binning_table_frame(features[binned], self.categorical_names),
                metric="woe",
                metric_special="empirical",
                metric_missing="empirical",
            )
        if len(binned) == len(self.feature_names):
            return np.asarray(woe, dtype=np.float64)
        full = np.zeros((len(features), len(self.feature_names)), dtype=np.float64)
        full[:, [self.feature_names.index(name) for name in binned]] = np.asarray(woe)
        return full

    def points(self, features: Any) -> npt.NDArray[np.float64]:
        """Points each feature gives each applicant (higher is safer)."""
        coefficients = np.asarray(self.regression.coef_[0], dtype=np.float64)
        return -points_per_log_odds * self.weights_of_evidence(features) * coefficients

    def probability_of_default(self, features: Any) -> npt.NDArray[np.float64]:
        probability = self.regression.predict_proba(self.weights_of_evidence(features))[:, 1]
        result = np.asarray(probability, dtype=np.float64)
        invariant(len(result) == len(features), "a probability per applicant")
        return result

    def points_lost(self, features: Any) -> npt.NDArray[np.float64]:
        """Per applicant and feature: points below the best that feature gives."""
        lost = self.best_points[np.newaxis, :] - self.points(features)
        invariant(bool(np.all(lost >= -1e-6)), "no bin gives more than the best")
        return lost

    def reasons(self, features: Any, count: int) -> list[tuple[Reason, ...]]:
        return reasons_from(self.feature_names, features, self.points_lost(features), count)

    def describe(self) -> list[dict[str, object]]:
        """Per feature: its coefficient and information value, for the model's record."""
        with quiet_binning():
            summary = self.binning.summary()
        information_value = dict(zip(summary["name"], summary["iv"], strict=True))
        return [
            {
                "feature": name,
                "coefficient": float(coefficient),
                "information_value": float(information_value.get(name, 0.0)),
            }
            for name, coefficient in zip(self.feature_names, self.regression.coef_[0], strict=True)
        ]


def has_values(column: Any, special_codes: tuple[float, ...]) -> bool:
    """Whether a column has any value that is neither missing nor a special code."""
    present = column.notna()
    if special_codes and column.dtype == np.float64:
        present &= ~column.isin(special_codes)
    return bool(present.any())


def fit(dataset: CreditDataset, seed: int = 0) -> ScorecardModel:
    names = dataset.feature_names
    categorical = dataset.categorical_names
    binned = tuple(
        name for name in names if has_values(dataset.features[name], dataset.special_codes)
    )
    if not binned:
        raise CreditDataError("no feature has a value: nothing to bin")
    binning = BinningProcess(
        variable_names=list(binned),
        categorical_variables=[name for name in categorical if name in binned] or None,
        special_codes=list(dataset.special_codes) or None,
        max_n_prebins=20,
        min_prebin_size=0.02,
        binning_fit_params={
            name: {"monotonic_trend": "auto_asc_desc"} for name in binned if name not in categorical
        },
    )
    model = ScorecardModel(
        feature_names=names,
        categorical_names=categorical,
        binning=binning,
        regression=LogisticRegression(
            C=regularisation_strength, max_iter=logistic_iterations_max, random_state=seed
        ),
        best_points=np.zeros(len(names), dtype=np.float64),
        binned_names=binned,
    )
    with quiet_binning():
        binning.fit(
            binning_table_frame(dataset.features[list(binned)], categorical), dataset.target
        )
    woe = model.weights_of_evidence(dataset.features)
    model.regression.fit(woe, dataset.target)
    coefficients = np.asarray(model.regression.coef_[0], dtype=np.float64)
    model.best_points = (-points_per_log_odds * woe * coefficients).max(axis=0)
    invariant(len(model.best_points) == len(names), "a best per feature")
    return model

"""Population stability index (PSI): has what the model sees moved since it was trained?

PSI = sum over bins of (actual - expected) * ln(actual / expected), with bin proportions of a
reference population (training) and a current one. Bins are quantiles of the reference, so
each holds about the same share of it; missing values (NaN) get a bin of their own. Empty bins
are floored at `proportion_floor` so the logarithm stays finite. Usual reading: below 0.1
stable, 0.1 to 0.25 a moderate shift worth watching, above 0.25 a significant shift (retrain).

A `DriftProfile` keeps only the reference's bin edges and proportions, so drift can be measured
later from a model's registry entry without its training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_drift_bins_max

proportion_floor = 1e-4
moderate_shift_psi = 0.1
significant_shift_psi = 0.25


class DriftProfileError(ValueError):
    """A stored drift profile that cannot be read back."""


class DriftLevel(StrEnum):
    stable = "stable"
    moderate = "moderate"
    significant = "significant"


def drift_level(psi: float) -> DriftLevel:
    if psi < moderate_shift_psi:
        return DriftLevel.stable
    if psi < significant_shift_psi:
        return DriftLevel.moderate
    return DriftLevel.significant


def psi_from_proportions(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of two distributions over the same bins (each summing to one)."""
    invariant(len(expected) == len(actual) and len(expected) >= 1, "the same bins on each side")
    expected_array = np.maximum(np.asarray(expected, dtype=np.float64), proportion_floor)
    actual_array = np.maximum(np.asarray(actual, dtype=np.float64), proportion_floor)
    invariant(bool(np.all(np.isfinite(expected_array))), "proportions are finite")
    value = float(np.sum((actual_array - expected_array) * np.log(actual_array / expected_array)))
    invariant(value >= -1e-12, "PSI is never negative")
    return max(value, 0.0)


def quantile_edges(reference: npt.NDArray[np.floating], bins: int) -> npt.NDArray[np.float64]:
    """Interior edges splitting the reference's non-missing values into `bins` quantile bins
    (fewer when values repeat)."""
    invariant(1 <= bins <= risk_drift_bins_max, "bins within the limit")
    present = np.asarray(reference, dtype=np.float64)
    present = present[~np.isnan(present)]
    if len(present) == 0:
        return np.empty(0, dtype=np.float64)
    quantiles = np.quantile(present, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(quantiles)


def bin_proportions(
    values: npt.NDArray[np.floating], edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Share of `values` in each bin `(-inf, e0], (e0, e1], ..., (e_last, inf)`, then NaN."""
    array = np.asarray(values, dtype=np.float64)
    invariant(len(array) > 0, "proportions of an empty population are undefined")
    missing = np.isnan(array)
    indexes = np.searchsorted(edges, array[~missing], side="left")
    counts = np.bincount(indexes, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, float(missing.sum()))
    return counts / len(array)


def population_stability_index(
    reference: npt.NDArray[np.floating],
    current: npt.NDArray[np.floating],
    bins: int = risk_drift_bins_max,
) -> float:
    """PSI of `current` against `reference`, over quantile bins of the reference."""
    edges = quantile_edges(reference, bins)
    return psi_from_proportions(
        bin_proportions(reference, edges).tolist(), bin_proportions(current, edges).tolist()
    )


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    edges: tuple[float, ...]
    proportions: tuple[float, ...]

    def psi(self, current: npt.NDArray[np.floating]) -> float:
        edges = np.asarray(self.edges, dtype=np.float64)
        return psi_from_proportions(self.proportions, bin_proportions(current, edges).tolist())

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "edges": list(self.edges), "proportions": list(self.proportions)}

    @classmethod
    def from_json(cls, data: object) -> ColumnProfile:
        if not isinstance(data, dict):
            raise DriftProfileError("a stored column profile is an object")
        edges = data.get("edges")
        proportions = data.get("proportions")
        if not isinstance(edges, list) or not isinstance(proportions, list):
            raise DriftProfileError("a stored column profile has lists of edges and proportions")
        if len(proportions) != len(edges) + 2:
            raise DriftProfileError("a column profile has a bin per edge, one more and NaN")
        return cls(
            name=str(data.get("name")),
            edges=tuple(float(edge) for edge in edges),
            proportions=tuple(float(share) for share in proportions),
        )


def profile_column(
    name: str, reference: npt.NDArray[np.floating], bins: int = risk_drift_bins_max
) -> ColumnProfile:
    edges = quantile_edges(reference, bins)
    proportions = bin_proportions(reference, edges)
    return ColumnProfile(name, tuple(edges.tolist()), tuple(proportions.tolist()))


@dataclass(frozen=True, slots=True)
class DriftProfile:
    """The reference distributions of a model's features and of its scores."""

    features: tuple[ColumnProfile, ...]
    score: ColumnProfile

    @classmethod
    def of(
        cls,
        matrix: npt.NDArray[np.floating],
        names: Sequence[str],
        scores: npt.NDArray[np.floating],
        bins: int = risk_drift_bins_max,
    ) -> DriftProfile:
        invariant(matrix.shape[1] == len(names), "one name per column")
        features = tuple(
            profile_column(name, matrix[:, index], bins) for index, name in enumerate(names)
        )
        return cls(features=features, score=profile_column("score", scores, bins))

    def report(
        self, matrix: npt.NDArray[np.floating], scores: npt.NDArray[np.floating]
    ) -> DriftReport:
        invariant(matrix.shape[1] == len(self.features), "the profile's columns")
        feature_psi = tuple(
            (column.name, column.psi(matrix[:, index]))
            for index, column in enumerate(self.features)
        )
        return DriftReport(feature_psi=feature_psi, score_psi=self.score.psi(scores))

    def to_json(self) -> dict[str, object]:
        return {
            "features": [column.to_json() for column in self.features],
            "score": self.score.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> DriftProfile:
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise DriftProfileError("a stored drift profile has a list of feature profiles")
        return cls(
            features=tuple(ColumnProfile.from_json(column) for column in data["features"]),
            score=ColumnProfile.from_json(data.get("score")),
        )


@dataclass(frozen=True, slots=True)
class DriftReport:
    feature_psi: tuple[tuple[str, float], ...]
    score_psi: float

    @property
    def score_level(self) -> DriftLevel:
        return drift_level(self.score_psi)

    def most_shifted(self, count: int = 5) -> tuple[tuple[str, float], ...]:
        return tuple(sorted(self.feature_psi, key=lambda item: -item[1])[:count])

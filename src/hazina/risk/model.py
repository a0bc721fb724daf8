"""A trained fraud model: gradient-boosted trees over the online features, and its reasons.

A `FraudModel` is an ensemble of LightGBM boosters trained with different seeds; its score is
the logistic of their mean raw score (log-odds), so per-feature contributions add up exactly:
`bias + sum(contributions) == raw score`.

Two kinds of contributions:
- `explain` (the payment path): each tree's path from root to leaf credits the split feature
  of every node with the change in the node's expected value (Saabas' path attribution). The
  trees are compiled once into flat arrays and walked for all trees at once with numpy, so a
  decision with its reasons stays well inside the scoring budget.
- `shap_contributions` (analysts, batches): LightGBM's exact TreeSHAP (`pred_contrib=True`).

Features are rounded to float32 before scoring, as the training matrix was, so a value on a
split threshold goes the same way in training and in production.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_top_reasons_max
from hazina.risk.features.events import FeatureConfig

FloatArray = npt.NDArray[np.float64]
model_format_version = 1


class ModelFormatError(ValueError):
    """A model directory that is missing files or was written in another format."""


@dataclass(frozen=True, slots=True)
class FeatureContribution:
    """One feature's push on a decision, in log-odds: positive raises the fraud score."""

    feature: str
    value: float
    contribution: float

    def to_json(self) -> dict[str, object]:
        value = None if math.isnan(self.value) else self.value
        return {"feature": self.feature, "value": value, "contribution": self.contribution}


@dataclass(frozen=True, slots=True)
class Explanation:
    score: float  # probability of fraud, 0..1
    raw_score: float  # log-odds
    reasons: tuple[FeatureContribution, ...]


class _CompiledTrees:
    """Every tree of every member as flat node arrays (children index the same arrays)."""

    __slots__ = (
        "bias",
        "feature",
        "inner_roots",
        "is_leaf",
        "left",
        "missing_left",
        "right",
        "roots",
        "threshold",
        "value",
        "weight",
    )

    def __init__(self, boosters: Sequence[lightgbm.Booster]) -> None:
        features: list[int] = []
        thresholds: list[float] = []
        lefts: list[int] = []
        rights: list[int] = []
        values: list[float] = []
        leaves: list[bool] = []
        default_lefts: list[bool] = []
        missing_nans: list[bool] = []
        missing_zeros: list[bool] = []
        roots: list[int] = []

        def add(node: dict[str, Any]) -> int:
            index = len(features)
            features.append(0)
            thresholds.append(0.0)
            lefts.append(index)
            rights.append(index)
            leaves.append("leaf_value" in node)
            default_lefts.append(bool(node.get("default_left", True)))
            missing = node.get("missing_type", "None")
            missing_nans.append(missing == "NaN")
            missing_zeros.append(missing == "Zero")
            if "leaf_value" in node:
                values.append(float(node["leaf_value"]))
                return index
            invariant(node.get("decision_type") == "<=", "only numerical splits are compiled")
            values.append(float(node.get("internal_value", 0.0)))
            features[index] = int(node["split_feature"])
            thresholds[index] = float(node["threshold"])
            lefts[index] = add(node["left_child"])
            rights[index] = add(node["right_child"])
            return index

        for booster in boosters:
            for tree in booster.dump_model()["tree_info"]:
                roots.append(add(tree["tree_structure"]))
        self.feature = np.asarray(features, dtype=np.int64)
        self.threshold = np.asarray(thresholds, dtype=np.float64)
        self.left = np.asarray(lefts, dtype=np.int64)
        self.right = np.asarray(rights, dtype=np.int64)
        self.value = np.asarray(values, dtype=np.float64)
        self.is_leaf = np.asarray(leaves, dtype=bool)
        invariant(not any(missing_zeros), "models trained with zero_as_missing are not compiled")
        # Where NaN goes: the default side on missing-as-NaN splits; otherwise LightGBM reads
        # NaN as zero and compares it with the threshold.
        self.missing_left = np.where(
            np.asarray(missing_nans, dtype=bool),
            np.asarray(default_lefts, dtype=bool),
            self.threshold >= 0.0,
        )
        self.roots = np.asarray(roots, dtype=np.int64)
        self.inner_roots = self.roots[~self.is_leaf[self.roots]]
        self.weight = 1.0 / len(boosters)  # the ensemble averages its members' raw scores
        self.bias = float(self.value[self.roots].sum()) * self.weight

    def contributions(self, row: FloatArray, feature_count: int) -> FloatArray:
        """Per-feature path attributions of one row; their sum plus `bias` is the raw score.

        All trees advance one level per step, so the work is a few numpy calls per level of
        the deepest tree, whatever the number of trees."""
        features_seen = []
        deltas_seen = []
        nodes = self.inner_roots
        feature = self.feature
        threshold = self.threshold
        value = self.value
        while len(nodes):
            features = feature[nodes]
            values = row[features]
            go_left = values <= threshold[nodes]
            missing = np.isnan(values)
            if missing.any():
                go_left[missing] = self.missing_left[nodes[missing]]
            children = np.where(go_left, self.left[nodes], self.right[nodes])
            features_seen.append(features)
            deltas_seen.append(value[children] - value[nodes])
            nodes = children[~self.is_leaf[children]]
        if not features_seen:
            return np.zeros(feature_count, dtype=np.float64)
        totals = np.bincount(
            np.concatenate(features_seen),
            weights=np.concatenate(deltas_seen),
            minlength=feature_count,
        )
        return np.asarray(totals * self.weight, dtype=np.float64)


class FraudModel:
    """LightGBM boosters over `feature_names`, computed by the engine configured as `config`."""

    def __init__(
        self,
        boosters: Sequence[lightgbm.Booster],
        feature_names: Sequence[str],
        config: FeatureConfig,
        parameters: dict[str, object] | None = None,
    ) -> None:
        invariant(len(boosters) >= 1, "a model has at least one booster")
        for booster in boosters:
            invariant(
                list(booster.feature_name()) == list(feature_names),
                "every booster was trained on the model's features, in order",
            )
        self.boosters = tuple(boosters)
        self.feature_names = tuple(feature_names)
        self.config = config
        self.parameters = dict(parameters or {})
        self._trees = _CompiledTrees(self.boosters)

    def _row(self, values: Sequence[float]) -> FloatArray:
        invariant(len(values) == len(self.feature_names), "one value per model feature")
        return np.asarray(values, dtype=np.float32).astype(np.float64)

    def raw_scores(self, matrix: npt.NDArray[np.floating]) -> FloatArray:
        """Mean log-odds of the members for each row."""
        invariant(matrix.ndim == 2, "a matrix of rows")
        invariant(matrix.shape[1] == len(self.feature_names), "one column per model feature")
        rows = np.asarray(matrix, dtype=np.float32)
        total = np.zeros(len(rows), dtype=np.float64)
        for booster in self.boosters:
            total += booster.predict(rows, raw_score=True)
        return total / len(self.boosters)

    def score_batch(self, matrix: npt.NDArray[np.floating]) -> FloatArray:
        """Fraud probabilities for many payments."""
        return 1.0 / (1.0 + np.exp(-self.raw_scores(matrix)))

    def score(self, values: Sequence[float]) -> float:
        """The fraud probability of one payment."""
        row = self._row(values).reshape(1, -1)
        total = 0.0
        for booster in self.boosters:
            total += float(booster.predict(row, raw_score=True, num_threads=1)[0])
        return _logistic(total / len(self.boosters))

    def explain(self, values: Sequence[float], top: int = risk_top_reasons_max) -> Explanation:
        """Score one payment and name the features that pushed it most, either way."""
        invariant(1 <= top <= len(self.feature_names), "top reasons within the features")
        row = self._row(values)
        contributions = self._trees.contributions(row, len(self.feature_names))
        raw = self._trees.bias + float(contributions.sum())
        order = np.argsort(-np.abs(contributions), kind="stable")[:top]
        reasons = tuple(
            FeatureContribution(
                self.feature_names[index], float(row[index]), float(contributions[index])
            )
            for index in order.tolist()
        )
        return Explanation(score=_logistic(raw), raw_score=raw, reasons=reasons)

    def score_with_contributions(self, values: Sequence[float]) -> tuple[float, FloatArray]:
        """The fraud probability and every feature's path contribution (log-odds), in the
        order of `feature_names`: what the payment path stores as a decision's reasons."""
        row = self._row(values)
        contributions = self._trees.contributions(row, len(self.feature_names))
        return _logistic(self._trees.bias + float(contributions.sum())), contributions

    def shap_contributions(self, matrix: npt.NDArray[np.floating]) -> FloatArray:
        """Exact TreeSHAP values per row and feature, plus a last column: the expected value."""
        rows = np.asarray(matrix, dtype=np.float32)
        total = np.zeros((len(rows), len(self.feature_names) + 1), dtype=np.float64)
        for booster in self.boosters:
            total += booster.predict(rows, pred_contrib=True)
        return total / len(self.boosters)

    def save(self, folder: Path) -> None:
        """Write `model.json` and one `member_<n>.txt` per booster into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for index, booster in enumerate(self.boosters):
            booster.save_model(str(folder / f"member_{index}.txt"))
        description = {
            "format_version": model_format_version,
            "members": len(self.boosters),
            "feature_names": list(self.feature_names),
            "feature_config": self.config.to_json(),
            "parameters": self.parameters,
        }
        (folder / "model.json").write_text(json.dumps(description, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> FraudModel:
        description_path = folder / "model.json"
        if not description_path.is_file():
            raise ModelFormatError(f"{folder} holds no model.json")
        description = json.loads(description_path.read_text())
        if description.get("format_version") != model_format_version:
            raise ModelFormatError(f"{folder}: model format {description.get('format_version')}")
        members = int(description["members"])
        boosters = []
        for index in range(members):
            path = folder / f"member_{index}.txt"
            if not path.is_file():
                raise ModelFormatError(f"{folder} lacks {path.name}")
            boosters.append(lightgbm.Booster(model_file=str(path)))
        return cls(
            boosters,
            description["feature_names"],
            FeatureConfig.from_json(description["feature_config"]),
            description.get("parameters", {}),
        )


def _logistic(raw: float) -> float:
    if raw >= 0:
        return 1.0 / (1.0 + math.exp(-raw))
    exponential = math.exp(raw)
    return exponential / (1.0 + exponential)

"""The blend: a scorecard and a gradient-boosting model trained on the same rows, their
log-odds of default averaged with equal weights.

The two families make different mistakes: the scorecard sees each feature through monotone
bins and adds them up, the booster finds interactions but is noisier on few rows. Averaging
their log-odds (not their probabilities) keeps the result a probability on the same logistic
scale, and the weights are fixed (1/2 each), not fitted, so there is nothing more to tune on
the rows being evaluated. Because the log-odds are an average, each feature's points lost are
the average of what the two models say it cost (scorecard: points below the feature's best;
booster: its SHAP contribution), and the reasons rank those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hazina.credit import boosting, scorecard
from hazina.credit.data import CreditDataset
from hazina.credit.model import Reason, reasons_from
from hazina.kernel.invariant import invariant

family = "blend"
scorecard_weight = 0.5
probability_floor = 1e-12


def log_odds(probability: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    clipped = np.clip(probability, probability_floor, 1.0 - probability_floor)
    return np.asarray(np.log(clipped / (1.0 - clipped)), dtype=np.float64)


@dataclass(slots=True)
class BlendModel:
    feature_names: tuple[str, ...]
    card: scorecard.ScorecardModel
    booster: boosting.BoostingModel
    family: str = family

    def probability_of_default(self, features: Any) -> npt.NDArray[np.float64]:
        blended = scorecard_weight * log_odds(self.card.probability_of_default(features)) + (
            1.0 - scorecard_weight
        ) * log_odds(self.booster.probability_of_default(features))
        probability = np.asarray(1.0 / (1.0 + np.exp(-blended)), dtype=np.float64)
        invariant(len(probability) == len(features), "a probability per applicant")
        return probability

    def points_lost(self, features: Any) -> npt.NDArray[np.float64]:
        return scorecard_weight * self.card.points_lost(features) + (
            1.0 - scorecard_weight
        ) * self.booster.points_lost(features)

    def reasons(self, features: Any, count: int) -> list[tuple[Reason, ...]]:
        return reasons_from(self.feature_names, features, self.points_lost(features), count)

    def describe(self) -> list[dict[str, object]]:
        return [
            {**card_row, **{key: value for key, value in booster_row.items() if key != "feature"}}
            for card_row, booster_row in zip(
                self.card.describe(), self.booster.describe(), strict=True
            )
        ]


def fit(dataset: CreditDataset, seed: int = 0) -> BlendModel:
    model = BlendModel(
        feature_names=dataset.feature_names,
        card=scorecard.fit(dataset, seed),
        booster=boosting.fit(dataset, seed),
    )
    invariant(model.card.feature_names == model.booster.feature_names, "same features")
    return model

"""Drift of a registered model against the platform's recent payments.

The registry keeps each model's reference distributions (`drift.json`: quantile bins of every
feature and of the score over its training rows). To compare, the recent payments need the
features the model would have seen: the screened payments of the feature window before the
period and of the period itself are replayed, oldest first, through a fresh engine with the
model's feature config, with the labels kept in `risk_labels` recorded when the replay reaches
the moment each was known (as live). The rows of the period are scored in one batch and
`DriftProfile.report` gives the population stability index per feature and on the score
(below 0.1 stable, 0.1-0.25 moderate, above 0.25 significant: `hazina.risk.drift`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_drift_days_max
from hazina.risk.drift import DriftLevel, DriftReport, drift_level
from hazina.risk.features.engine import FeatureEngine
from hazina.risk.features.events import FeatureConfig
from hazina.risk.registry import ModelRegistry, UnknownModelVersionError
from hazina.risk.replay import FeatureMatrix
from hazina.risk.service import PaymentFacts, StoredLabel

nanoseconds_per_second = 1_000_000_000
seconds_per_day = 86_400


class NoRecentPaymentsError(ValueError):
    """No screened payment in the period: there is nothing to compare."""

    code = "drift_no_payments"


@dataclass(frozen=True, slots=True)
class RecentDrift:
    version: str
    payments: int  # recent payments compared
    since_ns: int
    report: DriftReport

    @property
    def score_level(self) -> DriftLevel:
        return self.report.score_level

    def features_by_shift(self) -> list[tuple[str, float, DriftLevel]]:
        """Every feature with its PSI and level, the most shifted first."""
        return [
            (name, psi, drift_level(psi))
            for name, psi in sorted(self.report.feature_psi, key=lambda item: (-item[1], item[0]))
        ]


def recent_features(
    history: Sequence[PaymentFacts],
    labels: Sequence[StoredLabel],
    config: FeatureConfig,
    since_ns: int,
) -> FeatureMatrix:
    """Features of the payments made since `since_ns`, after replaying the earlier ones of
    `history` (oldest first) to fill the windows."""
    engine = FeatureEngine(config)
    ordered = sorted(labels, key=lambda label: (label.known_at_ns, label.transaction_id))
    position = 0
    rows: list[list[float]] = []
    previous_ns = -1
    for facts in history:
        invariant(facts.at_ns >= previous_ns, "history comes oldest first")
        previous_ns = facts.at_ns
        while position < len(ordered) and ordered[position].known_at_ns <= facts.at_ns:
            label = ordered[position]
            engine.record_label(
                label.event, label.is_fraud, label.known_at_ns // nanoseconds_per_second
            )
            position += 1
        if facts.at_ns >= since_ns:
            rows.append(engine.observe(facts.event()))
        else:
            engine.update(facts.event())
    values = (
        np.asarray(rows, dtype=np.float32)
        if rows
        else np.empty((0, len(engine.names)), dtype=np.float32)
    )
    return FeatureMatrix(values=values, names=engine.names)


def model_drift(
    registry: ModelRegistry,
    version: str | None,
    history: Sequence[PaymentFacts],
    labels: Sequence[StoredLabel],
    since_ns: int,
) -> RecentDrift:
    """PSI of the model's features and score on the payments since `since_ns` against its
    training population. `version` None: the champion. Raises `UnknownModelVersionError`,
    `ModelUnreadableError` or `NoRecentPaymentsError`."""
    chosen = version
    if chosen is None:
        champion = registry.champion()
        if champion is None:
            raise UnknownModelVersionError(f"the registry at {registry.root} has no champion")
        chosen = champion.version
    model = registry.load(chosen)  # an unknown version raises here
    profile = registry.drift_profile(chosen)
    matrix = recent_features(history, labels, model.config, since_ns)
    invariant(matrix.names == tuple(model.feature_names), "the model's own features")
    if matrix.values.shape[0] == 0:
        raise NoRecentPaymentsError("no screened payments in the period to compare")
    scores = model.score_batch(matrix.values)
    return RecentDrift(
        chosen, int(matrix.values.shape[0]), since_ns, profile.report(matrix.values, scores)
    )


def drift_window_ns(now_ns: int, days: int) -> tuple[int, int]:
    """(replay from, compare since): the period's start, and the feature window before it."""
    invariant(1 <= days <= risk_drift_days_max, "a drift period within the limit")
    since_ns = now_ns - days * seconds_per_day * nanoseconds_per_second
    return since_ns - risk_drift_days_max * seconds_per_day * nanoseconds_per_second, since_ns

"""Fraud-model metrics: ROC AUC, average precision and the handbook's card precision at k.

Card precision at k (Fraud Detection Handbook, chapter 4, "Precision top-k metrics"): each
day, every card (customer) gets the highest fraud score of its payments that day and is
compromised if any of them is a fraud; the k cards with the highest scores are "checked" and
the day's precision is the fraction of them compromised. Cards found compromised on an
earlier day are left out of later days, as an investigator would have blocked them. The
metric is the mean over days. Ties are broken by card id, so the result is reproducible
(the handbook's pandas sort leaves tie order to the sort algorithm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    roc_auc_score,
)

from hazina.kernel.invariant import invariant


@dataclass(frozen=True, slots=True)
class Metrics:
    roc_auc: float
    average_precision: float
    card_precision_at_k: float
    k: int
    payments: int
    frauds: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "card_precision_at_k": self.card_precision_at_k,
            "k": self.k,
            "payments": self.payments,
            "frauds": self.frauds,
        }


def card_precision_at_k(
    days: npt.NDArray[np.int64],
    cards: npt.NDArray[np.generic],
    is_fraud: npt.NDArray[np.int8],
    scores: npt.NDArray[np.floating],
    k: int,
    *,
    remove_detected: bool = True,
) -> tuple[float, list[float]]:
    """The mean over days of the day's card precision at `k`, and the per-day values."""
    invariant(k >= 1, "k is at least one card")
    invariant(len(days) == len(cards) == len(is_fraud) == len(scores), "one value per payment")
    detected: set[object] = set()
    per_day: list[float] = []
    for day in np.unique(days).tolist():
        in_day = days == day
        day_cards = cards[in_day]
        day_scores = np.asarray(scores[in_day], dtype=np.float64)
        day_fraud = np.asarray(is_fraud[in_day], dtype=np.int64)
        if detected:
            keep = np.fromiter(
                (card not in detected for card in day_cards.tolist()),
                dtype=bool,
                count=len(day_cards),
            )
            day_cards, day_scores, day_fraud = day_cards[keep], day_scores[keep], day_fraud[keep]
        unique_cards, inverse = np.unique(day_cards, return_inverse=True)
        card_scores = np.full(len(unique_cards), -np.inf)
        np.maximum.at(card_scores, inverse, day_scores)
        card_fraud = np.zeros(len(unique_cards), dtype=np.int64)
        np.maximum.at(card_fraud, inverse, day_fraud)
        # Highest score first; equal scores by card id (unique_cards is sorted ascending).
        order = np.lexsort((np.arange(len(unique_cards)), -card_scores))[:k]
        found = unique_cards[order][card_fraud[order] == 1]
        per_day.append(len(found) / k)
        if remove_detected:
            detected.update(found.tolist())
    invariant(len(per_day) > 0, "card precision needs at least one day of payments")
    return float(np.mean(per_day)), per_day


def assess(
    days: npt.NDArray[np.int64],
    cards: npt.NDArray[np.generic],
    is_fraud: npt.NDArray[np.int8],
    scores: npt.NDArray[np.floating],
    k: int = 100,
) -> Metrics:
    """The handbook's `performance_assessment`: AUC, AP and card precision at k."""
    invariant(int(is_fraud.sum()) > 0, "metrics need at least one fraud")
    invariant(int(is_fraud.sum()) < len(is_fraud), "metrics need at least one genuine payment")
    precision, _per_day = card_precision_at_k(days, cards, is_fraud, scores, k)
    return Metrics(
        roc_auc=float(roc_auc_score(is_fraud, scores)),
        average_precision=float(average_precision_score(is_fraud, scores)),
        card_precision_at_k=precision,
        k=k,
        payments=len(is_fraud),
        frauds=int(is_fraud.sum()),
    )

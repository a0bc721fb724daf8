"""Card precision at k and the handbook's split, on examples small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.risk.evaluation import assess, card_precision_at_k
from hazina.risk.handbook import handbook_split


def test_card_precision_takes_each_cards_best_score_and_drops_cards_already_found() -> None:
    days = np.array([0, 0, 0, 0, 0, 1, 1, 1], dtype=np.int64)
    cards = np.array([1, 1, 2, 3, 4, 1, 2, 3])
    fraud = np.array([0, 1, 0, 0, 1, 1, 0, 1], dtype=np.int8)
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.95, 0.5, 0.4])
    mean, per_day = card_precision_at_k(days, cards, fraud, scores, k=2)
    # Day 0: card 1 (best 0.9, compromised: a fraud that day) and card 2 (0.8, clean) -> 1/2.
    # Day 1: card 1 was found on day 0 and is left out; cards 2 (0.5) and 3 (0.4) -> 1/2.
    assert per_day == [0.5, 0.5]
    assert mean == 0.5
    _, kept = card_precision_at_k(days, cards, fraud, scores, k=2, remove_detected=False)
    assert kept == [0.5, 0.5]  # day 1 would then be cards 1 and 2: 1/2 as well
    _, wide = card_precision_at_k(days, cards, fraud, scores, k=4)
    assert wide == [0.5, 0.25]  # day 0: cards 1 and 4 of 4; day 1: card 3 of 4 (1 is gone)


def test_assess_reports_auc_ap_and_card_precision() -> None:
    days = np.zeros(4, dtype=np.int64)
    cards = np.array([1, 2, 3, 4])
    fraud = np.array([1, 0, 1, 0], dtype=np.int8)
    metrics = assess(days, cards, fraud, np.array([0.9, 0.1, 0.8, 0.2]), k=2)
    assert (metrics.roc_auc, metrics.average_precision) == (1.0, 1.0)
    assert metrics.card_precision_at_k == 1.0
    assert (metrics.payments, metrics.frauds) == (4, 2)


def test_handbook_split_removes_cards_known_compromised_a_delay_before_each_test_day() -> None:
    # Train on days 0-6, delay 7-13, test 14-20 (start 0, 7/7/7 as the handbook).
    days = np.array([0, 3, 6, 7, 8, 14, 14, 14, 15, 15, 16, 16], dtype=np.int64)
    cards = np.array([10, 11, 12, 13, 14, 10, 13, 14, 13, 14, 14, 15])
    fraud = np.array([1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.int8)
    split = handbook_split(days, cards, fraud, start_day=0)
    assert split.train.tolist() == [0, 1, 2]
    test_cards = [(int(days[i]), int(cards[i])) for i in split.test]
    # Day 14: card 10 is known (fraud in training); 13's fraud (day 7) becomes known for day
    # 15 and 14's (day 8) for day 16, per the handbook's `start + delta_train + day - 1`.
    assert test_cards == [(14, 13), (14, 14), (15, 14), (16, 15)]


def test_metrics_need_both_classes() -> None:
    with pytest.raises(AssertionError):
        assess(
            np.zeros(2, dtype=np.int64),
            np.array([1, 2]),
            np.zeros(2, dtype=np.int8),
            np.array([0.1, 0.2]),
        )

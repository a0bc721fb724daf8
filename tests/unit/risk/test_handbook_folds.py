"""The handbook protocol run from several training start days and seeds, as model selection
(`hazina risk evaluate-handbook --validation --seeds N`) runs it, on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.kernel.invariant import InvariantViolationError
from hazina.risk.handbook import evaluate_handbook_folds, evaluate_handbook_payments
from hazina.risk.synthetic import synthetic_payments
from hazina.risk.training import ModelParameters

parameters = ModelParameters(trees=20, threads=1)


def test_one_result_per_fold_and_seed_in_run_order() -> None:
    payments = synthetic_payments(customers=300, days=40, seed=3)
    folds = evaluate_handbook_folds(
        payments, start_days=(12, 5), seeds=(0, 1), parameters=parameters, top_k=10
    )
    assert [(result.start_day, result.seed) for result in folds.results] == [
        (12, 0),
        (12, 1),
        (5, 0),
        (5, 1),
    ]
    # One replay up to the end of the latest fold's test week.
    assert folds.replayed_payments == int(np.searchsorted(payments.days(), 12 + 21))
    for metric in ("roc_auc", "average_precision", "card_precision_at_k"):
        values = folds.values(metric)
        assert len(values) == 4
        assert bool(np.all((values >= 0.0) & (values <= 1.0)))


def test_a_fold_is_the_protocol_from_its_start_day() -> None:
    payments = synthetic_payments(customers=300, days=40, seed=3)
    folds = evaluate_handbook_folds(
        payments, start_days=(12,), seeds=(0,), parameters=parameters, top_k=10
    )
    single = evaluate_handbook_payments(payments, parameters=parameters, start_day=12, top_k=10)
    assert folds.results[0].metrics == single.metrics


def test_a_fold_whose_test_week_runs_past_the_data_is_refused() -> None:
    payments = synthetic_payments(customers=50, days=30, seed=3)
    with pytest.raises(InvariantViolationError):
        evaluate_handbook_folds(payments, start_days=(12,), parameters=parameters, top_k=10)

"""Wallet-history features from hand-made transactions: what counts and what does not."""

from __future__ import annotations

import math

import pytest

from hazina.credit.wallet import history_features, nanoseconds_per_day
from hazina.payments.records import PaymentTransaction

AS_OF = 1_000 * nanoseconds_per_day
WALLET = 7


def payment(
    number: int, kind: str, payer: int, payee: int, days_ago: float, status: str = "completed"
) -> PaymentTransaction:
    at = AS_OF - int(days_ago * nanoseconds_per_day)
    return PaymentTransaction(
        number, kind, status, "KES", 1_000, 0, payer, payee, 1, "", {}, (), None, None, at, at
    )


def test_failed_and_out_of_window_payments_do_not_count() -> None:
    transactions = [
        payment(1, "cash_in", 2, WALLET, 1),
        payment(2, "cash_in", 2, WALLET, 2, status="failed"),
        payment(3, "cash_in", 2, WALLET, 200),  # before the 28-day window
        payment(4, "bill_payment", WALLET, 9, 20),
        payment(5, "bill_payment", WALLET, 9, 10),
        payment(6, "bill_payment", WALLET, 9, 0.5),
        payment(7, "p2p", WALLET, 11, 3),
        payment(8, "p2p", 12, WALLET, 3),
        payment(9, "p2p", 11, WALLET, 4),
    ]
    features = history_features(WALLET, transactions, [], AS_OF, window_days=28)
    assert features.inflow_weeks_share == pytest.approx(1 / 4)  # only the last week
    assert features.bill_payments == 3
    # Intervals of 10 and 9.5 days: population sd 0.25 over mean 9.75.
    assert features.bill_interval_cv == pytest.approx(0.25 / 9.75)
    assert features.p2p_counterparties == 2
    assert features.p2p_reciprocity == pytest.approx(0.5)
    assert features.merchants_paid == 0
    assert features.merchant_outflow_share == 0.0
    assert math.isnan(features.balance_trend_per_day)  # no statement entries

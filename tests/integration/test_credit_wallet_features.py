"""Alternative-data credit features from a wallet's history, read through the payments
service of a real platform (SQLite)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from hazina.bootstrap import Platform, build_platform
from hazina.credit.wallet import wallet_history_features
from hazina.kernel.clock import FixedClock
from hazina.payments.domain.chart import PartyKind
from tests.integration.platform_world import DAY_S, KES, START_NS, Parties


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[Platform, FixedClock]]:
    clock = FixedClock(START_NS)
    built = build_platform(str(tmp_path / "hazina.sqlite3"), clock=clock)
    yield built, clock
    built.close()


def test_steady_earner_and_thin_file_customer(platform: tuple[Platform, FixedClock]) -> None:
    built, clock = platform
    parties = Parties(built)
    payments = built.payments
    agent = parties.agent("A001", 100_000_000)
    steady = parties.customer("Steady")
    friend = parties.customer("Friend")
    stranger = parties.customer("Stranger")
    thin = parties.customer("Thin")
    biller = payments.wallet_of(
        payments.register_party(PartyKind.biller, "Power", [KES], code="B001").id, KES
    ).id
    shops = [
        payments.wallet_of(
            payments.register_party(PartyKind.merchant, f"Shop {n}", [KES], code=f"M00{n}").id,
            KES,
        ).id
        for n in (1, 2)
    ]
    parties.fund(agent, friend, 50_000, 50_000)
    parties.fund(agent, thin, 20_000, 20_000)
    for week in range(12):
        parties.fund(agent, steady, 30_000, 30_000)  # a weekly wage
        if week % 4 == 1:
            payments.pay_bill(steady, biller, "ACC-1", 10_000, KES)  # every 28 days
        payments.pay_merchant(steady, shops[week % 2], 5_000, KES)
        if week == 3:
            parties.send(steady, friend, 2_000)
            parties.send(friend, steady, 1_000)
            parties.send(steady, stranger, 1_000)
        clock.advance_seconds(7 * DAY_S)
    as_of = clock.now_ns()
    features = wallet_history_features(payments, steady, as_of, window_days=84)
    assert features.inflow_weeks_share == 1.0
    assert features.inflow_weekly_cv < 0.1
    assert features.balance_trend_per_day > 0  # saving
    assert features.bill_payments == 3
    assert features.bill_interval_cv == pytest.approx(0.0, abs=1e-6)
    assert features.merchants_paid == 2
    assert 0.0 < features.merchant_outflow_share < 1.0
    assert features.p2p_counterparties == 2
    assert features.p2p_reciprocity == pytest.approx(0.5)

    thin_features = wallet_history_features(payments, thin, as_of, window_days=84)
    assert thin_features.inflow_weeks_share == pytest.approx(1 / 12)
    assert thin_features.bill_payments == 0
    assert math.isnan(thin_features.bill_interval_cv)
    assert thin_features.p2p_counterparties == 0
    assert math.isnan(thin_features.p2p_reciprocity)
    assert set(thin_features.to_row()) == set(features.to_row())

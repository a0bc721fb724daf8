"""What customers assume about the product must not be looser than the product itself."""

from __future__ import annotations

import numpy as np

from hazina.payments.domain.limits import KycTier, default_limit_table
from hazina.payments.domain.tariffs import (
    FeeQuote,
    TariffSchedule,
    TransactionType,
    default_tariff,
)
from hazina.sim import behaviour
from hazina.sim.events import Kind

_priced = {
    Kind.cash_out: TransactionType.cash_out,
    Kind.p2p: TransactionType.p2p,
    Kind.merchant: TransactionType.merchant_payment,
    Kind.bill: TransactionType.bill_payment,
    Kind.bank_out: TransactionType.bank_transfer_out,
}


def _schedule() -> TariffSchedule:
    return TariffSchedule("KES", (default_tariff("KES", 0),))


def test_fee_estimates_never_fall_below_the_default_tariff() -> None:
    schedule = _schedule()
    amounts = np.arange(1_00, behaviour.product_maximum + 1, 997, dtype=np.int64)
    for kind, transaction_type in _priced.items():
        estimates = behaviour.fee_estimate(kind, amounts)
        for amount, estimate in zip(amounts.tolist(), estimates.tolist(), strict=True):
            quote = schedule.quote(transaction_type, amount, 1)
            if isinstance(quote, FeeQuote):
                assert estimate >= quote.customer_fee, (kind, amount)
    voucher = behaviour.voucher_fee_estimate
    for amount in range(behaviour.voucher_minimum, behaviour.voucher_maximum + 1, 331):
        quote = schedule.quote(TransactionType.p2p_voucher, amount, 1)
        assert isinstance(quote, FeeQuote), amount  # the documented voucher range is offered
        estimate = min(voucher.cap, voucher.flat + amount * voucher.basis_points // 10_000)
        assert estimate >= quote.customer_fee, amount


def test_product_minimums_are_the_tariffs() -> None:
    schedule = _schedule()
    for kind, transaction_type in _priced.items():
        minimum = behaviour.product_minimums[kind]
        assert isinstance(schedule.quote(transaction_type, minimum, 1), FeeQuote), kind
        assert not isinstance(schedule.quote(transaction_type, minimum - 1, 1), FeeQuote), kind


def test_the_limits_customers_know_are_the_platforms() -> None:
    table = default_limit_table(("KES",))
    for tier, known in enumerate(behaviour.tier_limits):
        actual = table.limits_for("KES", KycTier(tier))
        assert (known.max_balance, known.per_transaction) == (
            actual.max_balance,
            actual.per_transaction,
        )
        assert (known.daily_volume, known.monthly_volume) == (
            actual.daily_volume,
            actual.monthly_volume,
        )


def test_the_intraday_profile_is_a_distribution() -> None:
    weights = behaviour.utc_hour_weights()
    assert len(weights) == 24
    assert abs(weights.sum() - 1.0) < 1e-12
    assert weights[behaviour.intraday_weights_local.index(7.0) - behaviour.utc_offset_hours] == (
        weights.max()
    )

"""KYC tier limits: balance, per-transaction, daily and monthly limits, checked purely."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import ledger_amount_max
from hazina.payments.domain.limits import (
    KycTier,
    LimitRefusal,
    LimitRefusalCode,
    LimitsNotConfiguredError,
    LimitTable,
    LimitTableError,
    TierLimits,
    WalletUsage,
    check_inflow,
    check_outflow,
    default_limit_table,
)
from hazina.payments.domain.tariffs import TariffError

KES = 100  # minor units per shilling


def kes(shillings: int) -> int:
    return shillings * KES


# The default KES table, in whole shillings: (tier, balance, per transaction, daily, monthly).
@pytest.mark.parametrize(
    ("tier", "balance", "per_transaction", "daily", "monthly"),
    [
        (KycTier.unverified, 50_000, 20_000, 50_000, 150_000),
        (KycTier.basic, 300_000, 100_000, 150_000, 1_000_000),
        (KycTier.full, 500_000, 250_000, 500_000, 3_000_000),
        (KycTier.enhanced, 5_000_000, 1_000_000, 5_000_000, 50_000_000),
    ],
)
def test_the_default_kes_limits(
    tier: KycTier, balance: int, per_transaction: int, daily: int, monthly: int
) -> None:
    assert default_limit_table().limits_for("KES", tier) == TierLimits(
        "KES", tier, kes(balance), kes(per_transaction), kes(daily), kes(monthly)
    )


def test_tiers_are_numbered_zero_to_three() -> None:
    assert [int(tier) for tier in KycTier] == [0, 1, 2, 3]
    assert KycTier(1) is KycTier.basic


def basic_kes() -> TierLimits:
    return default_limit_table().limits_for("KES", KycTier.basic)


# One row per refusal code, in precedence order, with the exact reason.
@pytest.mark.parametrize(
    ("check", "usage", "amount", "expected"),
    [
        (
            check_outflow,
            WalletUsage(balance=kes(200_000), daily_outflow=0, monthly_outflow=0),
            kes(100_001),
            LimitRefusal(
                LimitRefusalCode.limit_per_transaction,
                "the per-transaction limit of KES 100,000.00 for KYC tier 1 would be exceeded: "
                "KES 100,001.00 requested",
                limit=kes(100_000),
                attempted=kes(100_001),
            ),
        ),
        (
            check_outflow,
            WalletUsage(
                balance=kes(10_000), daily_outflow=kes(149_000), monthly_outflow=kes(149_000)
            ),
            kes(2_000),
            LimitRefusal(
                LimitRefusalCode.limit_daily_volume,
                "the daily limit of KES 150,000.00 for KYC tier 1 would be exceeded: "
                "KES 149,000.00 already sent today, KES 2,000.00 requested",
                limit=kes(150_000),
                attempted=kes(151_000),
            ),
        ),
        (
            check_outflow,
            WalletUsage(balance=kes(10_000), daily_outflow=0, monthly_outflow=kes(999_999)),
            kes(2),
            LimitRefusal(
                LimitRefusalCode.limit_monthly_volume,
                "the monthly limit of KES 1,000,000.00 for KYC tier 1 would be exceeded: "
                "KES 999,999.00 already sent this month, KES 2.00 requested",
                limit=kes(1_000_000),
                attempted=kes(1_000_001),
            ),
        ),
        (
            check_inflow,
            WalletUsage(balance=kes(299_000) + 50, daily_outflow=0, monthly_outflow=0),
            kes(1_000),
            LimitRefusal(
                LimitRefusalCode.limit_max_balance,
                "the maximum balance of KES 300,000.00 for KYC tier 1 would be exceeded: "
                "KES 299,000.50 already held, KES 1,000.00 incoming",
                limit=kes(300_000),
                attempted=kes(300_000) + 50,
            ),
        ),
    ],
)
def test_each_refusal_code_with_its_reason(
    check: object, usage: WalletUsage, amount: int, expected: LimitRefusal
) -> None:
    assert check(basic_kes(), usage, amount) == expected  # type: ignore[operator]


def test_every_refusal_code_has_a_row_and_stable_spelling() -> None:
    assert [code.value for code in LimitRefusalCode] == [
        "limit_per_transaction",
        "limit_daily_volume",
        "limit_monthly_volume",
        "limit_max_balance",
    ]


def test_per_transaction_comes_before_daily_which_comes_before_monthly() -> None:
    limits = basic_kes()
    everything_used = WalletUsage(kes(10), kes(150_000), kes(1_000_000))
    all_three = check_outflow(limits, everything_used, kes(100_001))
    assert all_three is not None
    assert all_three.code is LimitRefusalCode.limit_per_transaction
    daily_and_monthly = check_outflow(limits, everything_used, kes(1))
    assert daily_and_monthly is not None
    assert daily_and_monthly.code is LimitRefusalCode.limit_daily_volume


def test_reaching_a_limit_exactly_is_allowed() -> None:
    limits = basic_kes()
    assert check_outflow(limits, WalletUsage(0, 0, 0), kes(100_000)) is None
    assert check_outflow(limits, WalletUsage(0, kes(50_000), kes(50_000)), kes(100_000)) is None
    assert check_outflow(limits, WalletUsage(0, 0, kes(900_000)), kes(100_000)) is None
    assert check_inflow(limits, WalletUsage(kes(200_000), 0, 0), kes(100_000)) is None
    assert check_inflow(limits, WalletUsage(kes(200_000), 0, 0), kes(100_000) + 1) is not None


def test_inflow_ignores_outflow_and_outflow_ignores_the_balance() -> None:
    limits = basic_kes()
    assert check_inflow(limits, WalletUsage(0, kes(150_000), kes(1_000_000)), kes(1)) is None
    assert check_outflow(limits, WalletUsage(kes(300_000), 0, 0), kes(1)) is None


def test_other_currencies_get_the_kes_table_converted_rounding_down() -> None:
    table = default_limit_table(("KES", "USD", "UGX", "NGN"))
    assert len(table.entries) == 16
    usd = table.limits_for("USD", KycTier.unverified)
    assert (usd.max_balance, usd.per_transaction) == (400_00, 160_00)  # KES 50,000 and 20,000
    ugx = table.limits_for("UGX", KycTier.full)
    assert ugx.max_balance == 15_000_000  # no minor units
    assert table.limits_for("NGN", KycTier.basic).daily_volume == 1_800_000_00
    with pytest.raises(TariffError, match="no default conversion for 'EUR'"):
        default_limit_table(("EUR",))


def test_limits_for_an_unconfigured_currency_or_tier_is_an_error() -> None:
    with pytest.raises(
        LimitsNotConfiguredError, match="no limits are configured for USD"
    ) as raised:
        default_limit_table().limits_for("USD", KycTier.basic)
    assert raised.value.code == "limits_not_configured"
    partial = LimitTable((basic_kes(),))
    with pytest.raises(LimitsNotConfiguredError, match="KES KYC tier 2"):
        partial.limits_for("KES", KycTier.full)


def test_with_limits_replaces_one_entry_in_a_new_table() -> None:
    table = default_limit_table()
    raised = TierLimits(
        "KES", KycTier.basic, kes(400_000), kes(150_000), kes(200_000), kes(2_000_000)
    )
    updated = table.with_limits(raised)
    assert updated.limits_for("KES", KycTier.basic) == raised
    assert table.limits_for("KES", KycTier.basic) == basic_kes()
    assert len(updated.entries) == len(table.entries)
    added = table.with_limits(TierLimits("USD", KycTier.basic, 1, 1, 1, 1))
    assert len(added.entries) == len(table.entries) + 1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TierLimits("KES", KycTier.basic, 10, 11, 10, 10), "per_transaction 11 exceeds"),
        (lambda: TierLimits("KES", KycTier.basic, 10, 10, 11, 10), "daily_volume 11 exceeds"),
        (lambda: TierLimits("KES", KycTier.basic, -1, 1, 1, 1), "max_balance must be between"),
        (
            lambda: TierLimits("KES", KycTier.basic, 1, 1, 1, ledger_amount_max + 1),
            "monthly_volume must be between",
        ),
        (
            lambda: TierLimits("KES", KycTier.basic, 1.0, 1, 1, 1),  # type: ignore[arg-type]
            "max_balance must be an integer",
        ),
        (lambda: TierLimits("KES", 1, 1, 1, 1, 1), "unknown KYC tier 1"),  # type: ignore[arg-type]
        (lambda: TierLimits("ZZZ", KycTier.basic, 1, 1, 1, 1), "limits currency"),
        (lambda: LimitTable((basic_kes(), basic_kes())), "KES tier 1 is given twice"),
        (lambda: LimitTable(("limits",)), "every entry must be TierLimits"),  # type: ignore[arg-type]
    ],
)
def test_invalid_limits_are_refused_with_a_stable_code(build: object, message: str) -> None:
    with pytest.raises(LimitTableError, match=message) as raised:
        build()  # type: ignore[operator]
    assert raised.value.code == "limit_table_invalid"


@pytest.mark.parametrize(
    "build",
    [
        lambda: WalletUsage(-1, 0, 0),
        lambda: WalletUsage(0, -1, 0),
        lambda: WalletUsage(0, 5, 4),  # a day's outflow is part of its month's
        lambda: WalletUsage(0.5, 0, 0),  # type: ignore[arg-type]
        lambda: check_outflow(basic_kes(), WalletUsage(0, 0, 0), -1),
        lambda: check_inflow(basic_kes(), WalletUsage(0, 0, 0), ledger_amount_max + 1),
    ],
)
def test_usage_and_amounts_the_caller_got_wrong_are_bugs(build: object) -> None:
    with pytest.raises(InvariantViolationError):
        build()  # type: ignore[operator]


# Properties.

small = st.integers(min_value=0, max_value=10**6)


@st.composite
def tier_limits(draw: st.DrawFn) -> TierLimits:
    per_transaction = draw(small)
    daily = draw(st.integers(min_value=per_transaction, max_value=per_transaction + 10**6))
    monthly = draw(st.integers(min_value=daily, max_value=daily + 10**6))
    return TierLimits(
        "KES", draw(st.sampled_from(KycTier)), draw(small), per_transaction, daily, monthly
    )


@st.composite
def usages(draw: st.DrawFn) -> WalletUsage:
    daily = draw(st.integers(min_value=0, max_value=3 * 10**6))
    monthly = draw(st.integers(min_value=daily, max_value=daily + 3 * 10**6))
    return WalletUsage(draw(st.integers(min_value=0, max_value=2 * 10**6)), daily, monthly)


@given(tier_limits(), usages(), st.integers(min_value=0, max_value=2 * 10**6))
@example(TierLimits("KES", KycTier.basic, 0, 10, 10, 10), WalletUsage(0, 0, 0), 10)
@example(TierLimits("KES", KycTier.basic, 0, 10, 10, 10), WalletUsage(0, 0, 0), 11)
@example(TierLimits("KES", KycTier.basic, 0, 10, 20, 30), WalletUsage(0, 10, 25), 6)
def test_outflow_is_refused_exactly_when_a_sum_would_exceed_its_limit(
    limits: TierLimits, usage: WalletUsage, amount: int
) -> None:
    broken = [
        (LimitRefusalCode.limit_per_transaction, amount, limits.per_transaction),
        (LimitRefusalCode.limit_daily_volume, usage.daily_outflow + amount, limits.daily_volume),
        (
            LimitRefusalCode.limit_monthly_volume,
            usage.monthly_outflow + amount,
            limits.monthly_volume,
        ),
    ]
    broken = [row for row in broken if row[1] > row[2]]
    refusal = check_outflow(limits, usage, amount)
    if not broken:
        assert refusal is None
    else:
        code, attempted, limit = broken[0]
        assert refusal is not None
        assert (refusal.code, refusal.attempted, refusal.limit) == (code, attempted, limit)
        assert refusal.attempted > refusal.limit
        assert f"KYC tier {int(limits.tier)}" in refusal.reason


@given(tier_limits(), usages(), st.integers(min_value=0, max_value=2 * 10**6))
def test_inflow_is_refused_exactly_when_the_balance_would_exceed_its_maximum(
    limits: TierLimits, usage: WalletUsage, amount: int
) -> None:
    refusal = check_inflow(limits, usage, amount)
    if usage.balance + amount > limits.max_balance:
        assert refusal is not None
        assert refusal.code is LimitRefusalCode.limit_max_balance
        assert (refusal.limit, refusal.attempted) == (limits.max_balance, usage.balance + amount)
    else:
        assert refusal is None

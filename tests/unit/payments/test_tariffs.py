"""Tariffs: banded fees and commissions, effective-dated versions, and the default table."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import ledger_amount_max, tariff_bands_max, tariff_versions_max
from hazina.payments.domain.tariffs import (
    FeeQuote,
    FeeRefusal,
    FeeRefusalCode,
    FeeRule,
    ScaleRounding,
    Tariff,
    TariffError,
    TariffNotInEffectError,
    TariffSchedule,
    TransactionTariff,
    TransactionType,
    basis_points_of,
    default_tariff,
    display_amount,
    kes_exchange_rates,
    scale_from_kes,
)

T = TransactionType
KES = 100  # minor units per shilling, to write the table below in shillings


def kes(shillings: int, cents: int = 0) -> int:
    return shillings * KES + cents


# Worked examples against the default KES tariff, checked by hand against its bands:
# (type, amount, customer fee, agent commission, merchant discount).
default_kes_examples = [
    (T.p2p, kes(1), 0, 0, 0),  # lowest amount offered
    (T.p2p, kes(100), 0, 0, 0),  # free up to and including KES 100
    (T.p2p, kes(100, 1), kes(7), 0, 0),  # one cent more starts the next band
    (T.p2p, kes(500), kes(7), 0, 0),
    (T.p2p, kes(500, 1), kes(13), 0, 0),
    (T.p2p, kes(20_000), kes(105), 0, 0),
    (T.p2p, kes(20_000, 1), kes(108), 0, 0),
    (T.p2p, kes(250_000), kes(108), 0, 0),  # largest amount offered
    (T.p2p_voucher, kes(101), kes(49), 0, 0),
    (T.p2p_voucher, kes(35_000), kes(275), 0, 0),
    (T.cash_out, kes(50), kes(11), kes(8), 0),
    (T.cash_out, kes(100, 1), kes(29), kes(20), 0),
    (T.cash_out, kes(3_000), kes(52), kes(37), 0),
    (T.cash_out, kes(250_000), kes(309), kes(216), 0),
    (T.cash_in, kes(10), 0, kes(1), 0),
    (T.cash_in, kes(1_000), 0, kes(5), 0),
    (T.cash_in, kes(250_000), 0, kes(60), 0),
    (T.merchant_payment, kes(1_000), 0, 0, kes(5)),  # 0.5% of KES 1,000
    (T.merchant_payment, kes(333, 33), 0, 0, 167),  # 166.665 cents rounds half-up to 167
    (T.merchant_payment, kes(2, 80), 0, 0, 1),  # 1.4 cents rounds down
    (T.bill_payment, kes(100), 0, 0, 0),
    (T.bill_payment, kes(4_000), kes(34), 0, 0),
    (T.bank_transfer_out, kes(100), kes(50), 0, 0),
    (T.bank_transfer_out, kes(250_000), kes(50), 0, 0),  # flat, whatever the amount
    (T.bank_transfer_in, kes(10), 0, 0, 0),
    (T.reversal, kes(1), 0, 0, 0),
]


@pytest.mark.parametrize(
    ("transaction_type", "amount", "fee", "commission", "discount"), default_kes_examples
)
def test_the_default_kes_tariff_prices_worked_examples(
    transaction_type: TransactionType, amount: int, fee: int, commission: int, discount: int
) -> None:
    tariff = default_tariff("KES", effective_from_ns=0)
    assert tariff.quote(transaction_type, amount) == FeeQuote(
        tariff_version=1,
        customer_fee=fee,
        agent_commission=commission,
        merchant_discount=discount,
        biller_commission=0,
    )


def test_every_transaction_type_is_covered_by_the_worked_examples() -> None:
    assert {row[0] for row in default_kes_examples} == set(TransactionType)


# One row per refusal code, in precedence order.
@pytest.mark.parametrize(
    ("transaction_type", "amount", "code", "reason"),
    [
        (
            T.reversal,
            kes(10),
            FeeRefusalCode.transaction_type_not_offered,
            "reversal is not offered under tariff version 7",
        ),
        (
            T.p2p,
            kes(49, 99),
            FeeRefusalCode.amount_out_of_band,
            "p2p of KES 49.99 is not offered under tariff version 7: it is offered for "
            "KES 50.00 to KES 1,000.00, KES 2,000.00 to KES 3,000.00",
        ),
    ],
)
def test_each_refusal_code_with_its_reason(
    transaction_type: TransactionType, amount: int, code: FeeRefusalCode, reason: str
) -> None:
    tariff = Tariff(
        version=7,
        effective_from_ns=0,
        currency="KES",
        transactions=(
            TransactionTariff(
                T.p2p,
                (
                    FeeRule(kes(50), kes(500), flat=kes(5)),
                    FeeRule(kes(500, 1), kes(1_000), flat=kes(9)),
                    FeeRule(kes(2_000), kes(3_000), flat=kes(15)),
                ),
            ),
        ),
    )
    assert tariff.quote(transaction_type, amount) == FeeRefusal(code, reason)


@pytest.mark.parametrize(
    ("transaction_type", "amount"),
    [
        (T.cash_out, kes(49, 99)),  # below the lowest band
        (T.p2p, kes(250_000, 1)),  # above the highest band
        (T.p2p, 0),
        (T.p2p, -kes(100)),
        (T.p2p, ledger_amount_max + 1),
        (T.p2p_voucher, kes(100, 99)),
        (T.p2p_voucher, kes(35_000, 1)),
    ],
)
def test_amounts_outside_every_band_are_refused(
    transaction_type: TransactionType, amount: int
) -> None:
    result = default_tariff("KES", 0).quote(transaction_type, amount)
    assert isinstance(result, FeeRefusal)
    assert result.code == "amount_out_of_band"
    assert "is not offered under tariff version 1" in result.reason


def test_a_gap_between_bands_is_refused_but_its_edges_are_priced() -> None:
    tariff = Tariff(
        1,
        0,
        "KES",
        (TransactionTariff(T.p2p, (FeeRule(100, 200, flat=1), FeeRule(500, 600, flat=2))),),
    )
    assert isinstance(tariff.quote(T.p2p, 200), FeeQuote)
    assert isinstance(tariff.quote(T.p2p, 201), FeeRefusal)
    assert isinstance(tariff.quote(T.p2p, 499), FeeRefusal)
    assert isinstance(tariff.quote(T.p2p, 500), FeeQuote)


def test_an_empty_band_list_offers_nothing() -> None:
    tariff = Tariff(1, 0, "KES", (TransactionTariff(T.p2p, ()),))
    refusal = tariff.quote(T.p2p, 100)
    assert isinstance(refusal, FeeRefusal)
    assert refusal.code is FeeRefusalCode.transaction_type_not_offered


def test_transaction_types_may_be_given_as_their_stable_strings() -> None:
    tariff = default_tariff("KES", 0)
    assert tariff.quote(TransactionType("cash_out"), kes(50)) == tariff.quote(T.cash_out, kes(50))
    assert T.cash_out == "cash_out"
    with pytest.raises(ValueError, match="not_a_type"):
        tariff.quote("not_a_type", kes(50))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "amount", "fee"),
    [
        # flat KES 10 + 1.5%, at least KES 20, at most KES 100
        (FeeRule(0, kes(1_000_000), kes(10), 150, kes(20), kes(100)), kes(100), kes(20)),
        (FeeRule(0, kes(1_000_000), kes(10), 150, kes(20), kes(100)), kes(1_000), kes(25)),
        (FeeRule(0, kes(1_000_000), kes(10), 150, kes(20), kes(100)), kes(10_000), kes(100)),
        (FeeRule(0, 100, percent_basis_points=5_000), 1, 1),  # 0.5 rounds up
        (FeeRule(0, 100, percent_basis_points=5_000), 5, 3),  # 2.5 rounds up, not to even
        (FeeRule(0, 100, percent_basis_points=4_999), 1, 0),  # 0.4999 rounds down
        (FeeRule(0, 100, percent_basis_points=10_000), 77, 77),  # 100% is the whole amount
        (FeeRule(0, 100, flat=3, minimum=3, maximum=3), 100, 3),
        (FeeRule(0, 100), 50, 0),
    ],
)
def test_fee_rule_worked_examples(rule: FeeRule, amount: int, fee: int) -> None:
    assert rule.fee_for(amount) == fee


def test_a_rule_prices_only_the_amounts_it_covers() -> None:
    rule = FeeRule(100, 200, flat=5)
    assert rule.covers(100)
    assert rule.covers(200)
    assert not rule.covers(99)
    assert not rule.covers(201)
    with pytest.raises(InvariantViolationError):
        rule.fee_for(201)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FeeRule(200, 100), "amount_from 200 exceeds amount_to 100"),
        (lambda: FeeRule(-1, 100), "amount_from must be between 0"),
        (lambda: FeeRule(0, ledger_amount_max + 1), "amount_to must be between 0"),
        (lambda: FeeRule(0, 100, flat=-1), "flat must be between 0"),
        (lambda: FeeRule(0, 100, flat=1.5), "flat must be an integer"),  # type: ignore[arg-type]
        (lambda: FeeRule(0, 100, flat=True), "flat must be an integer"),
        (lambda: FeeRule(0, 100, percent_basis_points=-1), "percent_basis_points must be"),
        (lambda: FeeRule(0, 100, percent_basis_points=10_001), "percent_basis_points must be"),
        (lambda: FeeRule(0, 100, minimum=-5), "minimum must be between 0"),
        (lambda: FeeRule(0, 100, maximum=-5), "maximum must be between 0"),
        (lambda: FeeRule(0, 100, minimum=10, maximum=9), "minimum 10 exceeds maximum 9"),
        (
            lambda: FeeRule(0, ledger_amount_max, flat=ledger_amount_max, percent_basis_points=1),
            "the fee can exceed the largest ledger amount",
        ),
        (
            lambda: TransactionTariff(T.p2p, (FeeRule(0, 100), FeeRule(100, 200))),
            r"p2p customer fee: bands \[0, 100\] and \[100, 200\] overlap",
        ),
        (
            lambda: TransactionTariff(T.p2p, (FeeRule(50, 100), FeeRule(0, 200))),
            r"bands \[50, 100\] and \[0, 200\] overlap",
        ),
        (
            lambda: TransactionTariff(T.p2p, (FeeRule(101, 200), FeeRule(0, 100))),
            r"bands \[101, 200\] and \[0, 100\] are unsorted",
        ),
        (
            lambda: TransactionTariff(
                T.p2p, tuple(FeeRule(i, i) for i in range(tariff_bands_max + 1))
            ),
            f"more than {tariff_bands_max}",
        ),
        (
            lambda: TransactionTariff(T.p2p, ((0, 100),)),  # type: ignore[arg-type]
            "every band must be a FeeRule",
        ),
        (
            lambda: TransactionTariff("p2p", ()),  # type: ignore[arg-type]
            "unknown transaction type",
        ),
        (
            lambda: TransactionTariff(
                T.p2p, (FeeRule(0, 100),), agent_commission_rules=(FeeRule(0, 100),)
            ),
            "agents are paid commission on cash-in/out only",
        ),
        (
            lambda: TransactionTariff(
                T.cash_out,
                (FeeRule(0, 100), FeeRule(101, 300), FeeRule(500, 600)),
                agent_commission_rules=(FeeRule(0, 200), FeeRule(201, 300)),
            ),
            "agent commission bands do not cover amounts 500 to 600",
        ),
        (
            lambda: TransactionTariff(
                T.cash_out, (FeeRule(0, 300),), agent_commission_rules=(FeeRule(1, 300),)
            ),
            "agent commission bands do not cover amounts 0 to 300",
        ),
        (
            lambda: TransactionTariff(T.p2p, (), merchant_discount_basis_points=50),
            "a merchant discount applies to merchant payments only",
        ),
        (
            lambda: TransactionTariff(
                T.merchant_payment, (), merchant_discount_basis_points=10_001
            ),
            "merchant discount must be between 0 and 10000",
        ),
        (
            lambda: TransactionTariff(T.p2p, (), biller_commission_basis_points=0),
            "a biller commission applies to bill payments only",
        ),
        (
            lambda: TransactionTariff(T.bill_payment, (), biller_commission_basis_points=-1),
            "biller commission must be between 0 and 10000",
        ),
        (lambda: Tariff(0, 0, "KES", ()), "version must be a positive integer"),
        (lambda: Tariff(1, -1, "KES", ()), "effective_from_ns must be a non-negative integer"),
        (lambda: Tariff(1, 0, "kes", ()), "tariff currency: currency code must be three"),
        (lambda: Tariff(1, 0, "ZZZ", ()), "unknown ISO 4217 currency 'ZZZ'"),
        (
            lambda: Tariff(1, 0, "KES", (TransactionTariff(T.p2p, ()),) * 2),
            "p2p is priced twice",
        ),
        (
            lambda: Tariff(1, 0, "KES", (FeeRule(0, 1),)),  # type: ignore[arg-type]
            "every entry must be a TransactionTariff",
        ),
    ],
)
def test_invalid_tariffs_are_refused_with_a_stable_code(build: object, message: str) -> None:
    with pytest.raises(TariffError, match=message) as raised:
        build()  # type: ignore[operator]
    assert raised.value.code == "tariff_invalid"
    assert isinstance(raised.value, ValueError)


def test_bands_may_leave_gaps_and_commissions_may_span_several_fee_bands() -> None:
    entry = TransactionTariff(
        T.cash_out,
        (FeeRule(0, 100), FeeRule(101, 300), FeeRule(500, 600)),
        agent_commission_rules=(FeeRule(0, 150), FeeRule(151, 400), FeeRule(450, 700)),
    )
    assert entry.offered_runs() == [(0, 300), (500, 600)]


def test_sequences_are_kept_as_tuples_so_records_stay_immutable() -> None:
    entry = TransactionTariff(T.p2p, [FeeRule(0, 100)])  # type: ignore[arg-type]
    tariff = Tariff(1, 0, "KES", [entry])  # type: ignore[arg-type]
    assert entry.customer_fee_rules == (FeeRule(0, 100),)
    assert tariff.transactions == (entry,)
    assert hash(tariff) == hash(Tariff(1, 0, "KES", (entry,)))


# Effective dating.


def flat_p2p_tariff(version: int, effective_from_ns: int, fee: int) -> Tariff:
    return Tariff(
        version, effective_from_ns, "KES", (TransactionTariff(T.p2p, (FeeRule(1, 10**9, fee),)),)
    )


def three_versions() -> TariffSchedule:
    return (
        TariffSchedule("KES")
        .add(flat_p2p_tariff(1, 1_000, fee=10))
        .add(flat_p2p_tariff(2, 2_000, fee=20))
        .add(flat_p2p_tariff(5, 3_000, fee=50))
    )


@pytest.mark.parametrize(
    ("at_ns", "version", "fee"),
    [
        (1_000, 1, 10),  # a version is in force from its own instant
        (1_999, 1, 10),
        (2_000, 2, 20),
        (2_999, 2, 20),
        (3_000, 5, 50),
        (10**18, 5, 50),  # the latest version stays in force
    ],
)
def test_a_quote_uses_the_version_in_force_at_its_time(at_ns: int, version: int, fee: int) -> None:
    schedule = three_versions()
    assert schedule.tariff_at(at_ns).version == version
    quote = schedule.quote(T.p2p, 500, at_ns)
    assert isinstance(quote, FeeQuote)
    assert (quote.tariff_version, quote.customer_fee) == (version, fee)


def test_before_the_first_version_no_tariff_is_in_effect() -> None:
    with pytest.raises(
        TariffNotInEffectError, match="first version takes effect at 1000"
    ) as raised:
        three_versions().quote(T.p2p, 500, 999)
    assert raised.value.code == "tariff_not_in_effect"
    with pytest.raises(TariffNotInEffectError, match="the schedule is empty"):
        TariffSchedule("KES").tariff_at(10**18)


def test_adding_a_version_leaves_the_old_schedule_unchanged() -> None:
    before = TariffSchedule("KES").add(flat_p2p_tariff(1, 1_000, fee=10))
    after = before.add(flat_p2p_tariff(2, 2_000, fee=20))
    assert [t.version for t in before.tariffs] == [1]
    assert [t.version for t in after.tariffs] == [1, 2]
    assert before.tariff_at(5_000).version == 1


@pytest.mark.parametrize(
    ("tariff", "message"),
    [
        (flat_p2p_tariff(2, 4_000, fee=1), "versions must rise strictly: 2 after 5"),
        (flat_p2p_tariff(5, 4_000, fee=1), "versions must rise strictly: 5 after 5"),
        (flat_p2p_tariff(6, 3_000, fee=1), "effective times must rise strictly"),
        (flat_p2p_tariff(6, 2_500, fee=1), "effective times must rise strictly"),
        (
            default_tariff("NGN", 5_000, version=6),
            "tariff version 6 is in NGN, the schedule in KES",
        ),
    ],
)
def test_a_schedule_refuses_versions_out_of_order(tariff: Tariff, message: str) -> None:
    with pytest.raises(TariffError, match=message):
        three_versions().add(tariff)


def test_a_schedule_is_validated_however_it_is_built() -> None:
    with pytest.raises(TariffError, match="versions must rise strictly"):
        TariffSchedule("KES", (flat_p2p_tariff(2, 1, 1), flat_p2p_tariff(1, 2, 1)))
    with pytest.raises(TariffError, match="schedule currency"):
        TariffSchedule("XXXX")
    with pytest.raises(TariffError, match="every version must be a Tariff"):
        TariffSchedule("KES", ("v1",))  # type: ignore[arg-type]
    too_many = tuple(flat_p2p_tariff(v, v, 1) for v in range(1, tariff_versions_max + 2))
    with pytest.raises(TariffError, match=f"more than {tariff_versions_max}"):
        TariffSchedule("KES", too_many)


# The default tariff in other currencies.


@pytest.mark.parametrize("currency_code", sorted(kes_exchange_rates))
def test_every_default_currency_offers_every_type_in_contiguous_bands(currency_code: str) -> None:
    tariff = default_tariff(currency_code, 0)
    assert tariff.currency == currency_code
    for entry in tariff.transactions:
        assert len(entry.offered_runs()) == 1, entry.transaction_type
        low, high = entry.offered_runs()[0]
        assert isinstance(tariff.quote(entry.transaction_type, low), FeeQuote)
        assert isinstance(tariff.quote(entry.transaction_type, high), FeeQuote)
        assert isinstance(tariff.quote(entry.transaction_type, high + 1), FeeRefusal)


@pytest.mark.parametrize(
    ("currency_code", "transaction_type", "amount", "fee"),
    [
        ("NGN", T.p2p, 1_200_00, 0),  # KES 100 is NGN 1,200
        ("NGN", T.p2p, 1_200_01, 84_00),  # KES 7 is NGN 84
        ("UGX", T.cash_out, 1_500, 330),  # no minor units: KES 50 is UGX 1,500, KES 11 UGX 330
        ("UGX", T.cash_out, 1_499, None),
        ("USD", T.p2p, 80, 0),  # KES 100 is USD 0.80
        ("USD", T.p2p, 81, 6),  # KES 7 is USD 0.056, rounded half-up to 6 cents
        ("USD", T.bank_transfer_out, 2_000_00, 40),  # KES 50 is USD 0.40
        ("BRL", T.cash_out, 2_00, 44),  # KES 50 is BRL 2.00, KES 11 is BRL 0.44
    ],
)
def test_default_tariffs_in_other_currencies_are_the_kes_table_converted(
    currency_code: str, transaction_type: TransactionType, amount: int, fee: int | None
) -> None:
    result = default_tariff(currency_code, 0).quote(transaction_type, amount)
    if fee is None:
        assert isinstance(result, FeeRefusal)
    else:
        assert isinstance(result, FeeQuote)
        assert result.customer_fee == fee


def test_there_is_no_default_for_a_currency_without_a_conversion() -> None:
    with pytest.raises(TariffError, match="no default conversion for 'EUR'"):
        default_tariff("EUR", 0)


@pytest.mark.parametrize(
    ("kes_minor", "rounding", "currency_code", "expected"),
    [
        (1, ScaleRounding.down, "USD", 0),  # 1/125 of a cent
        (1, ScaleRounding.up, "USD", 1),
        (62, ScaleRounding.half_up, "USD", 0),  # 0.496
        (63, ScaleRounding.half_up, "USD", 1),  # 0.504
        (5, ScaleRounding.half_up, "UGX", 2),  # exactly 1.5 shillings rounds up
        (1_00, ScaleRounding.down, "UGX", 30),
        (1, ScaleRounding.up, "UGX", 1),  # 0.3 shillings
        (1, ScaleRounding.half_up, "UGX", 0),
        (1_00, ScaleRounding.down, "KES", 1_00),
    ],
)
def test_scaling_from_kes_rounds_as_told(
    kes_minor: int, rounding: ScaleRounding, currency_code: str, expected: int
) -> None:
    assert scale_from_kes(kes_minor, currency_code, rounding) == expected


@pytest.mark.parametrize(
    ("amount", "code", "shown"),
    [
        (15_000_000, "KES", "KES 150,000.00"),
        (5, "KES", "KES 0.05"),
        (-1_234_56, "KES", "KES -1,234.56"),
        (7_500_000, "UGX", "UGX 7,500,000"),
        (1_234_567, "BHD", "BHD 1,234.567"),
    ],
)
def test_amounts_are_displayed_in_major_units_with_the_code_first(
    amount: int, code: str, shown: str
) -> None:
    assert display_amount(amount, code) == shown


# Properties.

basis_points = st.integers(min_value=0, max_value=10_000)
amounts = st.integers(min_value=0, max_value=ledger_amount_max)


@st.composite
def rules_with_amounts(draw: st.DrawFn, count: int) -> tuple[FeeRule, list[int]]:
    amount_from = draw(st.integers(min_value=0, max_value=10**12))
    amount_to = draw(st.integers(min_value=amount_from, max_value=amount_from + 10**12))
    minimum = draw(st.integers(min_value=0, max_value=10**9))
    maximum = draw(st.none() | st.integers(min_value=minimum, max_value=minimum + 10**10))
    rule = FeeRule(
        amount_from,
        amount_to,
        flat=draw(st.integers(min_value=0, max_value=10**9)),
        percent_basis_points=draw(basis_points),
        minimum=minimum,
        maximum=maximum,
    )
    band = st.integers(min_value=amount_from, max_value=amount_to)
    return rule, [draw(band) for _ in range(count)]


@given(rules_with_amounts(count=1))
@example((FeeRule(0, 10, flat=5, minimum=7, maximum=7), [0]))
@example((FeeRule(0, 0, flat=1, minimum=0, maximum=0), [0]))  # a zero cap is a cap
def test_a_fee_is_always_within_its_bands_minimum_and_maximum(
    drawn: tuple[FeeRule, list[int]],
) -> None:
    rule, (amount,) = drawn
    fee = rule.fee_for(amount)
    assert fee >= rule.minimum
    assert rule.maximum is None or fee <= rule.maximum
    unclamped = rule.flat + basis_points_of(amount, rule.percent_basis_points)
    clamped = max(unclamped, rule.minimum)
    assert fee == (clamped if rule.maximum is None else min(clamped, rule.maximum))


@given(rules_with_amounts(count=2))
def test_a_fee_never_falls_as_the_amount_rises_within_a_band(
    drawn: tuple[FeeRule, list[int]],
) -> None:
    rule, (first, second) = drawn
    low, high = sorted((first, second))
    assert rule.fee_for(low) <= rule.fee_for(high)


@given(amounts, basis_points)
@example(1, 5_000)
@example(5, 5_000)
@example(3, 5_000)
@example(ledger_amount_max, 10_000)
@example(ledger_amount_max, 9_999)
def test_rounding_is_exact_and_half_up(amount: int, points: int) -> None:
    result = basis_points_of(amount, points)
    with localcontext() as context:
        context.prec = 60
        decimal_oracle = (Decimal(amount) * points / 10_000).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    exact = Fraction(amount * points, 10_000)
    assert result == int(decimal_oracle)
    assert result - Fraction(1, 2) <= exact < result + Fraction(1, 2)


@given(st.lists(st.tuples(st.integers(0, 1_000), st.integers(0, 50)), max_size=8))
def test_bands_are_accepted_exactly_when_sorted_and_disjoint(
    pairs: list[tuple[int, int]],
) -> None:
    rules = tuple(FeeRule(start, start + width) for start, width in pairs)
    sorted_and_disjoint = all(a.amount_to < b.amount_from for a, b in itertools.pairwise(rules))
    try:
        TransactionTariff(T.p2p, rules)
    except TariffError:
        assert not sorted_and_disjoint
    else:
        assert sorted_and_disjoint


@given(st.integers(min_value=-kes(10), max_value=kes(300_000)))
@example(kes(250_000))
@example(kes(250_000, 1))
def test_the_default_kes_p2p_table_has_no_gaps(amount: int) -> None:
    result = default_tariff("KES", 0).quote(T.p2p, amount)
    offered = kes(1) <= amount <= kes(250_000)
    assert isinstance(result, FeeQuote) == offered
    if isinstance(result, FeeQuote):
        assert 0 <= result.customer_fee <= kes(108)


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=10, unique=True),
    st.integers(min_value=0, max_value=11_000),
)
def test_tariff_at_picks_the_latest_version_effective_by_then(
    starts: list[int], at_ns: int
) -> None:
    starts.sort()
    schedule = TariffSchedule("KES")
    for version, start in enumerate(starts, start=1):
        schedule = schedule.add(flat_p2p_tariff(version, start, fee=version))
    in_force = [t for t in schedule.tariffs if t.effective_from_ns <= at_ns]
    if not in_force:
        with pytest.raises(TariffNotInEffectError):
            schedule.tariff_at(at_ns)
    else:
        assert schedule.tariff_at(at_ns) is in_force[-1]

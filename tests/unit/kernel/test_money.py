"""Money: exact integer minor units with an ISO 4217 currency; decimals only at the edge."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import ledger_amount_max
from hazina.kernel.money import CurrencyError, Money, currency


@pytest.mark.parametrize(
    ("code", "minor_units", "number"),
    [("JPY", 0, 392), ("KES", 2, 404), ("USD", 2, 840), ("BHD", 3, 48), ("CLF", 4, 990)],
)
def test_minor_units_come_from_iso_4217(code: str, minor_units: int, number: int) -> None:
    unit = currency(code)
    assert (unit.code, unit.minor_units, unit.number) == (code, minor_units, number)
    assert unit.scale == 10**minor_units


@pytest.mark.parametrize("code", ["ZZZ", "kes", "KE", "KESS", "K3S", "", "XAU", "XDR"])
def test_unknown_or_unitless_currencies_are_refused(code: str) -> None:
    with pytest.raises(CurrencyError):
        currency(code)
    with pytest.raises(CurrencyError):
        Money.of("1", code)


@pytest.mark.parametrize(
    ("amount", "code", "minor"),
    [
        ("12.50", "KES", 1250),
        ("12.5", "KES", 1250),
        ("0.01", "KES", 1),
        ("-3.07", "KES", -307),
        ("1000", "JPY", 1000),
        ("1.000", "JPY", 1),  # trailing zeros are exact
        ("1.234", "BHD", 1234),
        ("0.001", "BHD", 1),
        (7, "KES", 700),
        (Decimal("2.75"), "USD", 275),
        ("92233720368547758.07", "KES", ledger_amount_max),
    ],
)
def test_parsing_is_exact(amount: str | int | Decimal, code: str, minor: int) -> None:
    money = Money.of(amount, code)
    assert money.minor == minor
    assert money.currency == currency(code)


def test_decimal_arithmetic_has_no_float_error() -> None:
    total = Money.of("0.1", "USD") + Money.of("0.2", "USD")
    assert total == Money.of("0.3", "USD")


@pytest.mark.parametrize(
    ("amount", "code"),
    [("12.505", "KES"), ("0.001", "KES"), ("1.5", "JPY"), ("0.0001", "BHD"), ("1e-3", "USD")],
)
def test_more_decimals_than_the_currency_has_are_refused(amount: str, code: str) -> None:
    with pytest.raises(CurrencyError, match="decimal places"):
        Money.of(amount, code)


@pytest.mark.parametrize("amount", [12.5, 0.1, 1.0, float("nan")])
def test_floats_are_refused(amount: float) -> None:
    with pytest.raises(CurrencyError, match="float"):
        Money.of(amount, "KES")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["", "abc", "1,50", "NaN", "Infinity", "-inf", None])
def test_non_amounts_are_refused(amount: object) -> None:
    with pytest.raises(CurrencyError):
        Money.of(amount, "KES")  # type: ignore[arg-type]


def test_amounts_beyond_the_ledger_range_are_refused() -> None:
    with pytest.raises(CurrencyError, match="too large"):
        Money.of("92233720368547758.08", "KES")
    with pytest.raises(CurrencyError, match="too large"):
        Money.of(-(ledger_amount_max + 1), "JPY")


def test_money_itself_holds_only_integers() -> None:
    kes = currency("KES")
    with pytest.raises(InvariantViolationError):
        Money(1.5, kes)  # type: ignore[arg-type]
    with pytest.raises(InvariantViolationError):
        Money(True, kes)
    with pytest.raises(InvariantViolationError):
        Money(ledger_amount_max + 1, kes)


def test_rounding_a_computed_amount_is_explicit() -> None:
    fee = Decimal("0.125")  # half a cent
    assert Money.from_decimal(fee, "KES").minor == 12  # banker's rounding by default
    assert Money.from_decimal(fee, "KES", rounding=ROUND_HALF_UP).minor == 13
    assert Money.from_decimal(Decimal("0.135"), "KES").minor == 14
    assert Money.from_decimal(Decimal("2.5"), "JPY").minor == 2


@pytest.mark.parametrize(
    ("amount", "code", "text"),
    [
        ("12.5", "KES", "12.50 KES"),
        ("5", "JPY", "5 JPY"),
        ("1.234", "BHD", "1.234 BHD"),
        ("-0.07", "USD", "-0.07 USD"),
    ],
)
def test_formatting_shows_every_minor_digit(amount: str, code: str, text: str) -> None:
    money = Money.of(amount, code)
    assert str(money) == text
    assert Money.of(money.to_decimal(), code) == money


def test_currencies_do_not_mix() -> None:
    kes, usd = Money.of("1", "KES"), Money.of("1", "USD")
    with pytest.raises(CurrencyError):
        kes + usd
    with pytest.raises(CurrencyError):
        kes - usd
    with pytest.raises(CurrencyError):
        _ = kes < usd
    assert kes != usd


def test_arithmetic_and_ordering() -> None:
    a, b = Money.of("10.00", "KES"), Money.of("2.50", "KES")
    assert (a - b).minor == 750
    assert (-b).minor == -250
    assert b < a
    assert b <= b
    assert not a < b


def test_allocation_splits_the_remainder_one_unit_at_a_time() -> None:
    parts = Money.of("1.00", "KES").allocate([1, 1, 1])
    assert [p.minor for p in parts] == [34, 33, 33]
    assert [p.minor for p in Money.of("1.00", "KES").allocate([70, 30])] == [70, 30]
    assert [p.minor for p in Money(5, currency("JPY")).allocate([0, 1])] == [0, 5]


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1]])
def test_allocation_refuses_meaningless_ratios(ratios: list[int]) -> None:
    with pytest.raises(InvariantViolationError):
        Money.of("1", "KES").allocate(ratios)


@given(
    minor=st.integers(-(10**15), 10**15),
    ratios=st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(lambda r: sum(r) > 0),
)
@example(minor=1, ratios=[0, 1, 1])  # a party with ratio 0 was given the remainder
def test_allocation_conserves_money_and_stays_fair(minor: int, ratios: list[int]) -> None:
    money = Money(minor, currency("KES"))
    parts = money.allocate(ratios)
    assert sum(p.minor for p in parts) == minor
    assert all(p.currency == money.currency for p in parts)
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        if ratio == 0:
            assert part.minor == 0, "a zero share gets nothing"
        exact = Decimal(minor) * ratio / total
        assert abs(part.minor - exact) < 1


@given(st.integers(-ledger_amount_max, ledger_amount_max), st.sampled_from(["JPY", "KES", "BHD"]))
def test_format_then_parse_round_trips(minor: int, code: str) -> None:
    money = Money(minor, currency(code))
    amount, _, printed_code = str(money).partition(" ")
    assert Money.of(amount, printed_code) == money

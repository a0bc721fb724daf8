"""Money: an integer count of minor units with an ISO 4217 currency.

Decimals appear only at the edge (parsing and formatting), with an explicit quantize and
rounding mode. Minor units come from ISO 4217 (package `iso4217`), never from locale data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

import iso4217

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import ledger_amount_max


class CurrencyError(ValueError):
    """An unknown currency code, or an amount that does not fit a currency."""


@dataclass(frozen=True, slots=True)
class Currency:
    code: str  # ISO 4217 alphabetic code, e.g. "KES"
    number: int  # ISO 4217 numeric code, e.g. 404
    minor_units: int  # digits after the decimal point, e.g. 2

    @property
    def scale(self) -> int:
        """How many minor units make one major unit."""
        return int(10**self.minor_units)


@lru_cache(maxsize=512)
def currency(code: str) -> Currency:
    """Look up an ISO 4217 currency by its alphabetic code; `CurrencyError` if unknown."""
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise CurrencyError(f"currency code must be three upper-case letters, got {code!r}")
    try:
        entry = iso4217.Currency(code)
    except ValueError:
        raise CurrencyError(f"unknown ISO 4217 currency {code!r}") from None
    exponent = entry.exponent
    if exponent is None:  # funds codes and metals (XAU, XDR...) have no minor unit
        raise CurrencyError(f"ISO 4217 currency {code!r} has no minor unit")
    return Currency(code=code, number=int(entry.number), minor_units=int(exponent))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: `minor` units of `currency`. Never a float."""

    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        invariant(type(self.minor) is int, "money is an integer count of minor units")
        invariant(abs(self.minor) <= ledger_amount_max, "money amount out of range")

    @classmethod
    def of(cls, amount: str | int | Decimal, code: str) -> Money:
        """Parse a major-unit amount ("12.50") exactly; refuses digits the currency lacks."""
        unit = currency(code)
        if isinstance(amount, float):
            raise CurrencyError("money is never a float: pass a string or Decimal")
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError):
            raise CurrencyError(f"not a decimal amount: {amount!r}") from None
        if not value.is_finite():
            raise CurrencyError(f"not a finite amount: {amount!r}")
        minor = value.scaleb(unit.minor_units)
        if minor != minor.to_integral_value():
            raise CurrencyError(
                f"{amount!r} has more than {unit.minor_units} decimal places for {unit.code}"
            )
        result = int(minor)
        if abs(result) > ledger_amount_max:
            raise CurrencyError(f"amount {amount!r} {unit.code} is too large")
        return cls(result, unit)

    @classmethod
    def from_decimal(cls, amount: Decimal, code: str, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Round a computed decimal (e.g. a percentage fee) to minor units, explicitly."""
        unit = currency(code)
        minor = amount.scaleb(unit.minor_units).quantize(Decimal(1), rounding=rounding)
        return cls(int(minor), unit)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.currency.minor_units)

    def __str__(self) -> str:
        return f"{self.to_decimal():.{self.currency.minor_units}f} {self.currency.code}"

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyError(f"cannot combine {self.currency.code} with {other.currency.code}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to `ratios` that sum exactly to this amount."""
        invariant(len(ratios) > 0 and all(r >= 0 for r in ratios), "ratios must be non-negative")
        total = sum(ratios)
        invariant(total > 0, "ratios must not all be zero")
        # Largest remainder: floor shares, then one more unit to the largest fractions, so a
        # zero ratio never gets anything and no share is off by more than one unit.
        sign = -1 if self.minor < 0 else 1
        amount = abs(self.minor)
        parts = [amount * r // total for r in ratios]
        remainder = amount - sum(parts)
        by_fraction = sorted(
            (i for i, r in enumerate(ratios) if r > 0),
            key=lambda i: (-(amount * ratios[i] % total), i),
        )
        for index in by_fraction[:remainder]:
            parts[index] += 1
        parts = [sign * p for p in parts]
        result = [Money(p, self.currency) for p in parts]
        invariant(sum(p.minor for p in result) == self.minor, "allocation must conserve money")
        return result

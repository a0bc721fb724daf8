"""Amounts at the HTTP edge: decimal strings with an ISO 4217 code, integer minor units inside.

A JSON number would pass through binary floating point in most clients ("0.1 + 0.2"), so the
API takes and gives strings, and converts them exactly with integer arithmetic. Parsing is
strict: the only accepted form is ASCII digits with an optional fraction of at most as many
digits as the currency has minor units. Signs, exponents, spaces, "NaN", "Infinity", thousands
separators and non-ASCII digits (which `int()` and `Decimal()` would accept) are all refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import Field

from hazina.api.problems import ProblemError
from hazina.kernel import money
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    amount_fraction_digits_max,
    amount_integer_digits_max,
    ledger_amount_max,
)

AMOUNT_PATTERN: Final = (
    rf"^[0-9]{{1,{amount_integer_digits_max}}}(\.[0-9]{{1,{amount_fraction_digits_max}}})?$"
)
CURRENCY_CODE_PATTERN: Final = r"^[A-Z]{3}$"

_amount_syntax: Final = re.compile(AMOUNT_PATTERN)
# The longest text the pattern can match: integer digits, the point, fraction digits.
_amount_length_max: Final = amount_integer_digits_max + 1 + amount_fraction_digits_max

AmountString = Annotated[
    str,
    Field(
        pattern=AMOUNT_PATTERN,
        description=(
            "A non-negative decimal amount in major units as a string, with at most as many "
            "decimals as the currency has minor units (KES 2, JPY 0, BHD 3)."
        ),
        examples=["12.50"],
    ),
]

CurrencyCode = Annotated[
    str,
    Field(
        pattern=CURRENCY_CODE_PATTERN,
        description="An ISO 4217 alphabetic currency code.",
        examples=["KES"],
    ),
]


def parse_amount(text: str, currency: str) -> int:
    """Minor units of a decimal amount string: `parse_amount("12.50", "KES") == 1250`.

    Raises `ProblemError` (422) with code `amount_invalid` for anything but plain digits with
    an optional fraction, `currency_unknown` for a code ISO 4217 does not define with a minor
    unit, `amount_precision` for more decimals than the currency has, and `amount_too_large`
    beyond what the ledger can hold. The checks run in that order.
    """
    invariant(isinstance(text, str), "an amount arrives as a string")
    # The length test first keeps the regular expression away from megabyte-long input.
    if len(text) > _amount_length_max or _amount_syntax.fullmatch(text) is None:
        raise ProblemError(
            422,
            "amount_invalid",
            "The amount is not a valid decimal string",
            'An amount is digits with an optional decimal point and fraction, e.g. "12.50".',
        )
    unit = resolve_currency(currency)
    whole, _, fraction = text.partition(".")
    if len(fraction) > unit.minor_units:
        raise ProblemError(
            422,
            "amount_precision",
            "The amount has more decimals than the currency allows",
            f"{unit.code} amounts have at most {unit.minor_units} decimal place(s).",
            minor_units=unit.minor_units,
        )
    # Text, not Decimal or float, all the way: padding the fraction to the currency's digits
    # turns "12.5" KES into the integer 1250 with no rounding anywhere.
    minor = int(whole + fraction.ljust(unit.minor_units, "0"))
    if minor > ledger_amount_max:
        raise ProblemError(
            422,
            "amount_too_large",
            "The amount is too large",
            f"The largest {unit.code} amount is {format_amount(ledger_amount_max, unit.code)}.",
        )
    invariant(0 <= minor <= ledger_amount_max, "a parsed amount fits the ledger")
    return minor


def format_amount(minor: int, currency: str) -> str:
    """The decimal string of `minor` units, with exactly the currency's decimals: "12.50".

    The currency comes from stored data, so an unknown one is a bug here and raises
    `CurrencyError` (an internal error), not a problem for the client.
    """
    invariant(type(minor) is int, "minor units are an integer")
    invariant(abs(minor) <= ledger_amount_max, "amount out of the ledger's range")
    unit = money.currency(currency)  # the parameter's name, required by callers, hides it
    sign = "-" if minor < 0 else ""
    if unit.minor_units == 0:
        text = f"{sign}{abs(minor)}"
    else:
        whole, fraction = divmod(abs(minor), unit.scale)
        text = f"{sign}{whole}.{fraction:0{unit.minor_units}d}"
    invariant(
        text.count(".") == (1 if unit.minor_units else 0), "one point when there are decimals"
    )
    return text


def resolve_currency(code: str) -> money.Currency:
    """The ISO 4217 currency of a code a client sent; `ProblemError` (422, `currency_unknown`)
    for a code ISO 4217 does not define with a minor unit."""
    try:
        return money.currency(code)
    except money.CurrencyError:
        raise ProblemError(
            422,
            "currency_unknown",
            "Unknown currency",
            "The currency must be an ISO 4217 code with a minor unit, e.g. KES, USD or JPY.",
        ) from None

"""Amounts at the edge: strict decimal strings in, exact minor units out, and back."""

from __future__ import annotations

import iso4217
import pytest
from fastapi import FastAPI
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hazina.api.amounts import AmountString, CurrencyCode, format_amount, parse_amount
from hazina.api.problems import ProblemError, install_problem_handlers
from hazina.kernel.limits import ledger_amount_max
from hazina.kernel.money import CurrencyError
from tests.unit.api.client import TestClient

CURRENCIES_WITH_MINOR_UNITS = sorted(
    entry.code for entry in iso4217.Currency if entry.exponent is not None
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "KES", 1250),
        ("12.5", "KES", 1250),
        ("12", "KES", 1200),
        ("0", "KES", 0),
        ("0.01", "KES", 1),
        ("007.10", "USD", 710),
        ("1250", "JPY", 1250),
        ("1.234", "BHD", 1234),
        ("0.001", "BHD", 1),
        ("1.2345", "CLF", 12345),
        ("92233720368547758.07", "KES", ledger_amount_max),
        ("9223372036854775807", "JPY", ledger_amount_max),
    ],
)
def test_parse_amount_is_exact(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("", "KES", "amount_invalid"),
        ("-1.00", "KES", "amount_invalid"),
        ("+1.00", "KES", "amount_invalid"),
        ("1e3", "KES", "amount_invalid"),
        ("1E3", "KES", "amount_invalid"),
        ("NaN", "KES", "amount_invalid"),
        ("Infinity", "KES", "amount_invalid"),
        (" 1.00", "KES", "amount_invalid"),
        ("1.00 ", "KES", "amount_invalid"),
        ("1.00\n", "KES", "amount_invalid"),
        ("1,000.00", "KES", "amount_invalid"),
        ("1_000", "KES", "amount_invalid"),
        ("1.", "KES", "amount_invalid"),
        (".5", "KES", "amount_invalid"),
        ("1..5", "KES", "amount_invalid"),
        ("0x10", "KES", "amount_invalid"),
        ("\u0661\u0662", "KES", "amount_invalid"),  # Arabic-Indic digits: int() takes them
        ("\uff11", "KES", "amount_invalid"),  # a full-width digit one
        ("1" * 20, "JPY", "amount_invalid"),
        ("1.00000", "KES", "amount_invalid"),
        ("9" * 100_000, "KES", "amount_invalid"),
        ("12.50", "ZZZ", "currency_unknown"),
        ("12.50", "kes", "currency_unknown"),
        ("12.50", "XAU", "currency_unknown"),  # ISO 4217, but no minor unit
        ("12.50", "", "currency_unknown"),
        ("12.505", "KES", "amount_precision"),
        ("12.500", "KES", "amount_precision"),  # even zeros: KES has two decimals
        ("12.5", "JPY", "amount_precision"),
        ("1.0001", "BHD", "amount_precision"),
        ("92233720368547758.08", "KES", "amount_too_large"),
        ("9223372036854775808", "JPY", "amount_too_large"),
        ("9999999999999999999", "JPY", "amount_too_large"),
    ],
)
def test_parse_amount_refuses_with_a_stable_code(text: str, currency: str, code: str) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_amount(text, currency)
    assert raised.value.status == 422
    assert raised.value.code == code


def test_checks_run_in_order_syntax_then_currency() -> None:
    with pytest.raises(ProblemError) as raised:
        parse_amount("1e3", "ZZZ")
    assert raised.value.code == "amount_invalid"
    with pytest.raises(ProblemError) as raised:
        parse_amount("1.234", "ZZZ")
    assert raised.value.code == "currency_unknown"


def test_precision_problem_says_how_many_decimals_the_currency_has() -> None:
    with pytest.raises(ProblemError) as raised:
        parse_amount("1.5", "JPY")
    assert raised.value.extensions == {"minor_units": 0}
    assert raised.value.detail == "JPY amounts have at most 0 decimal place(s)."


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1250, "KES", "12.50"),
        (1, "KES", "0.01"),
        (0, "KES", "0.00"),
        (1250, "JPY", "1250"),
        (1, "BHD", "0.001"),
        (12345, "CLF", "1.2345"),
        (-307, "KES", "-3.07"),
        (ledger_amount_max, "KES", "92233720368547758.07"),
    ],
)
def test_format_amount_writes_exactly_the_currency_decimals(
    minor: int, currency: str, text: str
) -> None:
    assert format_amount(minor, currency) == text


def test_format_amount_with_an_unknown_currency_is_an_internal_error() -> None:
    with pytest.raises(CurrencyError):
        format_amount(100, "ZZZ")


@given(
    minor=st.integers(min_value=0, max_value=ledger_amount_max),
    currency=st.sampled_from(CURRENCIES_WITH_MINOR_UNITS),
)
@example(minor=ledger_amount_max, currency="JPY")
@example(minor=ledger_amount_max, currency="CLF")
@example(minor=0, currency="BHD")
def test_parse_amount_reads_back_what_format_amount_writes(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


class Payment(BaseModel):
    amount: AmountString
    currency: CurrencyCode


@pytest.mark.parametrize(
    ("amount", "currency", "valid"),
    [
        ("12.50", "KES", True),
        ("1250", "JPY", True),
        ("-1", "KES", False),
        ("1e3", "KES", False),
        ("1.23456", "KES", False),
        ("12.50", "kes", False),
        ("12.50", "KESS", False),
    ],
)
def test_annotated_types_check_the_shape(amount: str, currency: str, valid: bool) -> None:
    if valid:
        assert Payment(amount=amount, currency=currency).amount == amount
    else:
        with pytest.raises(ValidationError):
            Payment(amount=amount, currency=currency)


def test_a_route_answers_amount_problems_as_problem_json() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/payments")
    async def create_payment(payment: Payment) -> dict[str, int]:
        return {"minor": parse_amount(payment.amount, payment.currency)}

    client = TestClient(app)
    accepted = client.post("/v1/payments", json={"amount": "12.50", "currency": "KES"})
    assert accepted.json() == {"minor": 1250}
    refused = client.post("/v1/payments", json={"amount": "12.505", "currency": "KES"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "amount_precision"
    assert refused.json()["minor_units"] == 2
    malformed = client.post("/v1/payments", json={"amount": "1e3", "currency": "KES"})
    assert malformed.json()["code"] == "validation_error"
    assert malformed.json()["errors"][0]["location"] == ["body", "amount"]
    assert malformed.json()["errors"][0]["type"] == "string_pattern_mismatch"
    schema = app.openapi()["components"]["schemas"]["Payment"]["properties"]
    assert schema["amount"]["pattern"] == r"^[0-9]{1,19}(\.[0-9]{1,4})?$"
    assert schema["currency"]["pattern"] == "^[A-Z]{3}$"

"""Phone numbers: national and international forms to E.164, and the numbers refused."""

from __future__ import annotations

import pytest

from hazina.identity.phones import PhoneNumberError, normalize_e164
from hazina.kernel.invariant import InvariantViolationError


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+254 712 345 678", None, "+254712345678"),  # Kenya, Safaricom mobile
        ("0712345678", "KE", "+254712345678"),
        ("0712 345 678", "KE", "+254712345678"),
        ("+254712345678", "NG", "+254712345678"),  # "+" wins over the region
        ("+254 20 1234567", None, "+254201234567"),  # Nairobi landline
        ("+234 803 123 4567", None, "+2348031234567"),  # Nigeria, MTN mobile
        ("0803 123 4567", "NG", "+2348031234567"),
        ("+62 812-3456-7890", None, "+6281234567890"),  # Indonesia, Telkomsel mobile
        ("0812-3456-7890", "ID", "+6281234567890"),
        ("+55 11 91234-5678", None, "+5511912345678"),  # Brazil, São Paulo mobile
        ("(11) 91234-5678", "BR", "+5511912345678"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_e164(raw, region) == expected
    assert normalize_e164(expected) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", None),
        ("", "KE"),
        ("hello", "KE"),
        ("0712345678", None),  # national form with no region to read it in
        ("+254 12", None),  # too short
        ("+254 712 345 6789", None),  # too long
        ("0712 345 67", "KE"),
        ("+234 803 123", None),
        ("+62 812", None),
        ("+55 11 1234", None),
        ("+1 555 0100", None),
        ("+999 1234567", None),  # no such country code
        ("+" + "1" * 300, None),
    ],
)
def test_invalid_numbers_are_refused(raw: str, region: str | None) -> None:
    with pytest.raises(PhoneNumberError) as caught:
        normalize_e164(raw, region)
    assert caught.value.code == "phone_invalid"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("region", ["ke", "KEN", "", "K1", "ZZ", "XX"])
def test_a_malformed_region_is_a_bug_not_bad_input(region: str) -> None:
    with pytest.raises(InvariantViolationError):
        normalize_e164("0712345678", region)

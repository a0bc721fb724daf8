"""Phone numbers in E.164 (`+254712345678`), the one form stored and sent across the API."""

from __future__ import annotations

from typing import ClassVar

import phonenumbers

from hazina.kernel.invariant import invariant


class PhoneNumberError(ValueError):
    """Text that is not a valid phone number (or is national without a region to read it in)."""

    code: ClassVar[str] = "phone_invalid"


def normalize_e164(raw: str, default_region: str | None = None) -> str:
    """Read a number as a person typed it and return it in E.164.

    `default_region` (ISO 3166 alpha-2, e.g. "KE") is how national forms such as "0712345678"
    are read; numbers starting with "+" ignore it. Validity is checked against the numbering
    plan of the number's country, not just its length, so a misdialled prefix is refused.
    """
    # The region comes from configuration or a record, never from the person typing, so a bad
    # one is a bug to surface rather than a number to refuse.
    invariant(
        default_region is None or default_region in phonenumbers.SUPPORTED_REGIONS,
        "default_region must be an upper-case ISO 3166 alpha-2 code with a numbering plan",
    )
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise PhoneNumberError(f"not a phone number: {error}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError("not a valid number in its country's numbering plan")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    invariant(e164.startswith("+") and e164[1:].isdigit(), "E.164 is + and digits")
    return e164

"""EMVCo merchant-presented QR codes (MPM) for Hazina merchants: `encode` and `parse`.

A payload is a run of fields, each a two-digit tag, a two-digit length and that many characters
of value; the values of templates are themselves such runs. Lengths count characters, not bytes
(the EMVCo specification's own example carries Chinese text in tag 64). The last field is tag 63,
a CRC-16/CCITT-FALSE over the UTF-8 bytes of everything before its four hex digits.
`docs/qr.md` lists the tags we write and explains what we refuse when reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from iso4217 import Currency

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    qr_amount_length_max,
    qr_expires_at_max_s,
    qr_field_length_max,
    qr_merchant_city_length_max,
    qr_merchant_id_length_max,
    qr_merchant_name_length_max,
    qr_payload_length_max,
    qr_reference_length_max,
    qr_terminal_id_length_max,
)

HAZINA_GUID: Final = "com.hazina"  # globally unique identifier of our templates (tags 26, 80)

_TAG_PAYLOAD_FORMAT: Final = "00"
_TAG_POINT_OF_INITIATION: Final = "01"
_TAG_MERCHANT_ACCOUNT: Final = "26"
_TAG_MERCHANT_CATEGORY: Final = "52"
_TAG_CURRENCY: Final = "53"
_TAG_AMOUNT: Final = "54"
_TAG_TIP_INDICATOR: Final = "55"
_TAG_CONVENIENCE_FEE_FIXED: Final = "56"
_TAG_CONVENIENCE_FEE_PERCENTAGE: Final = "57"
_TAG_COUNTRY: Final = "58"
_TAG_MERCHANT_NAME: Final = "59"
_TAG_MERCHANT_CITY: Final = "60"
_TAG_ADDITIONAL_DATA: Final = "62"
_TAG_CRC: Final = "63"
_TAG_EXPIRY_TEMPLATE: Final = "80"

_SUB_TAG_GUID: Final = "00"  # first field of every merchant account and unreserved template
_SUB_TAG_MERCHANT_ID: Final = "01"
_SUB_TAG_EXPIRES_AT: Final = "01"
_SUB_TAG_REFERENCE: Final = "05"
_SUB_TAG_TERMINAL: Final = "07"

_PAYLOAD_PREFIX: Final = "000201"  # tag 00, length 02, payload format indicator "01"
_CRC_HEADER: Final = "6304"
_STATIC: Final = "11"  # point of initiation: the payer types the amount; reusable
_DYNAMIC: Final = "12"  # point of initiation: one payment of the amount in tag 54

_field_header = re.compile(r"[0-9]{4}")
_printable_ascii = re.compile(r"[\x20-\x7e]+")  # EMVCo "ans": the common character set
_country_pattern = re.compile(r"[A-Z]{2}")
_merchant_category_pattern = re.compile(r"[0-9]{4}")
_currency_code_pattern = re.compile(r"[A-Z]{3}")
_currency_number_pattern = re.compile(r"[0-9]{3}")
_amount_pattern = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_expiry_pattern = re.compile(r"[1-9][0-9]*")  # no leading zero: one spelling per instant
_crc_pattern = re.compile(r"[0-9A-F]{4}")


class QrErrorCode(StrEnum):
    """Why a payload or a `MerchantQr` was refused; stable values, in the order `parse` checks.

    Field checks run in tag order, so an unknown currency (tag 53) is reported before a bad
    amount (tag 54) but after a bad merchant id (tag 26).
    """

    malformed = "qr_malformed"  # not a run of well-formed fields ending in tag 63
    crc_mismatch = "qr_crc_mismatch"  # the checksum does not match: damaged or altered
    unsupported = "qr_unsupported"  # not one of ours, or asks for something we cannot honour
    currency_unknown = "qr_currency_unknown"  # no such ISO 4217 currency
    field_invalid = "qr_field_invalid"  # a field is missing, too long or badly formed
    expired = "qr_expired"  # valid, but its expiry is at or before now


class QrError(ValueError):
    """A refused payload or field: `code` is stable for programs, the message is for people."""

    code: QrErrorCode
    field: str | None  # the `MerchantQr` field at fault, where there is one
    message: str

    def __init__(self, code: QrErrorCode | str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = QrErrorCode(code)  # an unknown code is a bug: ValueError here
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class MerchantQr:
    """What one of our merchant QR codes says. Amounts are integer minor units, never floats.

    Building one checks nothing: `encode` checks every field, and `parse` returns only values
    that `encode` accepts.
    """

    merchant_id: str  # tag 26, sub-tag 01, beside our GUID in sub-tag 00
    merchant_name: str  # tag 59
    merchant_city: str  # tag 60
    country_code: str  # tag 58, ISO 3166 alpha-2
    merchant_category_code: str  # tag 52, four digits (ISO 18245)
    currency: str  # ISO 4217 alphabetic code; tag 53 carries its numeric code
    amount_minor: int | None = None  # tag 54; None for a static QR, the payer enters it
    reference: str | None = None  # tag 62, sub-tag 05 (reference label)
    terminal_id: str | None = None  # tag 62, sub-tag 07 (terminal label)
    expires_at_s: int | None = None  # Unix seconds; tag 80, sub-tag 01, beside our GUID


@dataclass(frozen=True, slots=True)
class QrField:
    """One data object: a two-digit tag and its value (a template's value holds more fields)."""

    tag: str
    value: str


@dataclass(frozen=True, slots=True)
class _IsoCurrency:
    code: str
    number: int
    exponent: int | None  # None for funds and metals (XAU, XDR): they have no minor unit


@cache
def _iso_currencies() -> tuple[_IsoCurrency, ...]:
    return tuple(
        _IsoCurrency(
            code=str(entry.code),
            number=int(entry.number),
            exponent=None if entry.exponent is None else int(entry.exponent),
        )
        for entry in Currency
    )


@cache
def _currency_by_code() -> Mapping[str, _IsoCurrency]:
    return {entry.code: entry for entry in _iso_currencies()}


@cache
def _currency_by_number() -> Mapping[int, _IsoCurrency]:
    by_number = {entry.number: entry for entry in _iso_currencies()}
    invariant(len(by_number) == len(_iso_currencies()), "ISO 4217 numeric codes must be unique")
    return by_number


@cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR),
    the checksum EMVCo requires in tag 63. The check value of b"123456789" is 0x29B1."""
    invariant(isinstance(data, bytes | bytearray), "the CRC is computed over bytes")
    table = _crc_table()
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    invariant(0 <= crc <= 0xFFFF, "a CRC-16 has sixteen bits")
    return crc


def _crc_hex(text: str) -> str:
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def read_fields(text: str) -> tuple[QrField, ...]:
    """Split `text` into its fields, strictly: every character belongs to exactly one field,
    no field is empty and no tag appears twice. Templates are not opened: pass a field's value
    to read it. Raises `QrError` `qr_malformed` otherwise."""
    if not isinstance(text, str):
        raise QrError(QrErrorCode.malformed, "a QR payload is text")
    if len(text) > qr_payload_length_max:
        raise QrError(
            QrErrorCode.malformed,
            f"{len(text)} characters: a QR payload holds at most {qr_payload_length_max}",
        )
    fields: list[QrField] = []
    seen: set[str] = set()
    position = 0
    # Each pass consumes at least five characters of text no longer than the payload limit,
    # so the loop is bounded by `qr_payload_length_max`.
    while position < len(text):
        header = text[position : position + 4]
        if not _field_header.fullmatch(header):
            raise QrError(
                QrErrorCode.malformed,
                f"at character {position}: expected a two-digit tag and a two-digit length",
            )
        tag, length = header[:2], int(header[2:])
        if length == 0:
            raise QrError(QrErrorCode.malformed, f"tag {tag} at character {position} is empty")
        end = position + 4 + length
        if end > len(text):
            raise QrError(
                QrErrorCode.malformed,
                f"tag {tag} at character {position} claims {length} characters, "
                f"{len(text) - position - 4} remain",
            )
        if tag in seen:
            raise QrError(QrErrorCode.malformed, f"tag {tag} appears twice")
        seen.add(tag)
        fields.append(QrField(tag, text[position + 4 : end]))
        position = end
    invariant(position == len(text), "every character belongs to exactly one field")
    invariant(sum(4 + len(field.value) for field in fields) == len(text), "fields cover the text")
    return tuple(fields)


def _read_template(value: str, tag: str) -> dict[str, str]:
    try:
        fields = read_fields(value)
    except QrError as error:
        raise QrError(error.code, f"inside tag {tag}: {error.message}") from None
    return {field.tag: field.value for field in fields}


def _invalid(field: str, reason: str) -> QrError:
    return QrError(QrErrorCode.field_invalid, f"{field}: {reason}", field=field)


def _text_problem(field: str, value: object, length_max: int) -> QrError | None:
    if not isinstance(value, str):
        return _invalid(field, f"must be text, got {type(value).__name__}")
    if not 1 <= len(value) <= length_max:
        return _invalid(field, f"must be 1 to {length_max} characters, got {len(value)}")
    if not _printable_ascii.fullmatch(value):
        return _invalid(field, "must be printable ASCII (EMVCo's common character set)")
    return None


def _currency_problem(code: object) -> QrError | None:
    if not isinstance(code, str) or not _currency_code_pattern.fullmatch(code):
        return _invalid("currency", f"must be an ISO 4217 code of three capitals, got {code!r}")
    entry = _currency_by_code().get(code)
    if entry is None:
        return QrError(
            QrErrorCode.currency_unknown, f"currency {code!r} is not in ISO 4217", field="currency"
        )
    if entry.exponent is None:
        return _invalid("currency", f"{code} has no minor unit, so no amount can be written")
    return None


def _exponent(currency: _IsoCurrency) -> int:
    invariant(currency.exponent is not None, f"{currency.code} was checked to have a minor unit")
    return currency.exponent or 0


def _format_amount(amount_minor: int, exponent: int) -> str:
    invariant(type(amount_minor) is int and amount_minor > 0, "amounts are positive integers")
    invariant(exponent >= 0, "a currency exponent is not negative")
    if exponent == 0:
        return str(amount_minor)
    whole, fraction = divmod(amount_minor, int(10**exponent))
    return f"{whole}.{fraction:0{exponent}d}"


def _problem(qr: MerchantQr) -> QrError | None:
    """The first field `encode` would refuse, in field order, or None: one set of rules serves
    both directions, so `parse` accepts exactly what `encode` can write."""
    for field, value, length_max in (
        ("merchant_id", qr.merchant_id, qr_merchant_id_length_max),
        ("merchant_name", qr.merchant_name, qr_merchant_name_length_max),
        ("merchant_city", qr.merchant_city, qr_merchant_city_length_max),
    ):
        problem = _text_problem(field, value, length_max)
        if problem is not None:
            return problem
    if not isinstance(qr.country_code, str) or not _country_pattern.fullmatch(qr.country_code):
        return _invalid("country_code", f"must be two capitals, got {qr.country_code!r}")
    if not isinstance(qr.merchant_category_code, str) or not _merchant_category_pattern.fullmatch(
        qr.merchant_category_code
    ):
        return _invalid(
            "merchant_category_code", f"must be four digits, got {qr.merchant_category_code!r}"
        )
    problem = _currency_problem(qr.currency)
    if problem is not None:
        return problem
    if qr.amount_minor is not None:
        if type(qr.amount_minor) is not int:  # bool and float are refused, not converted
            return _invalid("amount_minor", f"must be an int, got {type(qr.amount_minor).__name__}")
        if qr.amount_minor < 1:
            return _invalid("amount_minor", "must be above zero (None for a static QR)")
        exponent = _exponent(_currency_by_code()[qr.currency])
        written = _format_amount(qr.amount_minor, exponent)
        if len(written) > qr_amount_length_max:
            return _invalid(
                "amount_minor",
                f"{written} {qr.currency} exceeds the {qr_amount_length_max} characters of tag 54",
            )
    for field, optional_value, length_max in (
        ("reference", qr.reference, qr_reference_length_max),
        ("terminal_id", qr.terminal_id, qr_terminal_id_length_max),
    ):
        if optional_value is not None:
            problem = _text_problem(field, optional_value, length_max)
            if problem is not None:
                return problem
    if qr.expires_at_s is not None:
        if type(qr.expires_at_s) is not int:
            return _invalid("expires_at_s", f"must be an int, got {type(qr.expires_at_s).__name__}")
        if not 1 <= qr.expires_at_s <= qr_expires_at_max_s:
            return _invalid("expires_at_s", f"must be 1 to {qr_expires_at_max_s} Unix seconds")
    return None


def _field(tag: str, value: str) -> str:
    invariant(len(tag) == 2 and tag.isascii() and tag.isdigit(), "a tag is two digits")
    invariant(1 <= len(value) <= qr_field_length_max, f"tag {tag} value length out of range")
    return f"{tag}{len(value):02d}{value}"


def encode(qr: MerchantQr) -> str:
    """The EMVCo payload for `qr`: tags in ascending order, then tag 63 with the CRC.

    Raises `QrError` (`qr_field_invalid` naming the field, or `qr_currency_unknown`) before
    writing anything if a field cannot be carried.
    """
    invariant(isinstance(qr, MerchantQr), "encode takes a MerchantQr")
    problem = _problem(qr)
    if problem is not None:
        raise problem
    currency = _currency_by_code()[qr.currency]
    fields = [
        _field(_TAG_PAYLOAD_FORMAT, "01"),
        _field(_TAG_POINT_OF_INITIATION, _STATIC if qr.amount_minor is None else _DYNAMIC),
        _field(
            _TAG_MERCHANT_ACCOUNT,
            _field(_SUB_TAG_GUID, HAZINA_GUID) + _field(_SUB_TAG_MERCHANT_ID, qr.merchant_id),
        ),
        _field(_TAG_MERCHANT_CATEGORY, qr.merchant_category_code),
        _field(_TAG_CURRENCY, f"{currency.number:03d}"),
    ]
    if qr.amount_minor is not None:
        fields.append(_field(_TAG_AMOUNT, _format_amount(qr.amount_minor, _exponent(currency))))
    fields += [
        _field(_TAG_COUNTRY, qr.country_code),
        _field(_TAG_MERCHANT_NAME, qr.merchant_name),
        _field(_TAG_MERCHANT_CITY, qr.merchant_city),
    ]
    additional_data = ""
    if qr.reference is not None:
        additional_data += _field(_SUB_TAG_REFERENCE, qr.reference)
    if qr.terminal_id is not None:
        additional_data += _field(_SUB_TAG_TERMINAL, qr.terminal_id)
    if additional_data:
        fields.append(_field(_TAG_ADDITIONAL_DATA, additional_data))
    if qr.expires_at_s is not None:
        fields.append(
            _field(
                _TAG_EXPIRY_TEMPLATE,
                _field(_SUB_TAG_GUID, HAZINA_GUID)
                + _field(_SUB_TAG_EXPIRES_AT, str(qr.expires_at_s)),
            )
        )
    tags = [field[:2] for field in fields]
    invariant(tags == sorted(tags) and _TAG_CRC not in tags, "tags ascend; the CRC comes last")
    body = "".join(fields) + _CRC_HEADER
    payload = body + _crc_hex(body)
    invariant(payload.startswith(_PAYLOAD_PREFIX), "a payload starts with its format indicator")
    invariant(len(payload) <= qr_payload_length_max, "our fields fit an EMVCo payload")
    return payload


def _required(
    fields: Mapping[str, str], tag: str, field: str, *, template: str | None = None
) -> str:
    value = fields.get(tag)
    if value is None:
        where = f"tag {tag}" if template is None else f"tag {template} sub-tag {tag}"
        raise _invalid(field, f"{where} is missing")
    return value


def _parse_currency(number_text: str) -> _IsoCurrency:
    if not _currency_number_pattern.fullmatch(number_text):
        raise _invalid("currency", f"tag 53 must be three digits, got {number_text!r}")
    entry = _currency_by_number().get(int(number_text))
    if entry is None:
        raise QrError(
            QrErrorCode.currency_unknown,
            f"currency number {number_text} is not in ISO 4217",
            field="currency",
        )
    if entry.exponent is None:
        raise _invalid("currency", f"{entry.code} has no minor unit, so no amount can be read")
    return entry


def _parse_amount(text: str, currency: _IsoCurrency) -> int:
    """Tag 54 to minor units by digit arithmetic: exact, and never through a float."""
    exponent = _exponent(currency)
    if len(text) > qr_amount_length_max:
        raise _invalid("amount_minor", f"tag 54 holds at most {qr_amount_length_max} characters")
    match = _amount_pattern.fullmatch(text)
    if match is None:
        raise _invalid("amount_minor", f"tag 54 is not a decimal amount: {text!r}")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        raise _invalid(
            "amount_minor",
            f"{text} has more decimal places than {currency.code} has minor digits ({exponent})",
        )
    fraction_minor = int(fraction.ljust(exponent, "0")) if exponent else 0
    amount_minor = int(whole) * int(10**exponent) + fraction_minor
    invariant(amount_minor >= 0, "digits make a non-negative amount")
    return amount_minor


def parse(payload: str, *, now_s: int | None = None) -> MerchantQr:
    """Read one of our QR payloads back, refusing anything doubtful with a `QrError`.

    Order: structure (`qr_malformed`), checksum (`qr_crc_mismatch`), ours and honourable
    (`qr_unsupported`), fields in tag order (`qr_currency_unknown`, `qr_field_invalid`), then,
    when `now_s` is given, expiry (`qr_expired`: expiry at or before `now_s`). Fields of other
    schemes are skipped.
    """
    invariant(now_s is None or type(now_s) is int, "now_s is Unix seconds as an int")
    if not isinstance(payload, str):
        raise QrError(QrErrorCode.malformed, "a QR payload is text")
    if not payload.startswith(_PAYLOAD_PREFIX):
        raise QrError(QrErrorCode.malformed, f"a payload starts with {_PAYLOAD_PREFIX}")
    fields = read_fields(payload)
    last = fields[-1]
    if last.tag != _TAG_CRC or len(last.value) != 4:
        raise QrError(QrErrorCode.malformed, "the payload must end with tag 63 of length 04")
    if not _crc_pattern.fullmatch(last.value):
        raise QrError(QrErrorCode.malformed, "tag 63 must be four upper-case hex digits")
    try:
        expected = _crc_hex(payload[:-4])
    except UnicodeEncodeError:  # a lone surrogate: no QR code can hold it
        raise QrError(QrErrorCode.malformed, "the payload is not valid Unicode text") from None
    if expected != last.value:
        raise QrError(
            QrErrorCode.crc_mismatch, f"checksum is {last.value}, the content gives {expected}"
        )
    top = {field.tag: field.value for field in fields}

    account_value = top.get(_TAG_MERCHANT_ACCOUNT)
    if account_value is None:
        raise QrError(QrErrorCode.unsupported, f"no tag 26 carrying {HAZINA_GUID!r}: not ours")
    account = _read_template(account_value, _TAG_MERCHANT_ACCOUNT)
    if account.get(_SUB_TAG_GUID) != HAZINA_GUID:
        raise QrError(
            QrErrorCode.unsupported,
            f"tag 26 belongs to {account.get(_SUB_TAG_GUID)!r}, not {HAZINA_GUID!r}",
        )
    # Inside our own templates an unknown sub-tag comes from a newer writer: ignoring it could
    # mean ignoring a condition of the payment, so it is refused rather than skipped.
    unknown = sorted(set(account) - {_SUB_TAG_GUID, _SUB_TAG_MERCHANT_ID})
    if unknown:
        raise QrError(QrErrorCode.unsupported, f"tag 26 sub-tags {unknown} are not understood")
    # Tips and convenience fees change what the payer owes; we cannot honour them yet, and
    # skipping them would charge a different amount from the one the merchant asked for.
    for tag in (_TAG_TIP_INDICATOR, _TAG_CONVENIENCE_FEE_FIXED, _TAG_CONVENIENCE_FEE_PERCENTAGE):
        if tag in top:
            raise QrError(QrErrorCode.unsupported, f"tag {tag} (tip or convenience fee)")
    expiry: dict[str, str] | None = None
    if _TAG_EXPIRY_TEMPLATE in top:
        template = _read_template(top[_TAG_EXPIRY_TEMPLATE], _TAG_EXPIRY_TEMPLATE)
        if template.get(_SUB_TAG_GUID) == HAZINA_GUID:  # another scheme's tag 80 is skipped
            expiry = template
            unknown = sorted(set(expiry) - {_SUB_TAG_GUID, _SUB_TAG_EXPIRES_AT})
            if unknown:
                raise QrError(
                    QrErrorCode.unsupported, f"tag 80 sub-tags {unknown} are not understood"
                )

    initiation = _required(top, _TAG_POINT_OF_INITIATION, "point_of_initiation")
    if initiation not in (_STATIC, _DYNAMIC):
        raise _invalid("point_of_initiation", f"tag 01 must be 11 or 12, got {initiation!r}")
    merchant_id = _required(
        account, _SUB_TAG_MERCHANT_ID, "merchant_id", template=_TAG_MERCHANT_ACCOUNT
    )
    merchant_category_code = _required(top, _TAG_MERCHANT_CATEGORY, "merchant_category_code")
    currency = _parse_currency(_required(top, _TAG_CURRENCY, "currency"))
    amount_text = top.get(_TAG_AMOUNT)
    amount_minor = None if amount_text is None else _parse_amount(amount_text, currency)
    if (initiation == _DYNAMIC) != (amount_minor is not None):
        raise _invalid(
            "point_of_initiation", f"tag 01 is {initiation}: 12 with an amount, 11 without"
        )
    country_code = _required(top, _TAG_COUNTRY, "country_code")
    merchant_name = _required(top, _TAG_MERCHANT_NAME, "merchant_name")
    merchant_city = _required(top, _TAG_MERCHANT_CITY, "merchant_city")
    additional: dict[str, str] = {}
    if _TAG_ADDITIONAL_DATA in top:
        additional = _read_template(top[_TAG_ADDITIONAL_DATA], _TAG_ADDITIONAL_DATA)
    expires_at_s = None
    if expiry is not None:
        expiry_text = _required(
            expiry, _SUB_TAG_EXPIRES_AT, "expires_at_s", template=_TAG_EXPIRY_TEMPLATE
        )
        if not _expiry_pattern.fullmatch(expiry_text) or len(expiry_text) > len(
            str(qr_expires_at_max_s)
        ):
            raise _invalid("expires_at_s", f"must be Unix seconds, got {expiry_text!r}")
        expires_at_s = int(expiry_text)

    result = MerchantQr(
        merchant_id=merchant_id,
        merchant_name=merchant_name,
        merchant_city=merchant_city,
        country_code=country_code,
        merchant_category_code=merchant_category_code,
        currency=currency.code,
        amount_minor=amount_minor,
        reference=additional.get(_SUB_TAG_REFERENCE),
        terminal_id=additional.get(_SUB_TAG_TERMINAL),
        expires_at_s=expires_at_s,
    )
    problem = _problem(result)
    if problem is not None:
        raise problem
    if now_s is not None and result.expires_at_s is not None and result.expires_at_s <= now_s:
        raise QrError(
            QrErrorCode.expired, f"expired at {result.expires_at_s}, now is {now_s} (Unix seconds)"
        )
    invariant(result.currency == currency.code, "the currency read is the currency returned")
    return result

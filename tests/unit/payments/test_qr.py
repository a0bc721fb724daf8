"""EMVCo merchant QR codes: the CRC against an independent implementation, published payloads of
other schemes read by the generic field walk, a worked example, round-trip and tamper
properties, and one table row per error code.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from typing import Any

import pytest
from crccheck.crc import Crc16CcittFalse  # type: ignore[import-untyped]
from hypothesis import example, given
from hypothesis import strategies as st
from iso4217 import Currency

from hazina.kernel.limits import (
    qr_expires_at_max_s,
    qr_merchant_city_length_max,
    qr_merchant_id_length_max,
    qr_merchant_name_length_max,
    qr_payload_length_max,
    qr_reference_length_max,
    qr_terminal_id_length_max,
)
from hazina.payments.qr import (
    HAZINA_GUID,
    MerchantQr,
    QrError,
    QrErrorCode,
    QrField,
    crc16_ccitt_false,
    encode,
    parse,
    read_fields,
)


def tlv(tag: str, value: str) -> str:
    """An independent field writer, so the tests do not trust the module's own."""
    return f"{tag}{len(value):02d}{value}"


def with_crc(body: str) -> str:
    """Append tag 63 with the checksum from `crccheck`, an implementation we did not write."""
    body += "6304"
    return body + f"{Crc16CcittFalse.calc(body.encode('utf-8')):04X}"


OUR_ACCOUNT = tlv("00", HAZINA_GUID) + tlv("01", "mer_0000000000000001")

SAMPLE = MerchantQr(
    merchant_id="mer_0000000000000001",
    merchant_name="Mama Mboga",
    merchant_city="Nairobi",
    country_code="KE",
    merchant_category_code="5411",
    currency="KES",
    amount_minor=1250,
    reference="INV-7",
    terminal_id="T1",
    expires_at_s=1_700_000_000,
)

# Built field by field with `tlv` and `with_crc` from the EMVCo MPM specification's tag list.
SAMPLE_PAYLOAD = with_crc(
    tlv("00", "01")
    + tlv("01", "12")
    + tlv("26", OUR_ACCOUNT)
    + tlv("52", "5411")
    + tlv("53", "404")
    + tlv("54", "12.50")
    + tlv("58", "KE")
    + tlv("59", "Mama Mboga")
    + tlv("60", "Nairobi")
    + tlv("62", tlv("05", "INV-7") + tlv("07", "T1"))
    + tlv("80", tlv("00", HAZINA_GUID) + tlv("01", "1700000000"))
)


# CRC.


def test_crc_has_the_standard_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF  # the initial value, untouched


@given(st.binary(max_size=600))
@example(b"\x00")
@example(b"\xff" * 64)
def test_crc_matches_an_independent_implementation(data: bytes) -> None:
    assert crc16_ccitt_false(data) == Crc16CcittFalse.calc(data)


# Published payloads from other schemes and implementations, with their published checksums.


@dataclass(frozen=True)
class Published:
    name: str
    payload: str
    top_level: dict[str, str]  # a few top-level fields the walk must find
    template_tag: str  # a template to open with the same walk
    template: dict[str, str]  # some of what it holds


PUBLISHED = [
    # EMVCo QR Code Specification for Payment Systems, Merchant-Presented Mode v1.1, example
    # payload (lengths count characters: tag 64 holds Chinese text). Taken from the tests of
    # mercari/go-emv-code, mpm/emv_test.go; dongri/emv-qrcode carries the same string.
    Published(
        "emvco-specification",
        "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
        "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
        "540523.7253031565502016233030412340603***0708A60086670902ME"
        "91320016A0112233449988770708123456786304A13A",
        {"52": "4111", "53": "156", "54": "23.72", "58": "CN", "59": "BEST TRANSPORT"},
        "64",
        {"00": "ZH", "01": "最佳运输", "02": "北京"},
    ),
    # Brazilian Pix BR Code: the static example of the Banco Central do Brasil's "Manual de
    # Padrões para Iniciação do Pix" (CRC 1D3D), as reproduced in public Pix test suites.
    Published(
        "pix-bcb-manual-static",
        "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
        "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
        {"53": "986", "58": "BR", "59": "Fulano de Tal", "60": "BRASILIA"},
        "26",
        {"00": "br.gov.bcb.pix", "01": "123e4567-e12b-12d1-a456-426655440000"},
    ),
    # The same manual's full example: two merchant account templates (26, 27), a postal code
    # and an unreserved template 80 under another GUID (CRC AD38).
    Published(
        "pix-bcb-manual-full",
        "00020104141234567890123426580014BR.GOV.BCB.PIX0136123e4567-e12b-12d1-a456-426655440000"
        "27300012BR.COM.OUTRO011001234567895204000053039865406123.455802BR5917NOME DO RECEBEDOR"
        "6008BRASILIA61087007490062190515RP12345678-2019"
        "80390012BR.COM.OUTRO01190123.ABCD.3456.WXYZ6304AD38",
        {"04": "12345678901234", "54": "123.45", "61": "70074900"},
        "80",
        {"00": "BR.COM.OUTRO", "01": "0123.ABCD.3456.WXYZ"},
    ),
    # Pix static code with an amount, from thalesog/pix-utils, tests/emvCodes.ts
    # (STATIC_TEST_EMV).
    Published(
        "pix-utils-static",
        "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123520400005303986"
        "540510.005802BR5914Thales Ogliari6015SAO MIGUEL DO O62070503***63044367",
        {"54": "10.00", "60": "SAO MIGUEL DO O"},
        "62",
        {"05": "***"},
    ),
    # Thai PromptPay (tag 58 before 53: EMVCo does not require ascending tags), from
    # dtinth/promptpay-qr, index.test.js ("Local phone number" and "Amount").
    Published(
        "promptpay-phone",
        "00020101021129370016A000000677010111011300668012345675802TH530376463046197",
        {"01": "11", "53": "764", "58": "TH"},
        "29",
        {"00": "A000000677010111", "01": "0066801234567"},
    ),
    Published(
        "promptpay-amount",
        "00020101021229370016A000000677010111011300660000000005802TH530376454044.226304E469",
        {"01": "12", "54": "4.22"},
        "29",
        {"00": "A000000677010111", "01": "0066000000000"},
    ),
]


@pytest.mark.parametrize("published", PUBLISHED, ids=lambda published: published.name)
def test_published_checksum_verifies(published: Published) -> None:
    body, checksum = published.payload[:-4], int(published.payload[-4:], 16)
    assert crc16_ccitt_false(body.encode("utf-8")) == checksum
    assert Crc16CcittFalse.calc(body.encode("utf-8")) == checksum


@pytest.mark.parametrize("published", PUBLISHED, ids=lambda published: published.name)
def test_published_payload_is_read_by_the_generic_walk(published: Published) -> None:
    fields = read_fields(published.payload)
    assert fields[0] == QrField("00", "01")
    assert fields[-1] == QrField("63", published.payload[-4:])
    assert "".join(tlv(field.tag, field.value) for field in fields) == published.payload
    top_level = {field.tag: field.value for field in fields}
    assert {tag: top_level[tag] for tag in published.top_level} == published.top_level
    template = {field.tag: field.value for field in read_fields(top_level[published.template_tag])}
    assert {tag: template[tag] for tag in published.template} == published.template


@pytest.mark.parametrize("published", PUBLISHED, ids=lambda published: published.name)
def test_published_payload_is_not_ours(published: Published) -> None:
    with pytest.raises(QrError) as caught:
        parse(published.payload)
    assert caught.value.code == "qr_unsupported"


@pytest.mark.parametrize("published", PUBLISHED, ids=lambda published: published.name)
def test_published_payload_with_one_character_changed_fails_its_checksum(
    published: Published,
) -> None:
    # Change the last character of a template's value: the top-level structure still reads,
    # only the checksum can tell.
    template = next(
        field for field in read_fields(published.payload) if field.tag == published.template_tag
    )
    end = published.payload.index(tlv(template.tag, template.value)) + 4 + len(template.value)
    replacement = "Q" if published.payload[end - 1] != "Q" else "R"
    tampered = published.payload[: end - 1] + replacement + published.payload[end:]
    assert len(read_fields(tampered)) == len(read_fields(published.payload))
    with pytest.raises(QrError) as caught:
        parse(tampered)
    assert caught.value.code == "qr_crc_mismatch"


# A worked example and the shape of what we write.


def test_worked_example_is_written_exactly() -> None:
    assert encode(SAMPLE) == SAMPLE_PAYLOAD
    assert parse(SAMPLE_PAYLOAD) == SAMPLE


def test_tags_ascend_and_the_checksum_comes_last() -> None:
    tags = [field.tag for field in read_fields(SAMPLE_PAYLOAD)]
    assert tags == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "80", "63"]


def test_static_qr_has_no_amount_and_point_of_initiation_11() -> None:
    static = MerchantQr("mer_1", "Duka", "Mombasa", "KE", "5411", "KES")
    fields = {field.tag: field.value for field in read_fields(encode(static))}
    assert fields["01"] == "11"
    assert not {"54", "62", "80"} & set(fields)
    assert parse(encode(static)) == static
    dynamic = dataclasses.replace(static, amount_minor=1)
    assert {field.tag: field.value for field in read_fields(encode(dynamic))}["01"] == "12"


@pytest.mark.parametrize(
    ("currency", "number", "amount_minor", "written"),
    [
        ("KES", "404", 1250, "12.50"),
        ("KES", "404", 5, "0.05"),
        ("KES", "404", 999_999_999_999, "9999999999.99"),  # the longest tag 54 holds
        ("JPY", "392", 1250, "1250"),
        ("UGX", "800", 9_999_999_999_999, "9999999999999"),
        ("BHD", "048", 1234, "1.234"),
        ("CLF", "990", 1, "0.0001"),
    ],
)
def test_amount_is_written_with_the_currency_exponent_and_read_back_exactly(
    currency: str, number: str, amount_minor: int, written: str
) -> None:
    qr = dataclasses.replace(SAMPLE, currency=currency, amount_minor=amount_minor)
    fields = {field.tag: field.value for field in read_fields(encode(qr))}
    assert (fields["53"], fields["54"]) == (number, written)
    assert parse(encode(qr)).amount_minor == amount_minor


@pytest.mark.parametrize(
    ("written", "amount_minor"), [("12.5", 1250), ("12", 1200), ("012.50", 1250)]
)
def test_shorter_amounts_from_other_writers_are_read_exactly(
    written: str, amount_minor: int
) -> None:
    payload = payload_with({"54": written})
    assert parse(payload).amount_minor == amount_minor


def test_other_schemes_fields_are_skipped() -> None:
    # Our QR can share the code with other networks' templates, a postal code, a language
    # template, another scheme's tag 80 and EMVCo sub-tags of 62 that we do not use.
    qr = dataclasses.replace(SAMPLE, expires_at_s=None)
    payload = with_crc(
        tlv("00", "01")
        + tlv("01", "12")
        + tlv("02", "4000123456789012")  # a Visa merchant id
        + tlv("26", OUR_ACCOUNT)
        + tlv("29", "0012D156000000000510A93FO3230Q")
        + tlv("52", "5411")
        + tlv("53", "404")
        + tlv("54", "12.50")
        + tlv("58", "KE")
        + tlv("59", "Mama Mboga")
        + tlv("60", "Nairobi")
        + tlv("61", "00100")
        + tlv("62", tlv("01", "BILL-1") + tlv("05", "INV-7") + tlv("07", "T1"))
        + tlv("64", tlv("00", "SW") + tlv("01", "Mama Mboga") + tlv("02", "Nairobi"))
        + tlv("80", tlv("00", "BR.COM.OUTRO") + tlv("01", "anything"))
        + tlv("91", tlv("00", "A011223344998877") + tlv("07", "12345678"))
    )
    assert parse(payload) == qr


# Properties.

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
CURRENCIES = sorted(entry.code for entry in Currency if entry.exponent is not None)


def printable(size_max: int) -> st.SearchStrategy[str]:
    return st.text(PRINTABLE, min_size=1, max_size=size_max)


@st.composite
def merchant_qrs(draw: st.DrawFn) -> MerchantQr:
    currency = draw(st.sampled_from(CURRENCIES))
    # Tag 54 holds 13 characters: 13 digits, or 12 digits and a decimal point.
    amount_max = 10**13 - 1 if Currency(currency).exponent == 0 else 10**12 - 1
    return MerchantQr(
        merchant_id=draw(printable(qr_merchant_id_length_max)),
        merchant_name=draw(printable(qr_merchant_name_length_max)),
        merchant_city=draw(printable(qr_merchant_city_length_max)),
        country_code=draw(st.text(st.sampled_from(string.ascii_uppercase), min_size=2, max_size=2)),
        merchant_category_code=draw(
            st.text(st.sampled_from(string.digits), min_size=4, max_size=4)
        ),
        currency=currency,
        amount_minor=draw(st.none() | st.integers(1, amount_max)),
        reference=draw(st.none() | printable(qr_reference_length_max)),
        terminal_id=draw(st.none() | printable(qr_terminal_id_length_max)),
        expires_at_s=draw(st.none() | st.integers(1, qr_expires_at_max_s)),
    )


@given(merchant_qrs())
@example(SAMPLE)
@example(dataclasses.replace(SAMPLE, merchant_name="6304", reference="630400", amount_minor=None))
def test_parse_reads_back_what_encode_wrote(qr: MerchantQr) -> None:
    payload = encode(qr)
    assert len(payload) <= qr_payload_length_max
    assert parse(payload) == qr
    if qr.expires_at_s is not None:
        assert parse(payload, now_s=qr.expires_at_s - 1) == qr


@given(merchant_qrs(), st.data())
def test_any_single_character_changed_is_detected(qr: MerchantQr, data: st.DataObject) -> None:
    payload = encode(qr)
    index = data.draw(st.integers(0, len(payload) - 1), label="index")
    replacement = data.draw(
        (PRINTABLE | st.characters()).filter(lambda character: character != payload[index]),
        label="replacement",
    )
    tampered = payload[:index] + replacement + payload[index + 1 :]
    with pytest.raises(QrError):
        parse(tampered)


@given(merchant_qrs(), st.data())
def test_truncation_is_detected(qr: MerchantQr, data: st.DataObject) -> None:
    payload = encode(qr)
    cut = data.draw(st.integers(0, len(payload) - 1), label="cut")
    with pytest.raises(QrError):
        parse(payload[:cut])


# One row per error code of `parse`, and the encode-side refusals.


def payload_with(changes: dict[str, str | None]) -> str:
    """The sample payload with top-level fields replaced (None removes one), CRC recomputed."""
    fields: dict[str, str | None] = {
        "00": "01",
        "01": "12",
        "26": OUR_ACCOUNT,
        "52": "5411",
        "53": "404",
        "54": "12.50",
        "58": "KE",
        "59": "Mama Mboga",
        "60": "Nairobi",
    }
    fields.update(changes)
    return with_crc("".join(tlv(tag, value) for tag, value in fields.items() if value is not None))


@dataclass(frozen=True)
class BadPayload:
    name: str
    payload: str
    code: str
    now_s: int | None = None


VALID = payload_with({})
EXPIRING = payload_with({"80": tlv("00", HAZINA_GUID) + tlv("01", "1700000000")})
# A checksum with hex letters in it, written in lower case: the checksum itself is right.
LOWER_CASE_CHECKSUM = next(
    payload[:-4] + payload[-4:].lower()
    for payload in (payload_with({"59": f"Shop {number}"}) for number in range(100))
    if payload[-4:] != payload[-4:].lower()
)

BAD_PAYLOADS = [
    BadPayload("empty", "", "qr_malformed"),
    BadPayload("wrong format indicator", "000202" + VALID[6:], "qr_malformed"),
    BadPayload("length overruns the text", "0002015204541", "qr_malformed"),
    BadPayload("non-digit length", "00020152A45411" + VALID[-8:], "qr_malformed"),
    BadPayload("empty field", with_crc("0002015200"), "qr_malformed"),
    BadPayload(
        "duplicate tag", with_crc("000201" + tlv("59", "A") + tlv("59", "B")), "qr_malformed"
    ),
    BadPayload("no checksum", VALID[:-8], "qr_malformed"),
    BadPayload("checksum not last", VALID + tlv("99", "X"), "qr_malformed"),
    BadPayload("checksum length 05", VALID[:-8] + "63050" + VALID[-4:], "qr_malformed"),
    BadPayload("lower-case checksum", LOWER_CASE_CHECKSUM, "qr_malformed"),
    BadPayload(
        "too long",
        payload_with(dict.fromkeys(("81", "82", "83", "84", "85"), "X" * 99)),
        "qr_malformed",
    ),
    BadPayload("broken template", payload_with({"26": "0010com.hazina01"}), "qr_malformed"),
    BadPayload("lone surrogate", VALID[:30] + "\ud800" + VALID[31:], "qr_malformed"),
    BadPayload(
        "checksum altered", VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), "qr_crc_mismatch"
    ),
    BadPayload("content altered", VALID.replace("Mama", "Mami"), "qr_crc_mismatch"),
    BadPayload("another scheme's tag 26", PUBLISHED[1].payload, "qr_unsupported"),
    BadPayload("no tag 26", payload_with({"26": None}), "qr_unsupported"),
    BadPayload(
        "our GUID in tag 27 only",
        payload_with({"26": None, "27": OUR_ACCOUNT}),
        "qr_unsupported",
    ),
    BadPayload("tip indicator", payload_with({"55": "01"}), "qr_unsupported"),
    BadPayload("fixed convenience fee", payload_with({"56": "1.00"}), "qr_unsupported"),
    BadPayload(
        "unknown sub-tag in our template",
        payload_with({"26": OUR_ACCOUNT + tlv("02", "X")}),
        "qr_unsupported",
    ),
    BadPayload(
        "unknown sub-tag in our expiry template",
        payload_with({"80": tlv("00", HAZINA_GUID) + tlv("01", "1700000000") + tlv("02", "X")}),
        "qr_unsupported",
    ),
    BadPayload("unknown currency number", payload_with({"53": "001"}), "qr_currency_unknown"),
    BadPayload("too many decimals", payload_with({"54": "12.505"}), "qr_field_invalid"),
    BadPayload("decimals for JPY", payload_with({"53": "392", "54": "1250.0"}), "qr_field_invalid"),
    BadPayload("signed amount", payload_with({"54": "-12.50"}), "qr_field_invalid"),
    BadPayload("exponent amount", payload_with({"54": "1E3"}), "qr_field_invalid"),
    BadPayload("zero amount", payload_with({"54": "0.00"}), "qr_field_invalid"),
    BadPayload("amount too long", payload_with({"54": "00000000012.50"}), "qr_field_invalid"),
    BadPayload("non-digit currency", payload_with({"53": "KES"}), "qr_field_invalid"),
    BadPayload("gold has no minor unit", payload_with({"53": "959"}), "qr_field_invalid"),
    BadPayload("point of initiation 13", payload_with({"01": "13"}), "qr_field_invalid"),
    BadPayload("static with an amount", payload_with({"01": "11"}), "qr_field_invalid"),
    BadPayload("dynamic without amount", payload_with({"54": None}), "qr_field_invalid"),
    BadPayload("no point of initiation", payload_with({"01": None}), "qr_field_invalid"),
    BadPayload("no merchant name", payload_with({"59": None}), "qr_field_invalid"),
    BadPayload("merchant name too long", payload_with({"59": "M" * 26}), "qr_field_invalid"),
    BadPayload("merchant city too long", payload_with({"60": "C" * 16}), "qr_field_invalid"),
    BadPayload("non-ASCII name", payload_with({"59": "Mama Mbogä"}), "qr_field_invalid"),
    BadPayload("lower-case country", payload_with({"58": "ke"}), "qr_field_invalid"),
    BadPayload("short category code", payload_with({"52": "541"}), "qr_field_invalid"),
    BadPayload("no merchant id", payload_with({"26": tlv("00", HAZINA_GUID)}), "qr_field_invalid"),
    BadPayload(
        "expiry with a leading zero",
        payload_with({"80": tlv("00", HAZINA_GUID) + tlv("01", "01700000000")}),
        "qr_field_invalid",
    ),
    BadPayload(
        "expiry past the limit",
        payload_with({"80": tlv("00", HAZINA_GUID) + tlv("01", str(qr_expires_at_max_s + 1))}),
        "qr_field_invalid",
    ),
    BadPayload("expired exactly now", EXPIRING, "qr_expired", now_s=1_700_000_000),
    BadPayload("expired before now", EXPIRING, "qr_expired", now_s=1_800_000_000),
]


@pytest.mark.parametrize("bad", BAD_PAYLOADS, ids=lambda bad: bad.name)
def test_bad_payload_is_refused_with_its_code(bad: BadPayload) -> None:
    with pytest.raises(QrError) as caught:
        parse(bad.payload, now_s=bad.now_s)
    assert caught.value.code == bad.code
    assert str(caught.value)  # a message for people


def test_every_error_code_has_a_row() -> None:
    assert {bad.code for bad in BAD_PAYLOADS} == {code.value for code in QrErrorCode}


def test_payload_that_is_not_text_is_malformed() -> None:
    with pytest.raises(QrError) as caught:
        parse(VALID.encode())  # type: ignore[arg-type]
    assert caught.value.code == "qr_malformed"


def test_expiry_after_now_is_accepted_and_checked_only_when_asked() -> None:
    assert parse(EXPIRING, now_s=1_699_999_999).expires_at_s == 1_700_000_000
    assert parse(EXPIRING).expires_at_s == 1_700_000_000  # no clock, no expiry check
    assert parse(VALID, now_s=2_000_000_000).expires_at_s is None  # no expiry, never expires


def test_error_is_a_value_error_with_a_stable_code_and_the_field() -> None:
    with pytest.raises(ValueError, match="merchant_name") as caught:
        parse(payload_with({"59": "M" * 26}))
    error = caught.value
    assert isinstance(error, QrError)
    assert error.code == "qr_field_invalid"
    assert error.code is QrErrorCode.field_invalid
    assert error.field == "merchant_name"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("merchant_id", "", "qr_field_invalid"),
        ("merchant_id", "m" * (qr_merchant_id_length_max + 1), "qr_field_invalid"),
        ("merchant_id", "mér_1", "qr_field_invalid"),
        ("merchant_id", 7, "qr_field_invalid"),
        ("merchant_name", "", "qr_field_invalid"),
        ("merchant_name", "n" * (qr_merchant_name_length_max + 1), "qr_field_invalid"),
        ("merchant_name", "tab\tname", "qr_field_invalid"),
        ("merchant_city", "c" * (qr_merchant_city_length_max + 1), "qr_field_invalid"),
        ("country_code", "ke", "qr_field_invalid"),
        ("country_code", "KEN", "qr_field_invalid"),
        ("merchant_category_code", "541", "qr_field_invalid"),
        ("merchant_category_code", "54a1", "qr_field_invalid"),
        ("merchant_category_code", "٥٤١١", "qr_field_invalid"),  # Arabic-Indic digits
        ("currency", "kes", "qr_field_invalid"),
        ("currency", "ZZZ", "qr_currency_unknown"),
        ("currency", "XAU", "qr_field_invalid"),  # gold: no minor unit
        ("amount_minor", 0, "qr_field_invalid"),
        ("amount_minor", -1, "qr_field_invalid"),
        ("amount_minor", True, "qr_field_invalid"),
        ("amount_minor", 12.5, "qr_field_invalid"),
        ("amount_minor", 10**12, "qr_field_invalid"),  # "10000000000.00" is 14 characters
        ("reference", "", "qr_field_invalid"),
        ("reference", "r" * (qr_reference_length_max + 1), "qr_field_invalid"),
        ("terminal_id", "t" * (qr_terminal_id_length_max + 1), "qr_field_invalid"),
        ("expires_at_s", 0, "qr_field_invalid"),
        ("expires_at_s", qr_expires_at_max_s + 1, "qr_field_invalid"),
        ("expires_at_s", True, "qr_field_invalid"),
    ],
)
def test_encode_refuses_a_bad_field(field: str, value: Any, code: str) -> None:
    with pytest.raises(QrError) as caught:
        encode(dataclasses.replace(SAMPLE, **{field: value}))
    assert caught.value.code == code
    if code == "qr_field_invalid":
        assert caught.value.field == field
        assert field in str(caught.value)


def test_longest_fields_fit() -> None:
    longest = MerchantQr(
        merchant_id="m" * qr_merchant_id_length_max,
        merchant_name="n" * qr_merchant_name_length_max,
        merchant_city="c" * qr_merchant_city_length_max,
        country_code="KE",
        merchant_category_code="5411",
        currency="KES",
        amount_minor=999_999_999_999,
        reference="r" * qr_reference_length_max,
        terminal_id="t" * qr_terminal_id_length_max,
        expires_at_s=qr_expires_at_max_s,
    )
    assert parse(encode(longest)) == longest

"""TOTP: RFC 6238's SHA-1 test vectors, the acceptance window's edges, and replay."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.identity.totp import new_totp_secret, provisioning_uri, totp_code, verify_totp
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import totp_drift_steps_max, totp_step_s

# RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")


def fixed_bytes(pattern: bytes) -> Callable[[int], bytes]:
    def random_bytes(count: int) -> bytes:
        return (pattern * count)[:count]

    return random_bytes


@pytest.mark.parametrize(
    ("at_s", "published_8_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_sha1_vectors(at_s: int, published_8_digits: str) -> None:
    # Six-digit truncation keeps the last six digits of the published eight (mod 10**6).
    assert totp_code(RFC_SECRET, at_s) == published_8_digits[-6:]
    assert verify_totp(RFC_SECRET, published_8_digits[-6:], at_s, None) == at_s // totp_step_s


def test_window_is_one_step_either_side() -> None:
    assert (totp_step_s, totp_drift_steps_max) == (30, 1)


CODE_STEP = 10  # the code below belongs to seconds 300..329
CODE = totp_code(RFC_SECRET, CODE_STEP * totp_step_s)


@pytest.mark.parametrize(
    ("now_s", "accepted"),
    [
        (CODE_STEP * totp_step_s - totp_step_s - 1, False),  # 269: two steps early
        (CODE_STEP * totp_step_s - totp_step_s, True),  # 270: first second one step early
        (CODE_STEP * totp_step_s - 1, True),  # 299: the client's clock is ahead
        (CODE_STEP * totp_step_s, True),
        (CODE_STEP * totp_step_s + totp_step_s - 1, True),  # 329: last second of its own step
        (CODE_STEP * totp_step_s + 2 * totp_step_s - 1, True),  # 359: one step late
        (CODE_STEP * totp_step_s + 2 * totp_step_s, False),  # 360: two steps late
    ],
)
def test_window_edges(now_s: int, accepted: bool) -> None:
    result = verify_totp(RFC_SECRET, CODE, now_s, None)
    assert result == (CODE_STEP if accepted else None)


def test_a_code_is_accepted_once() -> None:
    now_s = CODE_STEP * totp_step_s + 5
    step = verify_totp(RFC_SECRET, CODE, now_s, None)
    assert step == CODE_STEP
    assert verify_totp(RFC_SECRET, CODE, now_s, step) is None
    assert verify_totp(RFC_SECRET, CODE, now_s + totp_step_s, step) is None


def test_an_older_code_is_refused_after_a_newer_one() -> None:
    now_s = CODE_STEP * totp_step_s + 5
    previous_code = totp_code(RFC_SECRET, now_s - totp_step_s)
    assert verify_totp(RFC_SECRET, previous_code, now_s, None) == CODE_STEP - 1
    assert verify_totp(RFC_SECRET, previous_code, now_s, CODE_STEP) is None


def test_the_next_code_is_accepted_after_the_current_one() -> None:
    now_s = CODE_STEP * totp_step_s + 5
    next_code = totp_code(RFC_SECRET, now_s + totp_step_s)
    assert verify_totp(RFC_SECRET, next_code, now_s, CODE_STEP) == CODE_STEP + 1


def test_a_wrong_code_is_refused() -> None:
    now_s = CODE_STEP * totp_step_s
    window = {totp_code(RFC_SECRET, now_s + offset * totp_step_s) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    assert verify_totp(RFC_SECRET, wrong, now_s, None) is None


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "12345",
        "1234567",
        "abcdef",
        "28708a",
        " 287082",
        "287082\n",
        "28 7082",
        "\uff12\uff18\uff17\uff10\uff18\uff12",  # full-width digits
        "\u0662\u0668\u0667\u0660\u0668\u0662",  # Arabic-Indic digits
        "-28708",
    ],
)
def test_malformed_codes_are_refused_without_raising(malformed: str) -> None:
    assert verify_totp(RFC_SECRET, malformed, 59, None) is None


def test_the_first_step_after_the_epoch_has_no_earlier_neighbour() -> None:
    assert verify_totp(RFC_SECRET, totp_code(RFC_SECRET, 0), 0, None) == 0


def test_new_secret_is_160_bits_of_base32() -> None:
    secret = new_totp_secret(fixed_bytes(bytes(range(20))))
    assert secret == base64.b32encode(bytes(range(20))).decode("ascii")
    assert len(secret) == 32
    assert base64.b32decode(secret) == bytes(range(20))


def test_a_short_random_source_is_a_bug() -> None:
    with pytest.raises(InvariantViolationError):
        new_totp_secret(lambda count: b"\x00" * (count - 1))


def test_provisioning_uri_carries_secret_issuer_and_account() -> None:
    uri = provisioning_uri(RFC_SECRET, "alice@example.com")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "otpauth",
        "totp",
        "/Hazina:alice%40example.com",
    )
    query = parse_qs(parts.query)
    assert query["secret"] == [RFC_SECRET]
    assert query["issuer"] == ["Hazina"]
    assert "issuer=Acme" in provisioning_uri(RFC_SECRET, "bob", issuer="Acme")


@given(
    seed=st.binary(min_size=20, max_size=20),
    at_s=st.integers(min_value=0, max_value=2**40),
)
def test_the_current_code_always_verifies_at_its_own_step(seed: bytes, at_s: int) -> None:
    secret = new_totp_secret(lambda count: seed[:count])
    code = totp_code(secret, at_s)
    assert verify_totp(secret, code, at_s, None) == at_s // totp_step_s
    assert verify_totp(secret, code, at_s, at_s // totp_step_s) is None

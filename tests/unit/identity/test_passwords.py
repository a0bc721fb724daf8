"""Passwords: argon2id round trips, malformed hashes, rehash detection, and the policy table."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher, Type
from hypothesis import given, settings
from hypothesis import strategies as st

from hazina.identity.passwords import (
    PasswordPolicyError,
    PasswordWeakness,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import password_length_max, password_length_min

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stored_hash() -> str:
    # One hash shared by the module: argon2 is slow on purpose.
    return hash_password(PASSWORD)


def test_hash_is_argon2id_at_the_named_parameters(stored_hash: str) -> None:
    assert stored_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored_hash


def test_round_trip_and_wrong_password(stored_hash: str) -> None:
    assert verify_password(stored_hash, PASSWORD) is True
    assert verify_password(stored_hash, PASSWORD + " ") is False
    assert verify_password(stored_hash, PASSWORD.upper()) is False
    assert verify_password(stored_hash, "") is False


def test_each_hash_has_its_own_salt(stored_hash: str) -> None:
    again = hash_password(PASSWORD)
    assert again != stored_hash
    assert verify_password(again, PASSWORD) is True


def test_passwords_are_compared_after_nfkc_normalisation() -> None:
    decomposed = "cafe\u0301 au lait, s'il vous plait"
    composed = unicodedata.normalize("NFC", decomposed)
    assert composed != decomposed
    assert verify_password(hash_password(decomposed), composed) is True


def test_an_overlong_attempt_is_refused_without_hashing(stored_hash: str) -> None:
    assert verify_password(stored_hash, "x" * (password_length_max + 1)) is False


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "nonsense",
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$abc$def",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=19456,t=2,p=1$\u00e9\u00e9\u00e9$\u00e9\u00e9\u00e9",
        "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43,
        "$argon2id$v=99$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43,
    ],
)
def test_malformed_hash_verifies_false_and_needs_rehash(malformed: str) -> None:
    assert verify_password(malformed, PASSWORD) is False
    assert needs_rehash(malformed) is True


@given(st.text(max_size=120))
def test_no_stored_value_makes_verification_raise(stored_value: str) -> None:
    assert verify_password("$argon2id$" + stored_value, PASSWORD) is False
    assert verify_password(stored_value, PASSWORD) is False


def test_truncated_hash_verifies_false(stored_hash: str) -> None:
    assert verify_password(stored_hash[:-5], PASSWORD) is False


def test_a_fresh_hash_needs_no_rehash(stored_hash: str) -> None:
    assert needs_rehash(stored_hash) is False


def test_a_hash_made_with_other_parameters_verifies_and_needs_rehash() -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    old_hash = weaker.hash(PASSWORD)
    assert verify_password(old_hash, PASSWORD) is True
    assert needs_rehash(old_hash) is True


def test_hashing_an_empty_password_is_a_bug() -> None:
    with pytest.raises(InvariantViolationError):
        hash_password("")


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "vinegar-tide",  # exactly the minimum length
        "v8#Lq2!mZp0w",
        "Kilimanjaro at dawn",
        "mimi ni mkenya kabisa",
        "\u00f1and\u00fa \u00fcber stra\u00dfe",
        "\ufb01x my bike!",  # eleven characters typed, twelve after NFKC ("fi" ligature)
        "839201746352",  # twelve random digits: no composition rule refuses them
        "abcd1234" * (password_length_max // 8),  # exactly the maximum length
    ],
)
def test_policy_accepts(password: str) -> None:
    check_password_policy(password)


@pytest.mark.parametrize(
    ("password", "weakness"),
    [
        ("", PasswordWeakness.too_short),
        ("short1!", PasswordWeakness.too_short),
        ("vinegar-tid", PasswordWeakness.too_short),  # one under the minimum
        ("abcd1234" * (password_length_max // 8) + "x", PasswordWeakness.too_long),
        ("aaaaaaaaaaaa", PasswordWeakness.repetitive),
        ("abababababab", PasswordWeakness.repetitive),
        ("123123123123", PasswordWeakness.repetitive),
        ("aaaaaaaaaaaaaaaaaaab", PasswordWeakness.repetitive),
        ("abcdefghijkl", PasswordWeakness.sequential),
        ("ZYXWVUTSRQPO", PasswordWeakness.sequential),
        ("890123456789", PasswordWeakness.sequential),
        ("987654321098", PasswordWeakness.sequential),
        ("Password2024!", PasswordWeakness.common),
        ("P@ssw0rd12345", PasswordWeakness.common),
        ("!!2024welcome!!", PasswordWeakness.common),
        ("hazina123456", PasswordWeakness.common),
        ("1q2w3e4r5t6y", PasswordWeakness.common),
        ("QWERTYUIOPASDFGHJKL", PasswordWeakness.common),
        ("passwordpassword", PasswordWeakness.common),
    ],
)
def test_policy_refuses(password: str, weakness: PasswordWeakness) -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        check_password_policy(password)
    assert caught.value.weakness is weakness
    assert caught.value.code == "password_too_weak"
    assert isinstance(caught.value, ValueError)


@settings(max_examples=200)
@given(st.text(max_size=password_length_max + 50))
def test_length_is_judged_after_normalisation_and_shape_only_within_it(password: str) -> None:
    length = len(unicodedata.normalize("NFKC", password))
    if not password_length_min <= length <= password_length_max:
        with pytest.raises(PasswordPolicyError):
            check_password_policy(password)
        return
    weakness: PasswordWeakness | None = None
    try:
        check_password_policy(password)
    except PasswordPolicyError as error:
        weakness = error.weakness
    assert weakness not in {PasswordWeakness.too_short, PasswordWeakness.too_long}

"""Passwords: a length-first policy (NIST SP 800-63B) and argon2id hashes.

Every password is NFKC-normalised before it is checked or hashed, so the same password typed on
two keyboards that encode an accented letter differently still matches (800-63B asks for this).
Changing the normalisation would orphan every stored hash, so it is fixed here for good.

Argon2 draws each salt from the operating system's random source itself: that is the one piece
of randomness this package does not take as a parameter, because a salt changes no decision the
simulator could replay and the library offers no safe way to pass one in through its hasher.
"""

from __future__ import annotations

import string
import unicodedata
from enum import StrEnum
from itertools import pairwise
from typing import ClassVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    password_hash_lanes,
    password_hash_length_bytes,
    password_hash_memory_bytes,
    password_hash_passes,
    password_length_max,
    password_length_min,
    password_salt_length_bytes,
)

_argon2id_prefix = "$argon2id$"

_hasher = PasswordHasher(
    time_cost=password_hash_passes,
    memory_cost=password_hash_memory_bytes // 1_024,  # argon2 counts memory in KiB
    parallelism=password_hash_lanes,
    hash_len=password_hash_length_bytes,
    salt_len=password_salt_length_bytes,
    type=Type.ID,
)

# Twelve characters drawn from three or fewer symbols ("abababababab") are far weaker than
# their length suggests.
_distinct_characters_needed = 4

# Whole passwords, lower-cased, that breach corpora show people choose at twelve characters or
# more. Shorter favourites are already refused by length.
_common_passwords: frozenset[str] = frozenset(
    {
        "123456789123",
        "1234567891011",
        "123123123123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "qazwsxedcrfv",
        "zaq12wsxcde3",
        "qwertyuiop12",
        "qwerty123456",
        "qwertyuiopasdfghjkl",
        "asdfghjkl123",
        "passwordpassword",
        "iloveyouiloveyou",
    }
)

# Words people pad with digits and symbols to reach a length rule ("Password2024!"): a password
# that is one of these once the padding at either end is stripped is refused. The platform's
# own names are here because attackers try them first against this service.
_common_words: frozenset[str] = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty",
        "qwertyuiop",
        "asdfghjkl",
        "iloveyou",
        "admin",
        "administrator",
        "welcome",
        "letmein",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "superman",
        "trustno1",
        "changeme",
        "secret",
        "hazina",
        "mpesa",
    }
)

_padding_characters = string.digits + string.punctuation + string.whitespace


class PasswordWeakness(StrEnum):
    """Why a password was refused, in the order the policy checks."""

    too_short = "too_short"
    too_long = "too_long"
    repetitive = "repetitive"
    sequential = "sequential"
    common = "common"


class PasswordPolicyError(ValueError):
    """A new password that the policy refuses; `weakness` says why, for the person choosing."""

    code: ClassVar[str] = "password_too_weak"

    def __init__(self, weakness: PasswordWeakness, message: str) -> None:
        super().__init__(message)
        self.weakness = weakness


def _normalized(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _is_sequential(lowered: str) -> bool:
    """True for a straight run such as "abcdefghijkl", "zyxwvutsrqpo" or "234567890123"."""
    if lowered.isascii() and lowered.isdigit():
        # Digits run on past 9 to 0 ("890123"), so their steps are counted modulo ten.
        steps = {(int(after) - int(before)) % 10 for before, after in pairwise(lowered)}
        return steps in ({1}, {9})
    steps = {ord(after) - ord(before) for before, after in pairwise(lowered)}
    return steps in ({1}, {-1})


def _is_common(lowered: str) -> bool:
    if lowered in _common_passwords or lowered in _common_words:
        return True
    return lowered.strip(_padding_characters) in _common_words


def check_password_policy(password: str) -> None:
    """Raise `PasswordPolicyError` unless `password` is acceptable as a new password.

    Length is the rule; there are no composition rules (800-63B: they push people to predictable
    substitutions). Beyond length, only the shapes attackers try first are refused: one or a few
    characters repeated, straight runs, and common passwords with their padding stripped.
    """
    normalized = _normalized(password)
    length = len(normalized)
    if length < password_length_min:
        raise PasswordPolicyError(
            PasswordWeakness.too_short,
            f"a password needs at least {password_length_min} characters, got {length}",
        )
    if length > password_length_max:
        raise PasswordPolicyError(
            PasswordWeakness.too_long,
            f"a password may have at most {password_length_max} characters, got {length}",
        )
    lowered = normalized.casefold()
    if len(set(lowered)) < _distinct_characters_needed:
        raise PasswordPolicyError(
            PasswordWeakness.repetitive,
            f"a password needs at least {_distinct_characters_needed} different characters",
        )
    if _is_sequential(lowered):
        raise PasswordPolicyError(
            PasswordWeakness.sequential, "a password must not be a straight run of characters"
        )
    if _is_common(lowered):
        raise PasswordPolicyError(
            PasswordWeakness.common, "this password is among the first that attackers try"
        )


def hash_password(password: str) -> str:
    """Hash a password with argon2id at the current parameters, as a PHC string.

    The caller checks the policy first (for a new password) or verifies it (when rehashing).
    """
    normalized = _normalized(password)
    invariant(
        0 < len(normalized) <= password_length_max,
        "hash_password needs a password that passed the policy or a verification",
    )
    stored_hash = _hasher.hash(normalized)
    invariant(stored_hash.startswith(_argon2id_prefix), "argon2 returned an unexpected format")
    return stored_hash


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches `stored_hash`; False on a mismatch or a malformed hash."""
    normalized = _normalized(password)
    # No stored password can be empty or over the limit, so those attempts skip the costly hash.
    if not 0 < len(normalized) <= password_length_max:
        return False
    # A PHC string is ASCII; argon2 would raise UnicodeEncodeError on anything else.
    if not stored_hash.isascii():
        return False
    try:
        matched = _hasher.verify(stored_hash, normalized)
    except (VerificationError, InvalidHashError):
        return False
    invariant(matched is True, "argon2 verify returns True or raises")
    return True


def needs_rehash(stored_hash: str) -> bool:
    """True when `stored_hash` was made with other parameters than today's, or is malformed.

    Call it after a successful `verify_password`, while the plaintext is at hand, and store
    `hash_password(password)` in its place: hashes follow the limits up as hardware improves.
    """
    if not stored_hash.isascii():
        return True
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True

"""API keys: issue, parse and verify with a deterministic random source; malformed keys."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina.identity.api_keys import (
    ApiKeyError,
    IssuedApiKey,
    issue_api_key,
    parse_api_key,
    verify_api_key_secret,
)
from hazina.kernel.invariant import InvariantViolationError

KEY_SHAPE = re.compile(r"hzk_([a-z2-7]{12})_([A-Za-z0-9_-]{32})")


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def replaying(*chunks: bytes) -> Callable[[int], bytes]:
    """A source that hands out `chunks` in order, checking each request's size."""
    pending = list(chunks)

    def random_bytes(count: int) -> bytes:
        chunk = pending.pop(0)
        assert len(chunk) == count
        return chunk

    return random_bytes


def test_issue_from_pinned_bytes() -> None:
    issued = issue_api_key(replaying(b"\x00" * 8, b"\xff" * 24))
    # All-ones bytes are all "_" in base64url: the secret may contain the separator.
    assert issued == IssuedApiKey(
        key_id="aaaaaaaaaaaa",
        plaintext="hzk_aaaaaaaaaaaa_" + "_" * 32,
        secret_hash=hashlib.sha256(b"_" * 32).hexdigest(),
        display_prefix="hzk_aaaaaaaaaaaa_\u2026",
    )
    assert parse_api_key(issued.plaintext) == ("aaaaaaaaaaaa", "_" * 32)


def test_issue_parse_verify_round_trip() -> None:
    issued = issue_api_key(seeded(7))
    match = KEY_SHAPE.fullmatch(issued.plaintext)
    assert match is not None
    assert match.group(1) == issued.key_id
    key_id, secret = parse_api_key(issued.plaintext)
    assert (key_id, secret) == (issued.key_id, match.group(2))
    assert issued.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in issued.display_prefix
    assert issued.display_prefix == f"hzk_{issued.key_id}_\u2026"
    assert verify_api_key_secret(secret, issued.secret_hash) is True


def test_the_same_randomness_gives_the_same_key_and_other_randomness_another() -> None:
    assert issue_api_key(seeded(1)) == issue_api_key(seeded(1))
    first, second = issue_api_key(seeded(1)), issue_api_key(seeded(2))
    assert first.key_id != second.key_id
    assert first.secret_hash != second.secret_hash


def test_a_tampered_or_foreign_secret_is_refused() -> None:
    issued = issue_api_key(seeded(7))
    _, secret = parse_api_key(issued.plaintext)
    flipped = ("B" if secret[0] == "A" else "A") + secret[1:]
    assert verify_api_key_secret(flipped, issued.secret_hash) is False
    assert verify_api_key_secret(secret[:-1], issued.secret_hash) is False
    _, other_secret = parse_api_key(issue_api_key(seeded(8)).plaintext)
    assert verify_api_key_secret(other_secret, issued.secret_hash) is False


@pytest.mark.parametrize("stored_hash", ["", "00" * 32, "\u00e9" * 64, "not hex"])
def test_a_wrong_or_odd_stored_hash_verifies_false(stored_hash: str) -> None:
    assert verify_api_key_secret("A" * 32, stored_hash) is False


def test_a_short_random_source_is_a_bug() -> None:
    with pytest.raises(InvariantViolationError):
        issue_api_key(lambda count: b"\x00" * (count - 1))


GOOD = "hzk_abcdefgh2345_" + "Aa0-_" * 6 + "zz"


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "hzk_",
        "hzk__",
        GOOD[:-1],
        GOOD + "A",
        " " + GOOD[:-1],
        GOOD[:-1] + "\n",
        "hzx" + GOOD[3:],
        "HZK" + GOOD[3:],
        "hzk-" + GOOD[4:],
        "hzk_ABCDEFGH2345_" + GOOD[17:],  # upper-case key id
        "hzk_abcdefgh-345_" + GOOD[17:],
        "hzk_abcdefgh\u00e9345_" + GOOD[17:],
        "hzk_abcdefgh2345" + "x" + GOOD[17:],  # separator missing
        "hzk_abcdefgh234__" + GOOD[17:],  # key id too short, secret too long
        GOOD[:17] + "=" + GOOD[18:],
        GOOD[:17] + "+" + GOOD[18:],
        GOOD[:17] + "/" + GOOD[18:],
        GOOD[:17] + "\u00e9" + GOOD[18:],
    ],
)
def test_malformed_keys_are_refused(presented: str) -> None:
    with pytest.raises(ApiKeyError) as caught:
        parse_api_key(presented)
    assert caught.value.code == "api_key_malformed"
    assert isinstance(caught.value, ValueError)


def test_the_malformed_table_is_built_around_a_good_key() -> None:
    assert parse_api_key(GOOD) == ("abcdefgh2345", GOOD[17:])


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=24, max_size=24))
def test_every_issued_key_parses_back_and_verifies(key_id_bytes: bytes, secret: bytes) -> None:
    issued = issue_api_key(replaying(key_id_bytes, secret))
    assert KEY_SHAPE.fullmatch(issued.plaintext) is not None
    key_id, presented_secret = parse_api_key(issued.plaintext)
    assert key_id == issued.key_id
    assert verify_api_key_secret(presented_secret, issued.secret_hash) is True

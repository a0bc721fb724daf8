"""API keys: `hzk_<key_id>_<secret>`, shown once, stored only as a SHA-256 of the secret.

The key id is public (it names the key in logs, lists and the database); the secret is 192
random bits. A secret that strong cannot be guessed, so a fast hash is enough and keeps every
authenticated request cheap; passwords, which people choose, get argon2 instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import api_key_secret_bytes

_prefix = "hzk"
_key_id_length = 12
# The key id is base32 (a-z, 2-7) of these bytes, cut to twelve characters: 60 random bits,
# lower-case so it reads aloud and sorts the same in every database collation.
_key_id_bytes = 8
_secret_length = 32  # base64url of api_key_secret_bytes, which divides by three: no padding
_plaintext_length = len(_prefix) + 1 + _key_id_length + 1 + _secret_length

_key_id_characters = frozenset(string.ascii_lowercase + string.digits)
_secret_characters = frozenset(string.ascii_letters + string.digits + "-_")


class ApiKeyError(ValueError):
    """A presented API key that is not shaped like one this platform issues."""

    code: ClassVar[str] = "api_key_malformed"


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key: give `plaintext` to its owner once; store `key_id` and `secret_hash`."""

    key_id: str
    plaintext: str
    secret_hash: str  # hex SHA-256 of the secret
    display_prefix: str  # what lists show, e.g. "hzk_abcd2345wxyz_…"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_api_key(random_bytes: Callable[[int], bytes]) -> IssuedApiKey:
    """Make a new key from `random_bytes` (the operating system's in production)."""
    key_id_raw = random_bytes(_key_id_bytes)
    secret_raw = random_bytes(api_key_secret_bytes)
    invariant(
        len(key_id_raw) == _key_id_bytes and len(secret_raw) == api_key_secret_bytes,
        "the random source returned the wrong number of bytes",
    )
    key_id = base64.b32encode(key_id_raw).decode("ascii").lower()[:_key_id_length]
    secret = base64.urlsafe_b64encode(secret_raw).decode("ascii")
    plaintext = f"{_prefix}_{key_id}_{secret}"
    invariant(parse_api_key(plaintext) == (key_id, secret), "an issued key must parse back")
    return IssuedApiKey(
        key_id=key_id,
        plaintext=plaintext,
        secret_hash=secret_hash(secret),
        display_prefix=f"{_prefix}_{key_id}_\N{HORIZONTAL ELLIPSIS}",
    )


def parse_api_key(presented: str) -> tuple[str, str]:
    """Split a presented key into (key_id, secret); `ApiKeyError` if it is not well formed."""
    if len(presented) != _plaintext_length:
        raise ApiKeyError(f"an API key has {_plaintext_length} characters")
    # The secret's alphabet includes "_", so only the first two underscores separate fields.
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != _prefix:
        raise ApiKeyError(f"an API key starts with {_prefix}_")
    if len(key_id) != _key_id_length or not set(key_id) <= _key_id_characters:
        raise ApiKeyError(f"an API key id is {_key_id_length} lower-case letters and digits")
    if len(secret) != _secret_length or not set(secret) <= _secret_characters:
        raise ApiKeyError(f"an API key secret is {_secret_length} base64url characters")
    return key_id, secret


def verify_api_key_secret(secret: str, stored_hash: str) -> bool:
    """True when `secret` hashes to `stored_hash`, compared in constant time."""
    # Bytes, not str: compare_digest refuses non-ASCII str, and a stored value is not trusted.
    return hmac.compare_digest(secret_hash(secret).encode("ascii"), stored_hash.encode("utf-8"))

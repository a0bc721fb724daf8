"""Time-based one-time passwords (RFC 6238: HMAC-SHA-1, six digits, 30-second steps).

Authenticator apps only speak the RFC's defaults, so those are fixed here. The caller owns the
clock and the randomness and passes them in; it also stores the last accepted time step per
user, because a code must never be accepted twice (RFC 6238 section 5.2).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable

import pyotp

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import totp_drift_steps_max, totp_step_s

_secret_bytes = 20  # 160 bits, the HMAC-SHA-1 block-friendly length RFC 4226 recommends
_code_digits = 6


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=_code_digits, interval=totp_step_s)


def new_totp_secret(random_bytes: Callable[[int], bytes]) -> str:
    """A new shared secret: 160 random bits as unpadded base32, as authenticator apps expect."""
    raw = random_bytes(_secret_bytes)
    invariant(len(raw) == _secret_bytes, "the random source returned the wrong number of bytes")
    secret = base64.b32encode(raw).decode("ascii")
    invariant(len(secret) == 32 and "=" not in secret, "160 bits are 32 base32 characters")
    return secret


def provisioning_uri(secret: str, account_name: str, issuer: str = "Hazina") -> str:
    """The `otpauth://` URI an authenticator app scans from a QR code."""
    invariant(account_name != "" and issuer != "", "account name and issuer must not be empty")
    return _totp(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def totp_code(secret: str, at_s: int) -> str:
    """The six-digit code for the step containing `at_s` (seconds since the Unix epoch)."""
    invariant(at_s >= 0, "time must not be before the Unix epoch")
    code = _totp(secret).generate_otp(at_s // totp_step_s)
    invariant(len(code) == _code_digits and code.isdigit(), "a code is six digits")
    return code


def _is_well_formed(code: str) -> bool:
    # isdigit alone would admit other scripts' digits ("١٢٣٤٥٦"), which no app produces.
    return len(code) == _code_digits and code.isascii() and code.isdigit()


def verify_totp(secret: str, code: str, now_s: int, last_used_step: int | None) -> int | None:
    """The time step `code` belongs to, or None when it is wrong, stale, replayed or malformed.

    Steps from `totp_drift_steps_max` before to as many after the current one are accepted, for
    clock skew and the time it takes to type. A step at or before `last_used_step` is refused:
    the caller stores the step returned here and passes it back next time.
    """
    invariant(now_s >= 0, "time must not be before the Unix epoch")
    if not _is_well_formed(code):
        return None
    generator = _totp(secret)
    current_step = now_s // totp_step_s
    accepted_step: int | None = None
    # Every candidate is compared, matched or not, so the time taken does not tell an attacker
    # which step was right. When two steps share a code, the later one is taken: storing it
    # then refuses the most.
    first_step = max(0, current_step - totp_drift_steps_max)
    for step in range(first_step, current_step + totp_drift_steps_max + 1):
        matches = hmac.compare_digest(generator.generate_otp(step), code)
        fresh = last_used_step is None or step > last_used_step
        if matches and fresh:
            accepted_step = step
    invariant(
        accepted_step is None or abs(accepted_step - current_step) <= totp_drift_steps_max,
        "accepted a step outside the window",
    )
    return accepted_step

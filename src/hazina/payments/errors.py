"""Why a payment request was refused: one error type with a stable code and a kind.

The kind says what the caller can do about it (the HTTP layer maps it to a status):
`not_found` (404), `conflict` (409: the state of things forbids it now), `refused` (422: a
business rule says no), `invalid` (422: the request itself is wrong). Codes follow ISO 20022
reason codes where one fits (`iso20022`).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    not_found = "not_found"
    conflict = "conflict"
    refused = "refused"
    invalid = "invalid"


_iso20022 = {
    "insufficient_funds": "AM04",
    "wallet_closed": "AC04",
    "wallet_frozen": "AC06",
    "limit_per_transaction": "AM02",
    "limit_daily_volume": "AM03",
    "limit_monthly_volume": "AM03",
    "limit_max_balance": "AM14",
    "wallet_not_found": "AC01",
}


class PaymentError(Exception):
    """A refused request. Nothing of it was applied."""

    def __init__(self, code: str, kind: ErrorKind, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.message = message
        self.details = details

    @property
    def iso20022(self) -> str | None:
        return _iso20022.get(self.code)

    def __repr__(self) -> str:
        return f"PaymentError({self.code!r}, {self.message!r})"


class IdempotentReplayError(Exception):
    """The idempotency key was used before with the same request: here is what it answered."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__("replayed")
        self.status = status
        self.body = body


def not_found(code: str, message: str, **details: object) -> PaymentError:
    return PaymentError(code, ErrorKind.not_found, message, **details)


def conflict(code: str, message: str, **details: object) -> PaymentError:
    return PaymentError(code, ErrorKind.conflict, message, **details)


def refused(code: str, message: str, **details: object) -> PaymentError:
    return PaymentError(code, ErrorKind.refused, message, **details)


def invalid(code: str, message: str, **details: object) -> PaymentError:
    return PaymentError(code, ErrorKind.invalid, message, **details)

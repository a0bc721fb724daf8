"""Why a case request was refused: one error type with a stable code and a kind.

As with payments' `PaymentError`, the kind says what the caller can do about it (the HTTP layer
maps it to a status): `not_found` (404), `conflict` (409: the case's state forbids it now),
`invalid` (422: the request itself is wrong). Nothing of a refused request is written.
"""

from __future__ import annotations

from enum import StrEnum


class CaseErrorKind(StrEnum):
    not_found = "not_found"
    conflict = "conflict"
    invalid = "invalid"


class CaseError(Exception):
    """A refused case request. Codes are stable: callers and tests match on them."""

    def __init__(self, code: str, kind: CaseErrorKind, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"CaseError({self.code!r}, {self.message!r})"


def not_found(code: str, message: str, **details: object) -> CaseError:
    return CaseError(code, CaseErrorKind.not_found, message, **details)


def conflict(code: str, message: str, **details: object) -> CaseError:
    return CaseError(code, CaseErrorKind.conflict, message, **details)


def invalid(code: str, message: str, **details: object) -> CaseError:
    return CaseError(code, CaseErrorKind.invalid, message, **details)

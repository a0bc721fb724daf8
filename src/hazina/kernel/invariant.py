"""`invariant()` checks a condition that must hold, and raises even under `python -O`."""

from __future__ import annotations


class InvariantViolationError(AssertionError):
    """A condition the code relies on does not hold: a bug, never a business failure."""


def invariant(condition: bool, message: str = "invariant violated") -> None:
    """Raise `InvariantViolationError` unless `condition` holds; never stripped like `assert`."""
    if not condition:
        raise InvariantViolationError(message)

"""`invariant()` raises whenever its condition fails, even under `python -O`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hazina.kernel.invariant import InvariantViolationError, invariant


def test_a_holding_invariant_is_silent() -> None:
    invariant(True, "never raised")
    invariant(1 + 1 == 2)


def test_a_broken_invariant_raises_with_its_message() -> None:
    with pytest.raises(InvariantViolationError, match="balances must balance"):
        invariant(False, "balances must balance")
    with pytest.raises(InvariantViolationError, match="invariant violated"):
        invariant(False)


def test_it_is_an_assertion_error_not_a_business_failure() -> None:
    assert issubclass(InvariantViolationError, AssertionError)
    assert not issubclass(InvariantViolationError, ValueError)


def test_it_raises_even_when_asserts_are_stripped() -> None:
    program = (
        "from hazina.kernel.invariant import invariant\n"
        "assert False, 'asserts are stripped under -O'\n"
        "invariant(False, 'still checked')\n"
    )
    run = subprocess.run(
        [sys.executable, "-O", "-c", program], capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "InvariantViolationError: still checked" in run.stderr

"""The named limits are consistent with each other and with 64-bit database columns."""

from __future__ import annotations

import re

from hazina.kernel import limits

SIGNED_64_MAX = 2**63 - 1


def named_limits() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(limits).items()
        if not name.startswith("_") and isinstance(value, int)
    }


def test_every_limit_is_a_positive_integer_named_with_its_unit_last() -> None:
    found = named_limits()
    assert len(found) >= 15
    for name, value in found.items():
        assert type(value) is int, name
        assert value > 0, name
        units = "max|min|ms|us|s|bytes|pages|passes|lanes|minor_units"
        assert re.fullmatch(rf"[a-z][a-z0-9_]*_({units})", name), name


def test_ledger_values_fit_signed_64_bit_columns() -> None:
    assert limits.ledger_id_max == SIGNED_64_MAX
    assert limits.ledger_amount_max == SIGNED_64_MAX
    assert limits.ledger_user_data_64_max == 2**64 - 1  # stored two's-complement
    assert limits.ledger_user_data_128_max == 2**128 - 1
    assert limits.ledger_user_data_32_max == 2**32 - 1
    assert limits.ledger_ledger_max == 2**32 - 1
    assert limits.ledger_code_max == 2**16 - 1
    # The longest timeout, in nanoseconds, from any time in this century, still fits.
    year_2100_ns = 4_102_444_800 * 10**9
    assert year_2100_ns + limits.ledger_timeout_seconds_max * 10**9 < SIGNED_64_MAX


def test_batches_and_pages() -> None:
    assert limits.transfer_batch_size_max == limits.account_batch_size_max == 8_189
    assert limits.query_limit_max >= limits.transfer_batch_size_max
    assert limits.pending_expiry_batch_max >= 1
    assert 1 <= limits.group_commit_requests_max <= 1_024
    assert limits.serialization_retries_max >= 1
    assert limits.serialization_retry_backoff_ms * limits.serialization_retries_max < 10_000
    assert limits.database_busy_timeout_ms >= 1_000

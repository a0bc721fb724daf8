"""Every named limit of the platform, units last (TIGER_STYLE).

The ledger stores identifiers and amounts in native 64-bit integer columns on both SQLite and
PostgreSQL, so they are unsigned 63-bit values: the top value of that range is reserved
("int max", as TigerBeetle reserves 2**128 - 1).
"""

from __future__ import annotations

from typing import Final

# Ledger value ranges.
ledger_id_max: Final = 2**63 - 1  # reserved: ids must be below it
ledger_amount_max: Final = 2**63 - 1  # no amount or balance counter may exceed it
ledger_user_data_128_max: Final = 2**128 - 1
ledger_user_data_64_max: Final = 2**64 - 1
ledger_user_data_32_max: Final = 2**32 - 1
ledger_ledger_max: Final = 2**32 - 1
ledger_code_max: Final = 2**16 - 1
ledger_timeout_seconds_max: Final = 2**32 - 1

# Ledger batching.
transfer_batch_size_max: Final = 8_189  # as TigerBeetle: events per request
account_batch_size_max: Final = 8_189
query_limit_max: Final = 8_189  # rows per lookup or query page
group_commit_requests_max: Final = 64  # caller requests gathered into one database transaction
group_commit_wait_ms: Final = 1  # how long the committer lingers for more callers
pending_expiry_batch_max: Final = 8_189  # expired pending transfers voided per commit

# Storage.
database_busy_timeout_ms: Final = 30_000
serialization_retries_max: Final = 16  # retries on SQLSTATE 40001 / 40P01
serialization_retry_backoff_ms: Final = 2

# Identity.
password_length_min: Final = 12  # characters; length is what resists guessing (NIST 800-63B)
password_length_max: Final = 1_024  # characters; bounds the work a login attempt can demand
password_hash_passes: Final = 2  # argon2id time cost (OWASP: 19 MiB, 2 passes, 1 lane)
password_hash_memory_bytes: Final = 19 * 1_024 * 1_024
password_hash_lanes: Final = 1  # one lane per hash, so concurrent logins use the other cores
password_hash_length_bytes: Final = 32
password_salt_length_bytes: Final = 16
totp_step_s: Final = 30
totp_drift_steps_max: Final = 1  # steps either side of now, for clock skew and typing time
api_key_secret_bytes: Final = 24  # 192 bits: 32 base64url characters, no padding

# EMVCo QR.
qr_payload_length_max: Final = 512  # EMVCo MPM: a whole payload, in characters
qr_field_length_max: Final = 99  # a field's length is two decimal digits
qr_merchant_id_length_max: Final = 81  # tag 26 holds 99: 14 for our GUID, 4 for the id's header
qr_merchant_name_length_max: Final = 25  # tag 59
qr_merchant_city_length_max: Final = 15  # tag 60
qr_amount_length_max: Final = 13  # tag 54, decimal point included
qr_reference_length_max: Final = 25  # tag 62 sub-tag 05
qr_terminal_id_length_max: Final = 25  # tag 62 sub-tag 07
qr_expires_at_max_s: Final = 2**32 - 1  # Unix seconds (year 2106): ten digits in tag 80

# HTTP API.
request_id_length_max: Final = 128  # characters of an accepted X-Request-ID header
rate_limit_keys_max: Final = 65_536  # clients one rate limiter remembers; the least recent go
page_limit_max: Final = 100  # items per page of a list endpoint
page_cursor_length_max: Final = 256  # characters of a `starting_after` cursor
amount_integer_digits_max: Final = 19  # a zero-decimal amount up to ledger_amount_max
amount_fraction_digits_max: Final = 4  # the most minor-unit digits in ISO 4217 (CLF, UYW)

# Payments tariffs and limits.
tariff_bands_max: Final = 64  # fee or commission bands per transaction type of one tariff
tariff_versions_max: Final = 1_024  # tariff versions one schedule holds
tariff_basis_points_max: Final = 10_000  # a percentage fee takes at most the whole amount

# Payments.
bank_transfer_timeout_s: Final = 86_400  # a bank has a day to confirm before the hold is voided
voucher_lifetime_s: Final = 7 * 86_400  # an unclaimed voucher is refunded after a week
statement_page_max: Final = 500  # entries per statement page
operator_session_lifetime_s: Final = 8 * 3_600  # an operator's login lasts one working day
api_rate_per_second_max: Final = 5_000  # requests per second per credential, refilled steadily
api_rate_burst_max: Final = 10_000  # requests one credential may send at once
housekeeping_interval_s: Final = 5  # how often the server voids timed-out holds and vouchers

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

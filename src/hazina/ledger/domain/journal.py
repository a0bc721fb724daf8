"""The tamper-evident journal: each committed database transaction carries a SHA-256 hash
chained to the previous one, over a canonical binary encoding of what it created.

Records are encoded little-endian with a one-byte kind tag, in timestamp order; 128-bit user
data is two 64-bit halves. The encoding is documented in `docs.md` so an auditor can recompute
it in any language.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import NamedTuple

from hazina.ledger.domain.model import Expiry, Transfer

genesis_hash = bytes(32)

# kind, id, ledger, code, flags, user data 128 (high, low), 64, 32, timestamp
_account = struct.Struct("<cQIHHQQQIq")
_transfer = struct.Struct("<cQQQQQQQQIIIHHq")
_expiry = struct.Struct("<cQq")
_entry = struct.Struct("<32sQqqQ32s")
_mask_64 = (1 << 64) - 1


class AccountRecord(NamedTuple):
    """An account as created (creation flags): what the journal covers of accounts."""

    id: int
    ledger: int
    code: int
    flags: int
    user_data_128: int
    user_data_64: int
    user_data_32: int
    timestamp: int


class JournalEntry(NamedTuple):
    sequence: int
    timestamp_first: int
    timestamp_last: int
    record_count: int
    payload_hash: bytes
    previous_hash: bytes
    hash: bytes


def encode_account(a: AccountRecord) -> bytes:
    return _account.pack(
        b"A",
        a.id,
        a.ledger,
        a.code,
        a.flags,
        a.user_data_128 >> 64,
        a.user_data_128 & _mask_64,
        a.user_data_64,
        a.user_data_32,
        a.timestamp,
    )


def encode_transfer(t: Transfer) -> bytes:
    return _transfer.pack(
        b"T",
        t.id,
        t.debit_account_id,
        t.credit_account_id,
        t.amount,
        t.pending_id,
        t.user_data_128 >> 64,
        t.user_data_128 & _mask_64,
        t.user_data_64,
        t.user_data_32,
        t.timeout,
        t.ledger,
        t.code,
        t.flags,
        t.timestamp,
    )


def encode_expiry(e: Expiry) -> bytes:
    return _expiry.pack(b"E", e.pending_id, e.timestamp)


def payload_hash(encoded_in_timestamp_order: Iterable[bytes]) -> bytes:
    digest = hashlib.sha256()
    for chunk in encoded_in_timestamp_order:
        digest.update(chunk)
    return digest.digest()


def chain(
    previous_hash: bytes,
    sequence: int,
    timestamp_first: int,
    timestamp_last: int,
    record_count: int,
    payload: bytes,
) -> JournalEntry:
    """The journal entry that follows `previous_hash` for this payload."""
    header = _entry.pack(
        previous_hash, sequence, timestamp_first, timestamp_last, record_count, payload
    )
    return JournalEntry(
        sequence,
        timestamp_first,
        timestamp_last,
        record_count,
        payload,
        previous_hash,
        hashlib.sha256(header).digest(),
    )

"""The tamper-evident journal: each committed database transaction carries a SHA-256 hash
chained to the previous one, over a canonical binary encoding of what it created.

The records of an entry, in timestamp order, form maximal runs of one kind (accounts,
transfers, expiries). Each run is encoded as its kind tag, its record count, every field of
every record as little-endian unsigned 64-bit integers in record order (128-bit user data: low
half), then the high halves of the 128-bit user data. The encoding is documented in `docs.md`
so an auditor can recompute it in any language; it is built with `array` so that hashing a
batch of 8,189 transfers costs about a millisecond.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from hazina.ledger.domain.model import Expiry, Transfer

genesis_hash = bytes(32)

_entry = struct.Struct("<32sQqqQ32s")
_mask_64 = (1 << 64) - 1
_little_endian = sys.byteorder == "little"

ACCOUNT, TRANSFER, EXPIRY = b"A", b"T", b"E"
# Where the 128-bit user data sits in each record kind (None: the kind has none).
_user_data_128_index = {ACCOUNT: 4, TRANSFER: 5, EXPIRY: None}


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


Run = tuple[bytes, Sequence[tuple[int, ...]]]


def _u64_block(values: Iterable[int]) -> bytes:
    block = array("Q", values)
    if not _little_endian:  # pragma: no cover - the encoding is little-endian everywhere
        block.byteswap()
    return block.tobytes()


# Records encoded per C call: one call holds the GIL throughout, and a large batch's hash runs
# beside the SQLite writer thread, which needs the GIL between its statements.
_ENCODE_SLICE = 1_024


def _encode_run(kind: bytes, records: Sequence[tuple[int, ...]]) -> Iterator[bytes]:
    yield kind + len(records).to_bytes(8, "little")
    index = _user_data_128_index[kind]
    for start in range(0, len(records), _ENCODE_SLICE):
        part = records[start : start + _ENCODE_SLICE]
        try:  # fast path: every field fits 64 bits (128-bit user data below 2**64)
            yield _u64_block(itertools.chain.from_iterable(part))
        except OverflowError:
            assert index is not None  # only user_data_128 can exceed 64 bits
            yield _u64_block(
                itertools.chain.from_iterable(
                    (*r[:index], r[index] & _mask_64, *r[index + 1 :]) for r in part
                )
            )
    if index is not None:
        yield _u64_block([r[index] >> 64 for r in records])


def payload_hash(runs: Iterable[Run]) -> bytes:
    """SHA-256 over maximal runs of same-kind records in timestamp order (see docs.md)."""
    digest = hashlib.sha256()
    for kind, records in runs:
        for chunk in _encode_run(kind, records):
            digest.update(chunk)
    return digest.digest()


def merge_runs(segments: Iterable[Run]) -> list[Run]:
    """Join adjacent segments of the same kind into maximal runs; drop empty ones."""
    runs: list[tuple[bytes, list[tuple[int, ...]]]] = []
    for kind, records in segments:
        if not records:
            continue
        if runs and runs[-1][0] == kind:
            runs[-1][1].extend(records)
        else:
            runs.append((kind, list(records)))
    return list(runs)


def runs_in_timestamp_order(
    accounts: Sequence[AccountRecord], transfers: Sequence[Transfer], expiries: Sequence[Expiry]
) -> list[Run]:
    """The runs a journal entry covers, rebuilt from stored records (for the auditor)."""
    tagged = heapq.merge(
        ((a.timestamp, ACCOUNT, a) for a in accounts),
        ((t.timestamp, TRANSFER, t) for t in transfers),
        ((e.timestamp, EXPIRY, e) for e in expiries),
    )
    return merge_runs((kind, [record]) for _, kind, record in tagged)


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

"""The journal's payload hash against an independent encoder written from `docs.md`: per run,
its tag, its record count (u64), every field of every record as a little-endian u64 (128-bit
user data: the low half), then, for accounts and transfers, the high halves of the 128-bit
user data. Runs long enough to be encoded in several pieces, and user data above 2**64."""

from __future__ import annotations

import hashlib
import random
import struct

from hazina.ledger.domain.journal import (
    ACCOUNT,
    EXPIRY,
    TRANSFER,
    AccountRecord,
    payload_hash,
)
from hazina.ledger.domain.model import Expiry, Transfer

MASK_64 = (1 << 64) - 1


def reference_hash(runs: list[tuple[bytes, list[tuple[int, ...]]]]) -> bytes:
    digest = hashlib.sha256()
    for kind, records in runs:
        digest.update(kind + struct.pack("<Q", len(records)))
        wide = {ACCOUNT: 4, TRANSFER: 5}.get(kind)
        for record in records:
            fields = [f & MASK_64 if i == wide else f for i, f in enumerate(record)]
            digest.update(struct.pack(f"<{len(fields)}Q", *fields))
        if wide is not None:
            for record in records:
                digest.update(struct.pack("<Q", record[wide] >> 64))
    return digest.digest()


def _transfers(rng: random.Random, count: int, first_timestamp: int) -> list[Transfer]:
    return [
        Transfer(
            id=rng.randrange(1, 2**63),
            debit_account_id=rng.randrange(1, 10_000),
            credit_account_id=rng.randrange(1, 10_000),
            amount=rng.randrange(0, 2**63),
            pending_id=0,
            user_data_128=rng.choice([0, rng.randrange(2**64), rng.randrange(2**128)]),
            user_data_64=rng.randrange(2**64),
            user_data_32=rng.randrange(2**32),
            timeout=0,
            ledger=1,
            code=1,
            flags=0,
            timestamp=first_timestamp + i,
        )
        for i in range(count)
    ]


def test_payload_hash_matches_an_independent_encoder() -> None:
    rng = random.Random(7)
    accounts = [
        AccountRecord(i, 1, 2, 0, rng.randrange(2**128), rng.randrange(2**64), 7, 100 + i)
        for i in range(1, 4)
    ]
    wide_transfers = _transfers(rng, 2_500, 1_000)  # several encoding pieces, wide user data
    narrow_transfers = [t._replace(user_data_128=t.user_data_128 & 0xFFFF) for t in wide_transfers]
    expiries = [Expiry(5, 9_000), Expiry(6, 9_001)]
    for transfers in (wide_transfers, narrow_transfers):
        runs: list[tuple[bytes, list[tuple[int, ...]]]] = [
            (ACCOUNT, list(accounts)),
            (TRANSFER, list(transfers)),
            (EXPIRY, list(expiries)),
            (TRANSFER, list(transfers[:3])),
        ]
        assert payload_hash(runs) == reference_hash(runs)


def test_every_field_counts() -> None:
    rng = random.Random(8)
    transfers = _transfers(rng, 1_030, 5_000)
    base = payload_hash([(TRANSFER, transfers)])
    changed = list(transfers)
    changed[1_029] = changed[1_029]._replace(amount=changed[1_029].amount ^ 1)  # the last piece
    assert payload_hash([(TRANSFER, changed)]) != base
    changed = list(transfers)
    changed[0] = changed[0]._replace(user_data_128=changed[0].user_data_128 ^ (1 << 100))
    assert payload_hash([(TRANSFER, changed)]) != base

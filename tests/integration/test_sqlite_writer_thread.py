"""SQLite's writer thread: large groups are written while the committer goes on applying.

The whole ledger suite also runs on `sqlite-streamed` (every group through the writer thread);
these tests take the real path of full-size batches and what happens when the writer fails."""

from __future__ import annotations

import random
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import (
    transfer_apply_chunk_first_max,
    transfer_apply_chunk_max,
    transfer_batch_size_max,
)
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, QueryFilter, TransferRequest
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import GroupWriteError
from hazina.ledger.store.sqlite import SqliteLedgerStore

ACCOUNTS = 50
START_NS = 1_800_000_000_000_000_000


def _accounts() -> list[AccountRequest]:
    return [
        AccountRequest(
            i,
            1,
            1,
            flags=AccountFlags.history if i % 7 == 0 else AccountFlags.none,
        )
        for i in range(1, ACCOUNTS + 1)
    ] + [AccountRequest(ACCOUNTS + 1, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits)]


def _mixed_batch(seed: int, first_id: int) -> list[TransferRequest]:
    """A full batch with chains (some failing), pending transfers, posts and failures."""
    rng = random.Random(seed)
    batch: list[TransferRequest] = []
    next_id = first_id
    while len(batch) < transfer_batch_size_max:
        roll = rng.random()
        debit = rng.randint(1, ACCOUNTS + 1)
        credit = rng.randint(1, ACCOUNTS)
        if credit == debit:
            credit = debit % ACCOUNTS + 1
        if roll < 0.1 and len(batch) + 3 <= transfer_batch_size_max:  # a chain of three
            for link in range(3):
                flags = TransferFlags.linked if link < 2 else TransferFlags.none
                batch.append(
                    TransferRequest(next_id, debit, credit, rng.randint(1, 50), 1, 1, flags=flags)
                )
                next_id += 1
        elif roll < 0.2:
            batch.append(
                TransferRequest(
                    next_id, debit, credit, rng.randint(1, 50), 1, 1, flags=TransferFlags.pending
                )
            )
            next_id += 1
        elif roll < 0.25 and batch:
            pending = rng.choice(batch)
            batch.append(
                TransferRequest(
                    next_id,
                    0,
                    0,
                    0,
                    0,
                    0,
                    flags=TransferFlags.post_pending_transfer,
                    pending_id=pending.id,
                )
            )
            next_id += 1
        else:
            batch.append(TransferRequest(next_id, debit, credit, rng.randint(1, 50), 1, 1))
            next_id += 1
    return batch[:transfer_batch_size_max]


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(path)
    try:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (
                "accounts",
                "transfers",
                "pending_states",
                "account_balances",
                "transfers_failed",
                "journal",
            )
        }
    finally:
        connection.close()


def _run(path: Path, *, streamed: bool) -> list[list[object]]:
    store = SqliteLedgerStore(path, background_write_rows_min=1_024 if streamed else 10**9)
    service = LedgerService(
        store,
        FixedClock(START_NS),
        apply_chunk_size=1_024 if streamed else 10**9,
        apply_chunk_first=transfer_apply_chunk_first_max if streamed else None,
    )
    try:
        outcomes: list[list[object]] = [list(service.create_accounts(_accounts()))]
        for seed in range(3):
            outcomes.append(list(service.create_transfers(_mixed_batch(seed, 1 + seed * 10_000))))
        outcomes.append(list(service.create_transfers(_mixed_batch(0, 1))))  # a resend
    finally:
        service.close()
    return outcomes


def test_full_batches_written_by_the_writer_thread_equal_inline_writes(tmp_path: Path) -> None:
    interval = sys.getswitchinterval()
    streamed = _run(tmp_path / "streamed.sqlite3", streamed=True)
    inline = _run(tmp_path / "inline.sqlite3", streamed=False)
    assert streamed == inline
    assert any(streamed[1]), "the mixed batch has failures (chains, limits, posts)"
    assert all(len(results) == transfer_batch_size_max for results in streamed[-1:]), (
        "every event of the resent batch fails: exists or id_already_failed"
    )
    assert _dump(tmp_path / "streamed.sqlite3") == _dump(tmp_path / "inline.sqlite3")
    assert sys.getswitchinterval() == interval, "the switch interval is restored"


def test_a_full_batch_reaches_the_writer_a_small_first_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread starts on the first chunk of a large batch (its statements run
    without the GIL beside the apply of the next ones), and takes every later chunk as it
    comes, growing to full statements."""
    import hazina.ledger.store.sqlite as sqlite_store

    written: list[tuple[str, int]] = []
    insert = sqlite_store._insert_transfers

    def recording(
        connection: sqlite3.Connection, rows: list[tuple[object, ...]], bucket: int
    ) -> None:
        written.append((threading.current_thread().name, len(rows)))
        insert(connection, rows, bucket)

    monkeypatch.setattr(sqlite_store, "_insert_transfers", recording)
    service = LedgerService(SqliteLedgerStore(tmp_path / "ledger.sqlite3"), FixedClock(START_NS))
    try:
        assert service.create_accounts(_accounts()) == []
        batch = [
            TransferRequest(i, 1 + i % ACCOUNTS, 1 + (i + 1) % ACCOUNTS, 1, 1, 1)
            for i in range(1, transfer_batch_size_max + 1)
        ]
        assert service.create_transfers(batch) == []
    finally:
        service.close()
    sizes = [size for _, size in written]
    first = transfer_apply_chunk_first_max
    assert sizes[:3] == [first, 2 * first, 4 * first]
    assert max(sizes) == transfer_apply_chunk_max
    assert sum(sizes) == transfer_batch_size_max
    assert {name for name, _ in written} == {"sqlite-writer_0"}


def test_a_failing_background_write_fails_the_group_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    clock = FixedClock(START_NS)
    service = LedgerService(SqliteLedgerStore(path), clock)
    try:
        assert service.create_accounts(_accounts()) == []
        before = service.lookup_accounts(list(range(1, ACCOUNTS + 2)))
        # A row written around the ledger takes a timestamp the next batch will give to one of
        # its transfers: the writer thread's INSERT breaks the primary key.
        timestamp = START_NS + 5_000
        service.store.execute_unchecked(  # type: ignore[attr-defined]
            "INSERT INTO transfers (timestamp, id, debit_account_id, credit_account_id, amount,"
            " pending_id, user_data_128, user_data_64, user_data_32, timeout, ledger, code,"
            " flags, bucket) VALUES (?, ?, 1, 2, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0)",
            (timestamp, 10**12),
        )
        batch = [TransferRequest(i, 1, 2, 1, 1, 1) for i in range(1, transfer_batch_size_max + 1)]
        with pytest.raises(GroupWriteError, match="UNIQUE"):
            service.create_transfers(batch)
        assert service.query_transfers(QueryFilter(limit=10)) == service.lookup_transfers([10**12])
        assert service.lookup_accounts(list(range(1, ACCOUNTS + 2))) == before
        assert sys.getswitchinterval() == pytest.approx(0.005)

        service.store.execute_unchecked("DELETE FROM transfers WHERE id = ?", (10**12,))  # type: ignore[attr-defined]
        assert service.create_transfers(batch) == []
        [debit] = service.lookup_accounts([1])
        assert debit.debits_posted == transfer_batch_size_max
    finally:
        service.close()

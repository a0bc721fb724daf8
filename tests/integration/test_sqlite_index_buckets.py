"""SQLite's statement indexes are bucketed: (bucket, account), a bucket being a run of about
`bucket_transfers` transfers in timestamp order, so a commit's index entries land in the newest
bucket's pages. Account look-ups read bucket by bucket; these tests check the buckets' own
bookkeeping, look-ups across many of them against a plain scan, failures, and databases made
before buckets existed. (The whole ledger suite also runs with three-transfer buckets on
`sqlite-streamed`, and the seeded simulation with five.)"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazina.kernel.clock import FixedClock
from hazina.ledger.audit import verify
from hazina.ledger.domain.model import (
    AccountFilter,
    AccountRequest,
    QueryFilter,
    Transfer,
    TransferRequest,
)
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import StoreError
from hazina.ledger.store.sqlite import SqliteLedgerStore

ACCOUNTS = 6


def _service(path: Path, bucket_transfers: int) -> LedgerService:
    service = LedgerService(
        SqliteLedgerStore(path, bucket_transfers=bucket_transfers), FixedClock()
    )
    if not service.lookup_accounts([1]):
        accounts = [AccountRequest(i, 1, 1) for i in range(1, ACCOUNTS + 1)]
        assert service.create_accounts(accounts) == []
    return service


def _buckets(path: Path) -> list[int]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT bucket FROM transfers ORDER BY 1")]


def _pair(i: int) -> tuple[int, int]:
    """Debit and credit accounts of transfer `i`: every ordered pair in turn, never the same."""
    debit = i % ACCOUNTS
    credit = (debit + 1 + (i // ACCOUNTS) % (ACCOUNTS - 1)) % ACCOUNTS
    return debit + 1, credit + 1


def _batch(first_id: int, size: int) -> list[TransferRequest]:
    batch = []
    for i in range(first_id, first_id + size):
        debit, credit = _pair(i)
        batch.append(TransferRequest(i, debit, credit, 1 + i % 7, 1, 1))
    return batch


@dataclass
class Opened:
    path: Path
    service: LedgerService
    store: SqliteLedgerStore


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Opened]:
    """A store with four-transfer buckets, its accounts made."""
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=4)
    store = service.store
    assert isinstance(store, SqliteLedgerStore)
    yield Opened(path, service, store)
    service.close()


def _scan(service: LedgerService, f: AccountFilter) -> list[Transfer]:
    """The look-up's answer from every transfer, filtered here."""
    everything = service.query_transfers(QueryFilter(limit=8_189))
    chosen = [
        t
        for t in everything
        if (
            (f.debits and t.debit_account_id == f.account_id)
            or (f.credits and t.credit_account_id == f.account_id)
        )
        and t.timestamp >= f.timestamp_min
        and (not f.timestamp_max or t.timestamp <= f.timestamp_max)
    ]
    if f.reversed:
        chosen.reverse()
    return chosen[: f.limit]


def test_a_bucket_fills_then_the_next_opens_and_a_transaction_is_never_split(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=4)
    try:
        next_id = 1
        for size in (1, 2, 3, 5, 1, 4, 2):
            assert service.create_transfers(_batch(next_id, size)) == []
            next_id += size
        # 1+2 (3, not full) +3 -> bucket 0 holds 6; then 5 in bucket 1 (full); 1 in bucket 2;
        # 4 more in bucket 2 (5, full); 2 in bucket 3.
        assert _buckets(path) == [0] * 6 + [1] * 5 + [2] * 5 + [3] * 2
        assert service.store.index_problems() == []  # type: ignore[attr-defined]
        assert verify(service.store).ok
    finally:
        service.close()


def test_a_reopened_store_carries_on_in_the_newest_bucket(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=4)
    assert service.create_transfers(_batch(1, 3)) == []
    service.close()
    service = _service(path, bucket_transfers=4)
    try:
        assert service.create_transfers(_batch(4, 1)) == []  # bucket 0 had room for it
        assert service.create_transfers(_batch(5, 1)) == []  # now full: bucket 1
        assert _buckets(path) == [0, 0, 0, 0, 1]
        assert service.store.index_problems() == []  # type: ignore[attr-defined]
    finally:
        service.close()


def test_a_failed_commit_counts_nothing_and_the_next_transaction_carries_on(
    opened: Opened,
) -> None:
    service, store = opened.service, opened.store
    assert service.create_transfers(_batch(1, 3)) == []

    def fail() -> None:
        raise sqlite3.OperationalError("disk I/O error (injected)")

    store.before_commit_hook = fail
    with pytest.raises(Exception, match="injected"):
        service.create_transfers(_batch(4, 2))
    store.before_commit_hook = None
    assert service.create_transfers(_batch(4, 2)) == []
    assert service.create_transfers(_batch(6, 1)) == []
    assert _buckets(opened.path) == [0] * 5 + [1]
    assert store.index_problems() == []
    assert verify(store).ok


def test_index_problems_finds_a_wrong_count_and_a_bucket_going_back(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=2)
    store = service.store
    assert isinstance(store, SqliteLedgerStore)
    try:
        for first in (1, 3, 5):
            assert service.create_transfers(_batch(first, 2)) == []
        assert store.index_problems() == []
        store.execute_unchecked("UPDATE transfers SET bucket = 0 WHERE id = 6")
        problems = store.index_problems()
        assert "statement index bucket 0: holds 3 transfers, transfer_buckets says 2" in problems
        assert "statement index bucket 2: holds 1 transfers, transfer_buckets says 2" in problems
        assert any("bucket 0 after bucket 2" in problem for problem in problems)
        assert not verify(store).ok
    finally:
        service.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    bucket_transfers=st.integers(1, 5),
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=8),
    filters=st.lists(
        st.tuples(
            st.integers(1, ACCOUNTS),
            st.integers(0, 60),  # first transfer index of the range (its timestamp)
            st.integers(0, 60),  # span, 0: open-ended
            st.integers(0, 12),  # limit
            st.booleans(),  # reversed
            st.sampled_from([(True, True), (True, False), (False, True)]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_account_look_ups_across_buckets_equal_a_scan(
    tmp_path_factory: pytest.TempPathFactory,
    bucket_transfers: int,
    sizes: list[int],
    filters: list[tuple[int, int, int, int, bool, tuple[bool, bool]]],
) -> None:
    path = tmp_path_factory.mktemp("buckets") / "ledger.sqlite3"
    service = _service(path, bucket_transfers)
    try:
        next_id = 1
        for size in sizes:
            assert service.create_transfers(_batch(next_id, size)) == []
            next_id += size
        timestamps = [t.timestamp for t in service.query_transfers(QueryFilter(limit=8_189))]
        for account_id, first, span, limit, backwards, (debits, credits) in filters:
            low = timestamps[min(first, len(timestamps) - 1)]
            high = timestamps[min(first + span, len(timestamps) - 1)] if span else 0
            f = AccountFilter(
                account_id,
                timestamp_min=low,
                timestamp_max=high,
                limit=limit,
                debits=debits,
                credits=credits,
                reversed=backwards,
            )
            assert service.get_account_transfers(f) == _scan(service, f)
        assert service.store.index_problems() == []  # type: ignore[attr-defined]
    finally:
        service.close()


def _to_layout_before_buckets(path: Path) -> None:
    """Turn a database into the layout stores wrote before buckets: no bucket column, no
    transfer_buckets, one-column account indexes."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            DROP INDEX transfers_debit_bucketed;
            DROP INDEX transfers_credit_bucketed;
            DROP TABLE transfer_buckets;
            ALTER TABLE transfers DROP COLUMN bucket;
            CREATE INDEX transfers_debit ON transfers (debit_account_id);
            CREATE INDEX transfers_credit ON transfers (credit_account_id);
            """
        )


def test_a_database_from_before_buckets_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=4)
    assert service.create_transfers(_batch(1, 7)) == []
    service.close()
    _to_layout_before_buckets(path)

    service = _service(path, bucket_transfers=4)
    try:
        with sqlite3.connect(path) as connection:
            indexes = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transfers'"
                )
            }
        assert "transfers_debit" not in indexes
        assert "transfers_credit" not in indexes
        assert {"transfers_debit_bucketed", "transfers_credit_bucketed"} <= indexes
        assert _buckets(path) == [0] * 7  # everything from before, in one bucket
        assert service.create_transfers(_batch(8, 2)) == []  # bucket 0 is full (7 >= 4)
        assert _buckets(path) == [0] * 7 + [1] * 2
        for account_id in range(1, ACCOUNTS + 1):
            f = AccountFilter(account_id, limit=100)
            assert service.get_account_transfers(f) == _scan(service, f)
        report = verify(service.store)
        assert report.ok, report.problems
        assert report.transfers == 9
    finally:
        service.close()
    # Opening it again finds nothing left to migrate.
    service = _service(path, bucket_transfers=4)
    try:
        assert service.store.index_problems() == []  # type: ignore[attr-defined]
    finally:
        service.close()


def test_two_stores_opening_an_old_database_at_once_both_open_it(tmp_path: Path) -> None:
    """Both find the old layout, both wait for the write lock (held here meanwhile); the one
    that gets it second finds the work done instead of adding the column twice."""
    path = tmp_path / "ledger.sqlite3"
    service = _service(path, bucket_transfers=4)
    assert service.create_transfers(_batch(1, 3)) == []
    service.close()
    _to_layout_before_buckets(path)

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    opened: list[SqliteLedgerStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(SqliteLedgerStore(path))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both are waiting for the write lock by now
    blocker.execute("COMMIT")
    blocker.close()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(opened) == 2
        assert opened[0].index_problems() == []
        assert _buckets(path) == [0, 0, 0]
    finally:
        for store in opened:
            store.close()


def test_a_failed_read_at_the_start_of_a_write_leaves_no_transaction_open(
    opened: Opened,
) -> None:
    service, store = opened.service, opened.store
    assert service.create_transfers(_batch(1, 2)) == []
    store.execute_unchecked("ALTER TABLE transfer_buckets RENAME TO transfer_buckets_away")
    with pytest.raises(StoreError, match="no such table"):
        service.create_transfers(_batch(3, 1))
    store.execute_unchecked("ALTER TABLE transfer_buckets_away RENAME TO transfer_buckets")
    assert service.create_transfers(_batch(3, 1)) == []
    assert _buckets(opened.path) == [0, 0, 0]
    assert store.index_problems() == []

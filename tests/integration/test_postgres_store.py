"""What only the PostgreSQL store has to get right: creating its schema once whoever starts
first, surviving lost connections, trusting its account cache only while no one else wrote,
and the full ranges of the unsigned user data columns."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import psycopg
import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import transfer_batch_size_max
from hazina.ledger.audit import verify
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    AccountFilter,
    AccountRequest,
    PendingState,
    QueryFilter,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import StoreError, TransientStoreError
from hazina.ledger.store.postgres import SCHEMA_VERSION, PostgresLedgerStore
from tests.postgres_server import PostgresServer, drop_database, fresh_namespace, namespace_of

pytestmark = pytest.mark.postgres

S = CreateTransferStatus


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    location = fresh_namespace(postgres_server)
    yield location
    drop_database(postgres_server, location)


@pytest.fixture
def ledger(dsn: str) -> Iterator[LedgerService]:
    service = LedgerService(PostgresLedgerStore(dsn), FixedClock())
    assert service.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    yield service
    service.close()


def _end_sessions(dsn: str) -> int:
    """Terminate every session of this ledger database but ours, as a failover would."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            # Waits (up to 5 s) until each is gone, as a failover is over before the next write.
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (namespace_of(dsn),),
        ).fetchall()
    return len(rows)


def test_concurrent_first_starts_create_the_schema_once(dsn: str) -> None:
    stores: list[PostgresLedgerStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            stores.append(PostgresLedgerStore(dsn))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for store in stores:
        store.close()
    with psycopg.connect(dsn) as connection:
        versions = connection.execute("SELECT version FROM ledger_schema").fetchall()
    assert versions == [(SCHEMA_VERSION,)]
    PostgresLedgerStore(dsn).close()  # and once more, on an existing schema


def test_an_older_schema_is_upgraded_when_opened(dsn: str) -> None:
    """A database of schema 3, before the balance history and the failed ids were append-only:
    the next store to open it brings it to the current version, triggers included."""
    PostgresLedgerStore(dsn).close()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TRIGGER account_balances_append_only ON account_balances")
        connection.execute("DROP TRIGGER transfers_failed_append_only ON transfers_failed")
        connection.execute("UPDATE ledger_schema SET version = 3")
    PostgresLedgerStore(dsn).close()
    with psycopg.connect(dsn) as connection:
        versions = connection.execute("SELECT version FROM ledger_schema").fetchall()
        assert versions == [(SCHEMA_VERSION,)]
        for table in ("account_balances", "transfers_failed"):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
                connection.execute(f"DELETE FROM {table}")
            connection.rollback()


def test_a_lost_connection_is_retried_on_a_new_one(ledger: LedgerService, dsn: str) -> None:
    assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []
    assert _end_sessions(dsn) >= 1
    # The write transaction finds its connection dead before COMMIT: transient, retried.
    assert ledger.create_transfers([TransferRequest(2, 1, 2, 5, 1, 1)]) == []
    assert _end_sessions(dsn) >= 1
    # A read on a dead connection is retried once, on a new connection.
    (debit, credit) = ledger.lookup_accounts([1, 2])
    assert (debit.debits_posted, credit.credits_posted) == (15, 15)


def test_a_connection_lost_at_commit_is_not_retried_blindly(
    ledger: LedgerService, dsn: str
) -> None:
    store = ledger.store
    assert isinstance(store, PostgresLedgerStore)
    store.before_commit_hook = lambda: _end_sessions(dsn)
    with pytest.raises(StoreError, match="commit outcome unknown") as failed:
        ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)])
    assert not isinstance(failed.value, TransientStoreError)
    store.before_commit_hook = None
    assert ledger.lookup_transfers([1]) == []  # here it did not happen; a retry is exact
    assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []


def test_a_failure_before_commit_leaves_nothing(ledger: LedgerService) -> None:
    store = ledger.store
    assert isinstance(store, PostgresLedgerStore)

    def fail() -> None:
        raise OSError("disk on fire")

    store.before_commit_hook = fail
    with pytest.raises(OSError, match="disk on fire"):
        ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)])
    store.before_commit_hook = None
    assert ledger.lookup_transfers([1]) == []
    assert [a.debits_posted for a in ledger.lookup_accounts([1, 2])] == [0, 0]
    assert store.journal(0, 10)[-1].record_count == 2  # only the accounts' entry
    assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []


def test_each_store_sees_what_the_others_committed(ledger: LedgerService, dsn: str) -> None:
    """Two stores on one database alternate: neither may write from a stale cache."""
    other = LedgerService(PostgresLedgerStore(dsn), FixedClock())
    try:
        for transfer_id in range(1, 11):
            service = ledger if transfer_id % 2 else other
            assert service.create_transfers([TransferRequest(transfer_id, 1, 2, 3, 1, 1)]) == []
        for service in (ledger, other):
            assert [a.debits_posted for a in service.lookup_accounts([1, 2])] == [30, 0]
    finally:
        other.close()


def _postgres(service: LedgerService) -> PostgresLedgerStore:
    store = service.store
    assert isinstance(store, PostgresLedgerStore)
    return store


def test_groups_of_new_transfers_write_without_reading_first(ledger: LedgerService) -> None:
    """After its own commit a store trusts what it wrote: the next group of new transfers
    between accounts it holds goes to the database with its check and no read before."""
    store = _postgres(ledger)
    assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []
    trusted = store.unread_groups
    for transfer_id in range(2, 12):
        assert ledger.create_transfers([TransferRequest(transfer_id, 1, 2, 10, 1, 1)]) == []
    assert store.unread_groups == trusted + 10
    assert store.stale_groups == 0
    # A repeated id goes through the same path: the database finds it stored, the group is
    # redone reading first, and the answer is the one reading would have given.
    repeat = ledger.create_transfers([TransferRequest(5, 1, 2, 10, 1, 1)])
    assert [r.status for r in repeat] == [S.exists]
    assert store.stale_groups == 1
    assert [a.debits_posted for a in ledger.lookup_accounts([1, 2])] == [110, 0]
    assert verify(store).ok


def test_a_group_that_trusted_a_stale_cache_is_redone_reading_first(
    ledger: LedgerService, dsn: str
) -> None:
    """Another writer commits between two of ours: our next group of new transfers, written
    without reading, is refused by the database and redone with what the other wrote."""
    store = _postgres(ledger)
    other = LedgerService(PostgresLedgerStore(dsn), FixedClock())
    try:
        assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []
        assert other.create_transfers([TransferRequest(2, 1, 2, 7, 1, 1)]) == []
        stale = store.stale_groups
        # Id 2 is the other writer's (same fields: exists), id 3 is new.
        results = ledger.create_transfers(
            [TransferRequest(2, 1, 2, 7, 1, 1), TransferRequest(3, 1, 2, 5, 1, 1)]
        )
        assert [(r.index, r.status) for r in results] == [(0, S.exists)]
        assert store.stale_groups == stale + 1
        # Another writer is about: for a while this store reads first instead of trusting.
        unread = store.unread_groups
        assert ledger.create_transfers([TransferRequest(4, 1, 2, 1, 1, 1)]) == []
        assert store.unread_groups == unread
        assert [a.debits_posted for a in ledger.lookup_accounts([1, 2])] == [23, 0]
        assert [a.credits_posted for a in other.lookup_accounts([1, 2])] == [0, 23]
        assert verify(store).ok
    finally:
        other.close()


def test_a_pending_transfer_that_came_due_expires_before_a_trusting_group(dsn: str) -> None:
    """Nothing is read before a trusting group, but expiries still come first: the database
    sees a pending transfer due, refuses the group, and the redo voids it before applying."""
    clock = FixedClock()
    service = LedgerService(PostgresLedgerStore(dsn), clock)
    store = _postgres(service)
    try:
        assert service.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
        hold = TransferRequest(1, 1, 2, 50, 1, 1, int(TransferFlags.pending), timeout=2)
        assert service.create_transfers([hold]) == []
        assert service.create_transfers([TransferRequest(2, 1, 2, 5, 1, 1)]) == []  # not due
        assert store.stale_groups == 0
        clock.advance_seconds(3)
        assert service.create_transfers([TransferRequest(3, 1, 2, 5, 1, 1)]) == []
        assert store.stale_groups == 1
        assert service.lookup_pending([1])[0].state == PendingState.expired
        account = service.lookup_accounts([1])[0]
        assert (account.debits_pending, account.debits_posted) == (0, 10)
        assert verify(store).ok
    finally:
        service.close()


def test_a_raw_write_to_accounts_invalidates_the_cache(ledger: LedgerService, dsn: str) -> None:
    assert ledger.create_transfers([TransferRequest(1, 1, 2, 10, 1, 1)]) == []  # cached now
    with psycopg.connect(dsn) as connection:
        connection.execute(
            "UPDATE accounts SET closed = true WHERE id = 2"  # moves no money: accepted
        )
    results = ledger.create_transfers([TransferRequest(2, 1, 2, 10, 1, 1)])
    assert [r.status for r in results] == [S.credit_account_already_closed]
    store = ledger.store
    assert isinstance(store, PostgresLedgerStore)
    store.execute_unchecked("UPDATE accounts SET closed = false WHERE id = 2")
    assert ledger.create_transfers([TransferRequest(3, 1, 2, 10, 1, 1)]) == []
    assert ledger.lookup_accounts([2])[0].flags & int(AccountFlags.closed) == 0


def test_unsigned_user_data_keeps_its_full_range(ledger: LedgerService) -> None:
    top_128, top_64, top_32 = 2**128 - 1, 2**64 - 1, 2**32 - 1
    assert (
        ledger.create_accounts(
            [AccountRequest(3, 1, 1, user_data_128=top_128, user_data_64=top_64)]
        )
        == []
    )
    transfer = TransferRequest(
        1, 1, 3, 7, 1, 1, user_data_128=top_128, user_data_64=2**63, user_data_32=top_32
    )
    assert ledger.create_transfers([transfer]) == []
    (account,) = ledger.lookup_accounts([3])
    assert (account.user_data_128, account.user_data_64) == (top_128, top_64)
    (stored,) = ledger.lookup_transfers([1])
    assert (stored.user_data_128, stored.user_data_64, stored.user_data_32) == (
        top_128,
        2**63,
        top_32,
    )
    assert [a.id for a in ledger.query_accounts(QueryFilter(user_data_128=top_128))] == [3]
    assert [a.id for a in ledger.query_accounts(QueryFilter(user_data_64=top_64))] == [3]
    assert [t.id for t in ledger.query_transfers(QueryFilter(user_data_64=2**63))] == [1]
    assert [t.id for t in ledger.query_transfers(QueryFilter(user_data_128=top_128))] == [1]
    # An existing transfer with large user data is found again: the retry says `exists`.
    assert [r.status for r in ledger.create_transfers([transfer])] == [S.exists]


def test_ids_that_cannot_exist_find_nothing(ledger: LedgerService) -> None:
    assert ledger.lookup_accounts([0, -1, 2**63, 2**64, 1]) == ledger.lookup_accounts([1])
    assert ledger.lookup_transfers([0, 2**63]) == []


def test_packed_array_parameters_round_trip(dsn: str) -> None:
    from hazina.ledger.store import postgres

    store = PostgresLedgerStore(dsn)
    try:
        connection = store._reader()
        values = [-(2**63), -1, 0, 1, 2**63 - 1]
        for packed, expected in [
            (postgres._Int8Array(values), values),
            (postgres._Int8Array([]), []),
            (postgres._BoolArray([True, False, True]), [True, False, True]),
            (postgres._BoolArray([]), []),
        ]:
            row = connection.execute("SELECT %b", (packed,)).fetchone()
            assert row == (expected,)
    finally:
        store.close()


def test_account_pages_seek_the_account_indexes_even_in_a_generic_plan(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepared statement's generic plan knows neither the account nor the limit: with an OR
    of the two sides it walked every transfer in timestamp order (12 ms a page at 172,000
    transfers). Each side must seek its own (account, timestamp) index."""
    store = ledger.store
    assert isinstance(store, PostgresLedgerStore)
    # Enough transfers between enough accounts for the planner to prefer an index (the bad
    # plan showed from 16,000 transfers on).
    accounts = [AccountRequest(i, 1, 1) for i in range(3, 101)]
    assert ledger.create_accounts(accounts) == []
    for first in (1, transfer_batch_size_max + 1):
        batch = [
            TransferRequest(i, 1 + i % 100, 1 + (i + 1 + i // 100 % 99) % 100, 1, 1, 1)
            for i in range(first, first + transfer_batch_size_max)
        ]
        assert ledger.create_transfers(batch) == []
    seen: list[tuple[str, list[object]]] = []
    select = store._select

    def recording(sql: str, parameters: Sequence[object] = ()) -> list[object]:
        seen.append((sql, list(parameters)))
        return select(sql, parameters)

    monkeypatch.setattr(store, "_select", recording)
    page = ledger.get_account_transfers(AccountFilter(1, limit=10))
    assert len(page) == 10
    assert all(1 in (t.debit_account_id, t.credit_account_id) for t in page)
    assert [t.timestamp for t in page] == sorted(t.timestamp for t in page)
    [(sql, parameters)] = seen
    numbered = sql
    for number in range(1, len(parameters) + 1):
        numbered = numbered.replace("%s", f"${number}", 1)
    with psycopg.connect(store.dsn, autocommit=True) as connection:
        connection.execute("SET plan_cache_mode = force_generic_plan")
        connection.execute(f"PREPARE page AS {numbered}")
        plan = "\n".join(
            row[0]
            # EXPLAIN takes no bound parameters: these are integers, written out.
            for row in connection.execute(
                "EXPLAIN EXECUTE page(" + ", ".join(str(int(p)) for p in parameters) + ")"  # type: ignore[call-overload]
            )
        )
    assert "transfers_debit" in plan, plan
    assert "transfers_credit" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "transfers_timestamp" not in plan, plan  # no walk in timestamp order

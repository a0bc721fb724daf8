"""The storage interface of the ledger, shared by SQLite and PostgreSQL.

A store holds accounts, transfers, pending states, balance history, expiries and the journal.
Writes happen inside `write()`, one database transaction each: the service loads what a batch
needs into a `LedgerState`, applies the batch with the pure domain, then `persist`s the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import AbstractContextManager
from typing import Any, Protocol

from hazina.ledger.domain.apply import AccountState, BatchOutcome, LedgerState
from hazina.ledger.domain.journal import AccountRecord, JournalEntry
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountFilter,
    Expiry,
    PendingStatus,
    QueryFilter,
    Transfer,
)


class StoreError(Exception):
    """A storage failure (lost connection, failed commit). Nothing of the transaction stays."""


class TransientStoreError(StoreError):
    """A failure that a retry may cure: serialization failure, deadlock, busy database."""


class StaleReadError(TransientStoreError):
    """A write that trusted what this store last committed (instead of reading the database
    first) found the database moved on: another writer committed, or an id assumed new was
    stored. Nothing was written; redo the group at once, reading first."""


class GroupWriteError(StoreError):
    """Writing the ledger's own rows of a group failed (on SQLite's writer thread): the whole
    group fails, whichever unit of work happened to touch the database next."""


def from_cache(
    account_ids: Iterable[int], accounts: dict[int, AccountState], cache: dict[int, AccountState]
) -> list[int]:
    """Put in `accounts` each of `account_ids` that `cache` holds (and `accounts` lacks); the
    ids left to read from the database."""
    missing = []
    for account_id in account_ids:
        if account_id in accounts:
            continue
        cached = cache.get(account_id)
        if cached is not None:
            accounts[account_id] = cached
        else:
            missing.append(account_id)
    return missing


def merged_sides(selects: Sequence[str], key: str, descending: bool, placeholder: str = "?") -> str:
    """One statement over the sides of a look-up (an account's debits and credits, a wallet's
    payments out and in), each its own `select` on its own index, ordered by `key` and stopping
    at the page, merged in `key` order and cut to the page again (its limit is the last
    parameter, after each side's own). A row is on one side only. An OR of the sides lets a
    planner sort everything the account ever had, or walk the table in `key` order, to return
    one page (docs/benchmarks.md)."""
    if len(selects) == 1:
        return selects[0]
    union = " UNION ALL ".join(f"SELECT * FROM ({s}) AS side_{i}" for i, s in enumerate(selects))
    return f"{union} ORDER BY {key} {'DESC' if descending else 'ASC'} LIMIT {placeholder}"


class SqlSession(Protocol):
    """Plain SQL on the ledger's database, for the tables of other contexts (payments,
    identity...). Statements use `?` placeholders on both SQLite and PostgreSQL; keep to SQL
    both understand. A failure that a retry may cure raises `TransientStoreError`."""

    dialect: str  # "sqlite" or "postgresql"

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    def write(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run one statement whose row count is not needed. Inside a PostgreSQL write
        transaction it is sent without waiting for its answer: it travels with the next
        statement that needs one, or with `flush`, and its error is raised there. A unit of
        work's end flushes (`LedgerService.run`), so its errors stay its own."""
        ...

    def flush(self) -> None:
        """Wait for every statement sent so far; raise the first one's error."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def fetch_batch(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Several reads answered together (one round trip inside a PostgreSQL write
        transaction): each statement's rows, in order."""
        ...


class WriteTransaction(Protocol):
    """One open write transaction. Leaving the context without `commit()` rolls back."""

    @property
    def sql(self) -> SqlSession:
        """The same transaction, for other contexts' tables."""
        ...

    def open(
        self,
        now_ns: int,
        expiry_limit: int,
        transfer_ids: Set[int] = frozenset(),
        account_ids: Set[int] = frozenset(),
        all_new: bool = False,
    ) -> tuple[int, int, bytes, list[Transfer]]:
        """Start the transaction: (sequence, last timestamp, hash) of the newest journal entry,
        locked, and up to `expiry_limit` pending transfers, still pending, whose expiry is at
        or before the transaction's first timestamp, max(`now_ns`, last timestamp + 1).
        `transfer_ids` may be looked up at the same time, for a later `load`.

        `all_new`: the group only creates transfers (`transfer_ids` are their ids; no post or
        void names a stored pending transfer) between `account_ids`. A store may then trust
        what it last committed instead of reading first: that nothing moved since, none of
        the ids is stored and nothing is due to expire; the database checks all of it with
        the writes and the commit raises `StaleReadError` when any was untrue."""
        ...

    def load(
        self,
        state: LedgerState,
        account_ids: set[int],
        transfer_ids: set[int],
    ) -> None:
        """Add to `state` the named accounts and transfers that exist and are not loaded yet,
        and the pending states of any pending transfers among them."""
        ...

    def write_transfers(self, transfers: Sequence[Transfer], batch_events: int) -> None:
        """Transfers created in this transaction that nothing can undo short of a rollback,
        in creation order, from a batch of `batch_events` events. The store may write them
        now (SQLite starts large batches on its writer thread while the rest is applied) or
        at `persist`."""
        ...

    def persist(self, outcome: BatchOutcome, state: LedgerState) -> None:
        """Write what the transaction changed; `outcome.transfers_created` were all handed to
        `write_transfers` first."""
        ...

    def append_journal(self, entry: JournalEntry) -> None: ...

    def commit(self) -> None: ...


class LedgerStore(Protocol):
    """Durable ledger storage. Implementations: `SqliteLedgerStore`, `PostgresLedgerStore`."""

    dialect: str  # "sqlite" or "postgresql"
    # True where a read costs no round trip (SQLite, in process): the ledger loads a batch's
    # ids chunk by chunk as it applies it, and the API checks keys and runs payments on the
    # event loop. False (PostgreSQL): the ledger names a group's ids to `open` and loads them
    # once, and the API does its reads in the thread pool.
    reads_in_process: bool

    def reader(self) -> SqlSession:
        """A read-only session of this thread (autocommit reads), for other contexts' tables."""
        ...

    def ensure_schema(self, name: str, script: str) -> None:
        """Run another context's DDL once per database (idempotent `IF NOT EXISTS` script),
        safely when several processes start at once."""
        ...

    def write(self) -> AbstractContextManager[WriteTransaction]: ...

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]: ...

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]: ...

    def lookup_pending(self, ids: Sequence[int]) -> list[PendingStatus]: ...

    def get_account_transfers(self, account_filter: AccountFilter) -> list[Transfer]: ...

    def get_account_balances(self, account_filter: AccountFilter) -> list[AccountBalance]: ...

    def query_accounts(self, query: QueryFilter) -> list[Account]: ...

    def query_transfers(self, query: QueryFilter) -> list[Transfer]: ...

    def journal(self, after_sequence: int, limit: int) -> list[JournalEntry]: ...

    def records_between(
        self, timestamp_first: int, timestamp_last: int
    ) -> tuple[list[AccountRecord], list[Transfer], list[Expiry]]:
        """Everything the journal covers in a timestamp range, in timestamp order."""
        ...

    def iterate_transfers(self, batch_size: int) -> Iterator[list[Transfer]]:
        """Every transfer in timestamp order: for audits that replay the ledger."""
        ...

    def iterate_balances(self, batch_size: int) -> Iterator[list[AccountBalance]]:
        """Every balance-history row, by account and time: for audits."""
        ...

    def expiries(self) -> list[Expiry]:
        """Every expiry of a pending transfer, in timestamp order."""
        ...

    def record_count(self) -> int:
        """Accounts, transfers and expiries stored: what the journal entries together cover."""
        ...

    def all_accounts(self) -> list[Account]: ...

    def account_records(self) -> list[AccountRecord]:
        """Every account as created (creation flags, no balances), in timestamp order."""
        ...

    def pending_states(self) -> dict[int, PendingStatus]: ...

    def close(self) -> None: ...

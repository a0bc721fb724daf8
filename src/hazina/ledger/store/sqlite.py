"""SQLite ledger store: the embedded default (WAL, synchronous=FULL).

One process writes at a time (SQLite's own rule); `BEGIN IMMEDIATE` takes the write lock. The
store keeps the accounts it has seen in memory between transactions and trusts that cache only
while `PRAGMA data_version` says no other connection has committed since; a failed transaction
drops the cache. Readers use their own connections (one per thread), which WAL lets run beside
the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import database_busy_timeout_ms, query_limit_max
from hazina.ledger.domain.apply import AccountState, BatchOutcome, LedgerState
from hazina.ledger.domain.journal import AccountRecord, JournalEntry, genesis_hash
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountFilter,
    Expiry,
    PendingState,
    PendingStatus,
    QueryFilter,
    Transfer,
)
from hazina.ledger.store.base import StoreError, TransientStoreError
from hazina.ledger.store.codec import (
    decode_u64,
    decode_u128,
    encode_u64,
    encode_u128,
    fits_signed_64,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id              INTEGER PRIMARY KEY CHECK (id > 0),
    ledger          INTEGER NOT NULL CHECK (ledger > 0),
    code            INTEGER NOT NULL CHECK (code > 0),
    flags           INTEGER NOT NULL,
    user_data_128   ANY NOT NULL,
    user_data_64    INTEGER NOT NULL,
    user_data_32    INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL CHECK (debits_pending >= 0),
    debits_posted   INTEGER NOT NULL CHECK (debits_posted >= 0),
    credits_pending INTEGER NOT NULL CHECK (credits_pending >= 0),
    credits_posted  INTEGER NOT NULL CHECK (credits_posted >= 0),
    timestamp       INTEGER NOT NULL UNIQUE,
    closed          INTEGER NOT NULL CHECK (closed IN (0, 1)),
    CHECK ((flags & 2) = 0 OR debits_pending + debits_posted <= credits_posted),
    CHECK ((flags & 4) = 0 OR credits_pending + credits_posted <= debits_posted),
    CHECK ((flags & 6) <> 6)
) STRICT;
CREATE TABLE IF NOT EXISTS transfers (
    timestamp         INTEGER PRIMARY KEY,
    id                INTEGER NOT NULL UNIQUE CHECK (id > 0),
    debit_account_id  INTEGER NOT NULL,
    credit_account_id INTEGER NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    pending_id        INTEGER NOT NULL,
    user_data_128     ANY NOT NULL,
    user_data_64      INTEGER NOT NULL,
    user_data_32      INTEGER NOT NULL,
    timeout           INTEGER NOT NULL,
    ledger            INTEGER NOT NULL,
    code              INTEGER NOT NULL,
    flags             INTEGER NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
) STRICT;
CREATE INDEX IF NOT EXISTS transfers_debit ON transfers (debit_account_id, timestamp);
CREATE INDEX IF NOT EXISTS transfers_credit ON transfers (credit_account_id, timestamp);
CREATE TABLE IF NOT EXISTS pending_states (
    pending_id INTEGER PRIMARY KEY,
    state      INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS pending_states_due ON pending_states (expires_at)
    WHERE state = 1 AND expires_at > 0;
CREATE TABLE IF NOT EXISTS account_balances (
    account_id      INTEGER NOT NULL,
    timestamp       INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL,
    debits_posted   INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    credits_posted  INTEGER NOT NULL,
    PRIMARY KEY (account_id, timestamp)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expiries (
    timestamp  INTEGER PRIMARY KEY,
    pending_id INTEGER NOT NULL UNIQUE
) STRICT;
CREATE TABLE IF NOT EXISTS transfers_failed (
    id        INTEGER PRIMARY KEY,
    status    INTEGER NOT NULL,
    timestamp INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS journal (
    sequence        INTEGER PRIMARY KEY CHECK (sequence > 0),
    timestamp_first INTEGER NOT NULL,
    timestamp_last  INTEGER NOT NULL CHECK (timestamp_last >= timestamp_first),
    record_count    INTEGER NOT NULL,
    payload_hash    BLOB NOT NULL,
    previous_hash   BLOB NOT NULL,
    hash            BLOB NOT NULL
) STRICT;
"""

_ACCOUNT_COLUMNS = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32, debits_pending,"
    " debits_posted, credits_pending, credits_posted, timestamp, closed"
)
_TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, pending_id, user_data_128,"
    " user_data_64, user_data_32, timeout, ledger, code, flags, timestamp"
)
_INSERT_TRANSFER = f"INSERT INTO transfers ({_TRANSFER_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_INSERT_ACCOUNT = f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_UPDATE_ACCOUNT = (
    "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?,"
    " credits_posted = ?, closed = ? WHERE id = ?"
)


def _account_state(row: Sequence[Any]) -> AccountState:
    return AccountState(
        row[0],
        row[1],
        row[2],
        row[3],
        decode_u128(row[4]),
        decode_u64(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        bool(row[12]),
    )


def _account(row: Sequence[Any]) -> Account:
    return _account_state(row).to_account()


_ACCOUNT_RECORD_COLUMNS = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32, timestamp"
)


def _account_record(row: Sequence[Any]) -> AccountRecord:
    """An account as created, from `_ACCOUNT_RECORD_COLUMNS`."""
    return AccountRecord(
        row[0], row[1], row[2], row[3], decode_u128(row[4]), decode_u64(row[5]), row[6], row[7]
    )


def _transfer(row: Sequence[Any]) -> Transfer:
    if type(row[5]) is int and row[6] >= 0:
        return Transfer(*row)
    return Transfer(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        decode_u128(row[5]),
        decode_u64(row[6]),
        *row[7:],
    )


def _transfer_row(t: Transfer) -> Sequence[Any]:
    if fits_signed_64(t.user_data_128) and fits_signed_64(t.user_data_64):
        return t
    return (
        *t[:5],
        encode_u128(t.user_data_128),
        encode_u64(t.user_data_64),
        *t[7:],
    )


def _ids_json(ids: Sequence[int] | set[int]) -> str:
    return json.dumps([i for i in ids if type(i) is int and 0 < i < (1 << 63)])


def _translate(error: sqlite3.Error) -> StoreError:
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return TransientStoreError(str(error))
    return StoreError(f"{type(error).__name__}: {error}")


class SqliteSession:
    """`SqlSession` on one SQLite connection (its `?` placeholders are SQLite's own)."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        try:
            return self._connection.execute(sql, parameters).rowcount
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._connection.executemany(sql, rows)
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            rows: list[tuple[Any, ...]] = self._connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error
        return rows

    def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._connection.execute(sql, parameters).fetchone()
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error
        return row


def _transient_or_same(error: sqlite3.OperationalError) -> Exception:
    translated = _translate(error)
    return translated if isinstance(translated, TransientStoreError) else error


class SqliteWriteTransaction:
    def __init__(self, store: SqliteLedgerStore, connection: sqlite3.Connection) -> None:
        self._store = store
        self._connection = connection
        self.committed = False
        self.sql = SqliteSession(connection)

    def open(
        self, now_ns: int, expiry_limit: int, transfer_ids: Set[int] = frozenset()
    ) -> tuple[int, int, bytes, list[Transfer]]:
        # In process, a look-up costs no round trip: `transfer_ids` wait for `load`.
        sequence, timestamp_last, hash_last = self._head()
        due = self._due_expiries(max(now_ns, timestamp_last + 1), expiry_limit)
        return sequence, timestamp_last, hash_last, due

    def _head(self) -> tuple[int, int, bytes]:
        row = self._connection.execute(
            "SELECT sequence, timestamp_last, hash FROM journal ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return (0, 0, genesis_hash)
        return (row[0], row[1], row[2])

    def load(self, state: LedgerState, account_ids: set[int], transfer_ids: set[int]) -> None:
        connection = self._connection
        missing_transfers = [i for i in transfer_ids if i not in state.transfers]
        pending_ids: list[int] = []
        if missing_transfers:
            for row in connection.execute(
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(missing_transfers),),
            ):
                transfer = _transfer(row)
                state.transfers[transfer.id] = transfer
                if transfer.flags & 2:  # pending: its accounts and state are needed too
                    pending_ids.append(transfer.id)
                    account_ids.add(transfer.debit_account_id)
                    account_ids.add(transfer.credit_account_id)
            for (failed_id,) in connection.execute(
                "SELECT id FROM transfers_failed WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(missing_transfers),),
            ):
                state.failed.add(failed_id)
        if pending_ids:
            for pending_id, pending_state, expires_at in connection.execute(
                "SELECT pending_id, state, expires_at FROM pending_states"
                " WHERE pending_id IN (SELECT value FROM json_each(?))",
                (_ids_json(pending_ids),),
            ):
                state.pending[pending_id] = PendingStatus(pending_id, pending_state, expires_at)
        accounts = state.accounts
        cache = self._store._accounts
        missing_accounts = []
        for account_id in account_ids:
            if account_id in accounts:
                continue
            cached = cache.get(account_id)
            if cached is not None:
                accounts[account_id] = cached
            else:
                missing_accounts.append(account_id)
        if missing_accounts:
            for row in connection.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(missing_accounts),),
            ):
                account = _account_state(row)
                accounts[account.id] = account
                cache[account.id] = account

    def _due_expiries(self, now_ns: int, limit: int) -> list[Transfer]:
        rows = self._connection.execute(
            f"SELECT {', '.join('t.' + c.strip() for c in _TRANSFER_COLUMNS.split(','))}"
            " FROM pending_states p JOIN transfers t ON t.id = p.pending_id"
            " WHERE p.state = 1 AND p.expires_at > 0 AND p.expires_at <= ?"
            " ORDER BY p.expires_at, p.pending_id LIMIT ?",
            (now_ns, limit),
        ).fetchall()
        return [_transfer(row) for row in rows]

    def persist(self, outcome: BatchOutcome, state: LedgerState) -> None:
        connection = self._connection
        cache = self._store._accounts
        if outcome.accounts_created:
            connection.executemany(
                _INSERT_ACCOUNT,
                [
                    (
                        a.id,
                        a.ledger,
                        a.code,
                        a.flags,
                        encode_u128(a.user_data_128),
                        encode_u64(a.user_data_64),
                        a.user_data_32,
                        0,
                        0,
                        0,
                        0,
                        a.timestamp,
                        int(a.closed),
                    )
                    for a in outcome.accounts_created
                ],
            )
            for a in outcome.accounts_created:
                cache[a.id] = a
        if outcome.transfers_created:
            connection.executemany(
                _INSERT_TRANSFER, [_transfer_row(t) for t in outcome.transfers_created]
            )
        if outcome.expiries:
            connection.executemany(
                "INSERT INTO expiries (pending_id, timestamp) VALUES (?, ?)", outcome.expiries
            )
        if outcome.pending_changed:
            connection.executemany(
                "INSERT OR REPLACE INTO pending_states (pending_id, state, expires_at)"
                " VALUES (?, ?, ?)",
                outcome.pending_changed.values(),
            )
        if outcome.accounts_changed:
            accounts = state.accounts
            connection.executemany(
                _UPDATE_ACCOUNT,
                [
                    (
                        a.debits_pending,
                        a.debits_posted,
                        a.credits_pending,
                        a.credits_posted,
                        a.closed,
                        a.id,
                    )
                    for a in (accounts[i] for i in outcome.accounts_changed)
                ],
            )
        if outcome.failed:
            connection.executemany(
                "INSERT INTO transfers_failed (id, status, timestamp) VALUES (?, ?, ?)",
                outcome.failed,
            )
        if outcome.balances:
            connection.executemany(
                "INSERT INTO account_balances (account_id, timestamp, debits_pending,"
                " debits_posted, credits_pending, credits_posted) VALUES (?, ?, ?, ?, ?, ?)",
                outcome.balances,
            )

    def append_journal(self, entry: JournalEntry) -> None:
        self._connection.execute(
            "INSERT INTO journal (sequence, timestamp_first, timestamp_last, record_count,"
            " payload_hash, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            entry,
        )

    def commit(self) -> None:
        self._store._before_commit()
        self._connection.execute("COMMIT")
        self.committed = True


class SqliteLedgerStore:
    """The ledger on one SQLite file (or `:memory:` for a throwaway, single-connection store)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        invariant(synchronous in ("OFF", "NORMAL", "FULL", "EXTRA"), "unknown synchronous mode")
        self.path = str(path)
        self._memory = self.path == ":memory:"
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._write_lock = threading.Lock()
        self._readers = threading.local()
        self._accounts: dict[int, AccountState] = {}
        self._data_version = -1
        # Test hook: called right before COMMIT, to inject storage failures.
        self.before_commit_hook: Any = None
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=database_busy_timeout_ms / 1000,
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {self._synchronous}")
        connection.execute("PRAGMA temp_store = MEMORY")
        connection.execute("PRAGMA cache_size = -65536")
        return connection

    def _reader(self) -> sqlite3.Connection:
        if self._memory:
            return self._writer
        connection: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if connection is None:
            connection = self._connect()
            self._readers.connection = connection
        return connection

    def _before_commit(self) -> None:
        if self.before_commit_hook is not None:
            self.before_commit_hook()

    def reader(self) -> SqliteSession:
        return SqliteSession(self._reader())

    def ensure_schema(self, name: str, script: str) -> None:
        invariant(bool(name), "a schema needs a name")
        with self._write_lock:
            try:
                self._writer.executescript(script)
            except sqlite3.Error as error:
                raise _translate(error) from error

    @contextmanager
    def write(self) -> Iterator[SqliteWriteTransaction]:
        with self._write_lock:
            connection = self._writer
            try:
                connection.execute("BEGIN IMMEDIATE")
                version = connection.execute("PRAGMA data_version").fetchone()[0]
                if version != self._data_version:
                    self._accounts.clear()  # another connection committed: the cache is stale
                    self._data_version = version
            except sqlite3.Error as error:
                raise _translate(error) from error
            transaction = SqliteWriteTransaction(self, connection)
            try:
                yield transaction
            except sqlite3.Error as error:
                self._abort(connection)
                raise _translate(error) from error
            except BaseException:
                self._abort(connection)
                raise
            if not transaction.committed:
                self._abort(connection)

    def _abort(self, connection: sqlite3.Connection) -> None:
        self._accounts.clear()  # the batch mutated cached states in place
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    # -- reads ---------------------------------------------------------------------------------

    def _select(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._reader().execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise _translate(error) from error

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        rows = self._select(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id IN (SELECT value FROM json_each(?))",
            (_ids_json(ids),),
        )
        by_id = {row[0]: _account(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        rows = self._select(
            f"SELECT {_TRANSFER_COLUMNS} FROM transfers"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (_ids_json(ids),),
        )
        by_id = {row[0]: _transfer(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def lookup_pending(self, ids: Sequence[int]) -> list[PendingStatus]:
        rows = self._select(
            "SELECT pending_id, state, expires_at FROM pending_states"
            " WHERE pending_id IN (SELECT value FROM json_each(?))",
            (_ids_json(ids),),
        )
        by_id = {row[0]: PendingStatus(*row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    @staticmethod
    def _range(
        timestamp_min: int, timestamp_max: int, limit: int, reverse: bool
    ) -> tuple[str, list[Any]]:
        clauses = " AND timestamp >= ?"
        parameters: list[Any] = [timestamp_min]
        if timestamp_max:
            clauses += " AND timestamp <= ?"
            parameters.append(timestamp_max)
        order = "DESC" if reverse else "ASC"
        parameters.append(min(max(limit, 0), query_limit_max))
        return f"{clauses} ORDER BY timestamp {order} LIMIT ?", parameters

    def get_account_transfers(self, account_filter: AccountFilter) -> list[Transfer]:
        f = account_filter
        suffix, parameters = self._range(f.timestamp_min, f.timestamp_max, f.limit, f.reversed)
        sides = []
        if f.debits:
            sides.append("debit_account_id = ?")
        if f.credits:
            sides.append("credit_account_id = ?")
        if not sides:
            return []
        where = " OR ".join(sides)
        rows = self._select(
            f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE ({where}){suffix}",
            [f.account_id] * len(sides) + parameters,
        )
        return [_transfer(row) for row in rows]

    def get_account_balances(self, account_filter: AccountFilter) -> list[AccountBalance]:
        f = account_filter
        suffix, parameters = self._range(f.timestamp_min, f.timestamp_max, f.limit, f.reversed)
        rows = self._select(
            "SELECT account_id, timestamp, debits_pending, debits_posted, credits_pending,"
            f" credits_posted FROM account_balances WHERE account_id = ?{suffix}",
            [f.account_id, *parameters],
        )
        return [AccountBalance(*row) for row in rows]

    @staticmethod
    def _query_where(query: QueryFilter) -> tuple[str, list[Any]]:
        clauses = ["1 = 1"]
        parameters: list[Any] = []
        if query.user_data_128:
            clauses.append("user_data_128 = ?")
            parameters.append(encode_u128(query.user_data_128))
        if query.user_data_64:
            clauses.append("user_data_64 = ?")
            parameters.append(encode_u64(query.user_data_64))
        for name in ("user_data_32", "ledger", "code"):
            value = getattr(query, name)
            if value:
                clauses.append(f"{name} = ?")
                parameters.append(value)
        return " AND ".join(clauses), parameters

    def query_accounts(self, query: QueryFilter) -> list[Account]:
        where, parameters = self._query_where(query)
        suffix, more = self._range(
            query.timestamp_min, query.timestamp_max, query.limit, query.reversed
        )
        rows = self._select(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE {where}{suffix}", parameters + more
        )
        return [_account(row) for row in rows]

    def query_transfers(self, query: QueryFilter) -> list[Transfer]:
        where, parameters = self._query_where(query)
        suffix, more = self._range(
            query.timestamp_min, query.timestamp_max, query.limit, query.reversed
        )
        rows = self._select(
            f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE {where}{suffix}", parameters + more
        )
        return [_transfer(row) for row in rows]

    def journal(self, after_sequence: int, limit: int) -> list[JournalEntry]:
        rows = self._select(
            "SELECT sequence, timestamp_first, timestamp_last, record_count, payload_hash,"
            " previous_hash, hash FROM journal WHERE sequence > ? ORDER BY sequence LIMIT ?",
            (after_sequence, limit),
        )
        return [JournalEntry(*row) for row in rows]

    def records_between(
        self, timestamp_first: int, timestamp_last: int
    ) -> tuple[list[AccountRecord], list[Transfer], list[Expiry]]:
        bounds = (timestamp_first, timestamp_last)
        accounts = [
            _account_record(row)
            for row in self._select(
                f"SELECT {_ACCOUNT_RECORD_COLUMNS} FROM accounts"
                " WHERE timestamp BETWEEN ? AND ? ORDER BY timestamp",
                bounds,
            )
        ]
        transfers = [
            _transfer(row)
            for row in self._select(
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers"
                " WHERE timestamp BETWEEN ? AND ? ORDER BY timestamp",
                bounds,
            )
        ]
        expiries = [
            Expiry(*row)
            for row in self._select(
                "SELECT pending_id, timestamp FROM expiries"
                " WHERE timestamp BETWEEN ? AND ? ORDER BY timestamp",
                bounds,
            )
        ]
        return accounts, transfers, expiries

    def iterate_transfers(self, batch_size: int) -> Iterator[list[Transfer]]:
        after = -1
        while True:
            rows = self._select(
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE timestamp > ?"
                " ORDER BY timestamp LIMIT ?",
                (after, batch_size),
            )
            if not rows:
                return
            batch = [_transfer(row) for row in rows]
            after = batch[-1].timestamp
            yield batch

    def all_accounts(self) -> list[Account]:
        return [
            _account(row)
            for row in self._select(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY id")
        ]

    def account_records(self) -> list[AccountRecord]:
        return [
            _account_record(row)
            for row in self._select(
                f"SELECT {_ACCOUNT_RECORD_COLUMNS} FROM accounts ORDER BY timestamp"
            )
        ]

    def pending_states(self) -> dict[int, PendingStatus]:
        return {
            row[0]: PendingStatus(*row)
            for row in self._select("SELECT pending_id, state, expires_at FROM pending_states")
        }

    def execute_unchecked(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run raw SQL on the writer connection, around the application (tests and repairs)."""
        with self._write_lock:
            self._writer.execute(sql, parameters)
            self._accounts.clear()

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        reader: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if reader is not None:
            reader.close()


__all__ = ["SCHEMA", "PendingState", "SqliteLedgerStore"]

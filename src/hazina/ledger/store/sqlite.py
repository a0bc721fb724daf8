"""SQLite ledger store: the embedded default (WAL, synchronous=FULL).

One process writes at a time (SQLite's own rule); `BEGIN IMMEDIATE` takes the write lock. The
store keeps the accounts it has seen in memory between transactions and trusts that cache only
while `PRAGMA data_version` says no other connection has committed since; a failed transaction
drops the cache. Readers use their own connections (one per thread), which WAL lets run beside
the writer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    database_busy_timeout_ms,
    query_limit_max,
    sqlite_background_write_rows_min,
    sqlite_index_bucket_transfers_min,
    sqlite_index_bucket_window_max,
    sqlite_rows_per_statement_max,
    sqlite_wal_checkpoint_fallback_pages,
    sqlite_wal_checkpoint_interval_ms,
    sqlite_writer_switch_interval_us,
)
from hazina.ledger.domain.apply import AccountState, BatchOutcome, LedgerState
from hazina.ledger.domain.journal import AccountRecord, JournalEntry, genesis_hash
from hazina.ledger.domain.model import (
    Account,
    AccountFilter,
    PendingState,
    PendingStatus,
    Transfer,
)
from hazina.ledger.store.base import (
    GroupWriteError,
    StoreError,
    TransientStoreError,
    from_cache,
    merged_sides,
)
from hazina.ledger.store.codec import (
    decode_u64,
    decode_u128,
    encode_u64,
    encode_u128,
    fits_signed_64,
)
from hazina.ledger.store.reads import ACCOUNT_COLUMNS as _ACCOUNT_COLUMNS
from hazina.ledger.store.reads import ID_LIMIT, SqlReads, storable_ids
from hazina.ledger.store.reads import TRANSFER_COLUMNS as _TRANSFER_COLUMNS

# Transfers per bucket of the statement indexes, to know when the newest is full.
_TRANSFER_BUCKETS = """CREATE TABLE IF NOT EXISTS transfer_buckets (
    bucket    INTEGER PRIMARY KEY CHECK (bucket >= 0),
    transfers INTEGER NOT NULL CHECK (transfers > 0)
) STRICT;"""

SCHEMA = (
    """
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
    bucket            INTEGER NOT NULL CHECK (bucket >= 0),
    CHECK (debit_account_id <> credit_account_id)
) STRICT;
-- The statement indexes lead with the transfer's bucket (a run of about
-- `sqlite_index_bucket_transfers_min` transfers in timestamp order), so a commit's entries land in
-- the newest bucket's few pages instead of all over an index that grows with the ledger. The
-- rowid (the timestamp) is in every entry: (bucket, account, timestamp range) is one seek.
CREATE INDEX IF NOT EXISTS transfers_debit_bucketed ON transfers (bucket, debit_account_id);
CREATE INDEX IF NOT EXISTS transfers_credit_bucketed ON transfers (bucket, credit_account_id);
"""
    + _TRANSFER_BUCKETS
    + """
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
)

_INSERT_ACCOUNT = f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES ({', '.join('?' * 13)})"
# An account's new balances, in `_UPDATE_ACCOUNT`'s parameter order.
_BALANCE_COLUMNS = operator.attrgetter(
    "debits_pending", "debits_posted", "credits_pending", "credits_posted", "closed", "id"
)
_UPDATE_ACCOUNT = (
    "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?,"
    " credits_posted = ?, closed = ? WHERE id = ?"
)
# The same for many accounts in one statement (rows in `_BALANCE_COLUMNS` order): one
# `sqlite3_step` without the GIL for all of them, where `executemany` takes the GIL back after
# every row and so crawls while the committer thread hashes the journal beside it.
_UPDATE_ACCOUNTS_HEAD = (
    "UPDATE accounts SET debits_pending = v.column1, debits_posted = v.column2,"
    " credits_pending = v.column3, credits_posted = v.column4, closed = v.column5 FROM ("
)
_UPDATE_ACCOUNTS_TAIL = ") AS v WHERE accounts.id = v.column6"


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


def _account_record(row: Sequence[Any]) -> AccountRecord:
    """An account as created, from `reads.ACCOUNT_RECORD_COLUMNS`."""
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


def _transfer_values(t: Transfer) -> tuple[Any, ...]:
    """A transfer as a plain tuple (sqlite3 binds an exact tuple faster than a NamedTuple):
    `_PLAIN_TRANSFER_VALUES` for the common transfer with no pending id, user data or
    timeout (fewer values to bind), else all 13 columns."""
    if not (t[4] or t[5] or t[6] or t[7] or t[8]):
        return (t[0], t[1], t[2], t[3], t[9], t[10], t[11], t[12])
    if fits_signed_64(t.user_data_128) and fits_signed_64(t.user_data_64):
        return tuple(t)
    return (
        *t[:5],
        encode_u128(t.user_data_128),
        encode_u64(t.user_data_64),
        *t[7:],
    )


_PLAIN_TRANSFER_VALUES = 8
# Every row group starts with `?1`, the bucket, bound once per statement; the bare `?` that
# follow number on from the largest so far (SQLite's rule), so the rows' values are ?2, ?3, ...
_INSERT_PLAIN_TRANSFERS = (
    "INSERT INTO transfers (bucket, id, debit_account_id, credit_account_id, amount, ledger,"
    " code, flags, timestamp, pending_id, user_data_128, user_data_64, user_data_32, timeout)"
)
_multi_row_statements: dict[tuple[str, int], str] = {}


def _multi_row(head: str, group: str, rows: int, tail: str = "") -> str:
    """`head VALUES group, group, ... tail` with `rows` groups, cached by shape (callers use
    `_power_of_two_parts`, so the shapes are few)."""
    invariant(rows > 0 and rows & (rows - 1) == 0, "multi-row statements come in powers of two")
    key = (head + group + tail, rows)
    statement = _multi_row_statements.get(key)
    if statement is None:
        statement = f"{head} VALUES {', '.join([group] * rows)}{tail}"
        _multi_row_statements[key] = statement
    return statement


def _insert_transfers(
    connection: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], bucket: int
) -> None:
    """Insert transfer rows, all in `bucket`, a few statements at a time: each statement runs
    in one call that releases the GIL, so the committer thread can go on applying while this
    one writes. Statements of power-of-two sizes, so that SQLite compiles (and `_multi_row`
    keeps) a few shapes, not one per group size."""
    plain = [row for row in rows if len(row) == _PLAIN_TRANSFER_VALUES]
    full = (
        [row for row in rows if len(row) != _PLAIN_TRANSFER_VALUES]
        if len(plain) < len(rows)
        else []
    )
    shapes = (
        (plain, _INSERT_PLAIN_TRANSFERS, "(?1, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0)"),
        (
            full,
            f"INSERT INTO transfers (bucket, {_TRANSFER_COLUMNS})",
            "(?1, " + ", ".join("?" * 13) + ")",
        ),
    )
    for shaped, head, group in shapes:
        for start, stop in _power_of_two_parts(len(shaped)):
            part = shaped[start:stop]
            parameters = [bucket]
            parameters.extend(itertools.chain.from_iterable(part))
            connection.execute(_multi_row(head, group, len(part)), parameters)


def _power_of_two_parts(rows: int) -> Iterator[tuple[int, int]]:
    """`(start, stop)` parts of `rows` rows, each `sqlite_rows_per_statement_max` or a smaller
    power of two: a multi-row statement is compiled once per size (about 3 ms for a thousand
    rows), so its sizes must come from a small set, not from each group's count."""
    start = 0
    size = sqlite_rows_per_statement_max
    while start < rows:
        while size > rows - start:
            size //= 2
        yield start, start + size
        start += size


def _update_accounts(
    connection: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]
) -> Callable[[], None]:
    """New balances of many accounts as one multi-row statement, for the writer thread."""
    statement = _multi_row(
        _UPDATE_ACCOUNTS_HEAD, "(?, ?, ?, ?, ?, ?)", len(rows), _UPDATE_ACCOUNTS_TAIL
    )

    def work() -> None:
        connection.execute(statement, list(itertools.chain.from_iterable(rows)))

    return work


def _many(
    connection: sqlite3.Connection, statement: str, rows: Sequence[Sequence[Any]]
) -> Callable[[], None]:
    """`executemany` as a piece of work for `SqliteWriteTransaction._write`."""

    def work() -> None:
        connection.executemany(statement, rows)

    return work


def _migrate(connection: sqlite3.Connection) -> None:
    """A database made before the statement indexes were bucketed: its transfers all go in
    bucket 0 and its one-column account indexes make way for the bucketed ones (created by
    `SCHEMA` right after). One transaction; a second open finds nothing left to do."""
    columns = [row[1] for row in connection.execute("PRAGMA table_info(transfers)")]
    if not columns or "bucket" in columns:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(transfers)")]
        if "bucket" in columns:  # another process migrated it while this one waited
            connection.execute("ROLLBACK")
            return
        connection.execute(
            "ALTER TABLE transfers ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0 CHECK (bucket >= 0)"
        )
        connection.execute("DROP INDEX IF EXISTS transfers_debit")
        connection.execute("DROP INDEX IF EXISTS transfers_credit")
        connection.execute(_TRANSFER_BUCKETS)
        connection.execute(
            "INSERT INTO transfer_buckets (bucket, transfers)"
            " SELECT 0, count(*) FROM transfers HAVING count(*) > 0"
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _bucket_span(
    connection: sqlite3.Connection, timestamp_min: int, timestamp_max: int
) -> tuple[int, int] | None:
    """The buckets of the first and the last transfer in the timestamp range (rowid seeks),
    or None when the range holds no transfer."""
    first = connection.execute(
        "SELECT bucket FROM transfers WHERE timestamp >= ? ORDER BY timestamp LIMIT 1",
        (timestamp_min,),
    ).fetchone()
    last = connection.execute(
        "SELECT bucket FROM transfers WHERE timestamp <= ? ORDER BY timestamp DESC LIMIT 1",
        (timestamp_max if timestamp_max else (1 << 63) - 1,),
    ).fetchone()
    if first is None or last is None or first[0] > last[0]:
        return None
    return int(first[0]), int(last[0])


def _ids_json(ids: Sequence[int] | set[int]) -> str:
    return json.dumps(storable_ids(ids))


def _translate(error: sqlite3.Error) -> StoreError:
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return TransientStoreError(str(error))
    return StoreError(f"{type(error).__name__}: {error}")


class SqliteSession:
    """`SqlSession` on one SQLite connection (its `?` placeholders are SQLite's own)."""

    dialect = "sqlite"

    def __init__(
        self, connection: sqlite3.Connection, before: Callable[[], None] | None = None
    ) -> None:
        self._connection = connection
        self._before = before  # a write transaction's: wait for its writer thread first

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        if self._before is not None:
            self._before()
        try:
            return self._connection.execute(sql, parameters).rowcount
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error

    def write(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self.execute(sql, parameters)  # in process: nothing to gain by waiting later

    def flush(self) -> None:
        return None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._before is not None:
            self._before()
        try:
            self._connection.executemany(sql, rows)
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._before is not None:
            self._before()
        try:
            rows: list[tuple[Any, ...]] = self._connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error
        return rows

    def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        if self._before is not None:
            self._before()
        try:
            row: tuple[Any, ...] | None = self._connection.execute(sql, parameters).fetchone()
        except sqlite3.OperationalError as error:
            raise _transient_or_same(error) from error
        return row

    def fetch_batch(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        return [self.fetch_all(sql, parameters) for sql, parameters in statements]


def _transient_or_same(error: sqlite3.OperationalError) -> Exception:
    translated = _translate(error)
    return translated if isinstance(translated, TransientStoreError) else error


class _FastGilHandOver:
    """Shorten the interpreter's switch interval while any writer thread is busy.

    The writer releases the GIL inside each statement and must take it back after; with the
    default 5 ms interval it would wait up to that long each time behind the applying
    committer thread. Counted, so overlapping transactions (of several stores) restore the
    interval only when the last one is done."""

    _lock = threading.Lock()
    _users = 0
    _saved_s = 0.0

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved_s = sys.getswitchinterval()
                sys.setswitchinterval(min(cls._saved_s, sqlite_writer_switch_interval_us / 1e6))
            cls._users += 1

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            invariant(cls._users > 0, "leave follows enter")
            cls._users -= 1
            if cls._users == 0:
                sys.setswitchinterval(cls._saved_s)


class SqliteWriteTransaction:
    """One write transaction on the store's writer connection.

    Large groups are written by the store's writer thread while the committer thread is still
    applying: `write_transfers` hands it full statements of rows, and every other use of the
    connection (reads, other contexts' SQL, `persist`, `commit`) waits for it first, so the
    connection is never used by two threads at once and statements run in the order made.
    Small groups are written inline, where a thread hand-off would cost more than it saves.
    """

    def __init__(
        self, store: SqliteLedgerStore, connection: sqlite3.Connection, bucket: int
    ) -> None:
        self._store = store
        self._connection = connection
        self.bucket = bucket  # every transfer of this transaction is indexed in it
        self.committed = False
        self.sql = SqliteSession(connection, self.wait_for_writer)
        self._transfer_rows: list[tuple[Any, ...]] = []  # handed over, not yet written
        self._transfers_handed = 0
        self._writes: list[Future[None]] = []  # on the writer thread, in order
        self._transfer_id_max: int | None = None
        self.large = False  # used the writer thread: checkpointed by the checkpoint thread

    def _write(self, work: Callable[[], None], *, large: bool) -> None:
        """Run `work` on the connection: on the writer thread if it is large or the writer
        is busy (to keep the order), else here."""
        if large or self._writes:
            if not self._writes:
                _FastGilHandOver.enter()
            self.large = True
            self._writes.append(self._store._writer_thread().submit(work))
        else:
            work()

    def wait_for_writer(self) -> None:
        """Block until the writer thread has run everything handed to it, and raise its first
        error here (`GroupWriteError`, or `TransientStoreError` for a busy database)."""
        writes, self._writes = self._writes, []
        if not writes:
            return
        first_error: BaseException | None = None
        for write in writes:
            error = write.exception()
            if error is not None and first_error is None:
                first_error = error
        _FastGilHandOver.leave()
        if isinstance(first_error, sqlite3.Error):
            translated = _translate(first_error)
            if isinstance(translated, TransientStoreError):
                raise translated from first_error
            raise GroupWriteError(str(translated)) from first_error
        if first_error is not None:
            raise first_error

    def write_transfers(self, transfers: Sequence[Transfer], batch_events: int) -> None:
        self._transfers_handed += len(transfers)
        rows = self._transfer_rows
        rows.extend([_transfer_values(t) for t in transfers])
        # A large batch's chunks go to the writer as they come (its first, small chunk too:
        # the writer starts sooner); small batches gather rows for one statement at `persist`.
        if len(rows) >= self._store.background_write_rows_min or (
            batch_events >= self._store.background_write_rows_min
        ):
            self._transfer_rows = []
            self._insert(rows, large=True)

    def _insert(self, rows: list[tuple[Any, ...]], *, large: bool) -> None:
        """Hand transfer rows to `_write`, as INSERTs into this transaction's bucket."""
        connection, bucket = self._connection, self.bucket
        self._write(lambda: _insert_transfers(connection, rows, bucket), large=large)

    def open(
        self,
        now_ns: int,
        expiry_limit: int,
        transfer_ids: Set[int] = frozenset(),
        account_ids: Set[int] = frozenset(),
        all_new: bool = False,
    ) -> tuple[int, int, bytes, list[Transfer]]:
        # In process, a look-up costs no round trip: `transfer_ids` wait for `load`, and
        # reading first is as cheap as trusting a cache (`all_new` changes nothing here).
        self.wait_for_writer()
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
        # Waits for the writer thread only to read: ids above the stored maximum and cached
        # accounts need no statement, so the writer goes on with earlier chunks meanwhile.
        connection = self._connection
        stored_max = self._stored_transfer_id_max()
        missing_transfers = [  # malformed ids are refused by the domain: nothing to find
            i
            for i in transfer_ids
            if type(i) is int and i <= stored_max and i not in state.transfers
        ]
        pending_ids: list[int] = []
        if missing_transfers:
            self.wait_for_writer()
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
        missing_accounts = from_cache(account_ids, accounts, cache)
        if missing_accounts:
            self.wait_for_writer()
            for row in connection.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(missing_accounts),),
            ):
                account = _account_state(row)
                accounts[account.id] = account
                cache[account.id] = account

    def _stored_transfer_id_max(self) -> int:
        """The largest transfer id stored (created or remembered as failed) before this
        transaction: a larger id cannot exist, so clients with rising ids (as TigerBeetle
        advises) skip the look-up. Later ids of this transaction are in the state anyway."""
        if self._transfer_id_max is None:
            self.wait_for_writer()
            row = self._connection.execute(
                "SELECT max(coalesce((SELECT max(id) FROM transfers), 0),"
                " coalesce((SELECT max(id) FROM transfers_failed), 0))"
            ).fetchone()
            self._transfer_id_max = int(row[0])
        return self._transfer_id_max

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
        invariant(
            self._transfers_handed == len(outcome.transfers_created),
            "every transfer created was handed to write_transfers",
        )
        connection = self._connection
        cache = self._store._accounts
        # The transfers still waiting first: the writer thread inserts them while the account
        # rows are prepared here.
        if self._transfer_rows:
            transfer_rows, self._transfer_rows = self._transfer_rows, []
            self._insert(
                transfer_rows, large=len(transfer_rows) >= self._store.background_write_rows_min
            )
        if self._transfers_handed:
            self._write(
                _many(
                    connection,
                    "INSERT INTO transfer_buckets (bucket, transfers) VALUES (?, ?) ON CONFLICT"
                    " (bucket) DO UPDATE SET transfers = transfers + excluded.transfers",
                    [(self.bucket, self._transfers_handed)],
                ),
                large=False,
            )
        if outcome.accounts_created:
            account_rows = [
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
            ]
            self._write(_many(connection, _INSERT_ACCOUNT, account_rows), large=False)
            for a in outcome.accounts_created:
                cache[a.id] = a
        if outcome.accounts_changed:
            # Early (after the accounts it may update are inserted), so that the writer thread
            # starts on it while the rest is prepared; in id order, so that neighbouring rows
            # share B-tree pages.
            accounts = state.accounts
            changed = sorted(outcome.accounts_changed)
            if len(changed) < self._store.background_write_rows_min:
                balance_rows = list(map(_BALANCE_COLUMNS, [accounts[i] for i in changed]))
                self._write(_many(connection, _UPDATE_ACCOUNT, balance_rows), large=False)
            else:
                # Many: a statement's worth at a time, so the writer starts on the first while
                # the next are prepared, and the committer can hash the journal meanwhile.
                for start, stop in _power_of_two_parts(len(changed)):
                    part = list(map(_BALANCE_COLUMNS, [accounts[i] for i in changed[start:stop]]))
                    self._write(_update_accounts(connection, part), large=True)
        if outcome.expiries:
            self._write(
                _many(
                    connection,
                    "INSERT INTO expiries (pending_id, timestamp) VALUES (?, ?)",
                    list(outcome.expiries),
                ),
                large=False,
            )
        if outcome.pending_changed:
            self._write(
                _many(
                    connection,
                    "INSERT OR REPLACE INTO pending_states (pending_id, state, expires_at)"
                    " VALUES (?, ?, ?)",
                    list(outcome.pending_changed.values()),
                ),
                large=False,
            )
        if outcome.failed:
            self._write(
                _many(
                    connection,
                    "INSERT INTO transfers_failed (id, status, timestamp) VALUES (?, ?, ?)",
                    list(outcome.failed),
                ),
                large=False,
            )
        if outcome.balances:
            self._write(
                _many(
                    connection,
                    "INSERT INTO account_balances (account_id, timestamp, debits_pending,"
                    " debits_posted, credits_pending, credits_posted) VALUES (?, ?, ?, ?, ?, ?)",
                    list(outcome.balances),
                ),
                large=False,
            )

    def append_journal(self, entry: JournalEntry) -> None:
        self._write(
            _many(
                self._connection,
                "INSERT INTO journal (sequence, timestamp_first, timestamp_last, record_count,"
                " payload_hash, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [entry],
            ),
            large=False,
        )

    def commit(self) -> None:
        self.wait_for_writer()
        self._store._before_commit()
        self._store._choose_checkpointing(large=self.large)
        self._connection.execute("COMMIT")
        self.committed = True
        self._store._bucket_committed(self.bucket, self._transfers_handed)
        if self.large:
            self._store._checkpoint_soon()


class SqliteLedgerStore(SqlReads):
    """The ledger on one SQLite file (or `:memory:` for a throwaway, single-connection store)."""

    dialect = "sqlite"
    reads_in_process = True
    _account_of = staticmethod(_account)
    _transfer_of = staticmethod(_transfer)
    _account_record_of = staticmethod(_account_record)
    _encode_u128 = staticmethod(encode_u128)

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        background_write_rows_min: int = sqlite_background_write_rows_min,
        bucket_transfers: int = sqlite_index_bucket_transfers_min,
    ) -> None:
        """`background_write_rows_min`: a group's rows go to the writer thread once this many
        are waiting (tests lower it to run every group through the writer thread).
        `bucket_transfers`: transfers per statement-index bucket (tests lower it to cross
        many buckets with few transfers)."""
        invariant(synchronous in ("OFF", "NORMAL", "FULL", "EXTRA"), "unknown synchronous mode")
        invariant(background_write_rows_min > 0, "the writer thread takes at least one row")
        invariant(bucket_transfers > 0, "a bucket holds at least one transfer")
        self.background_write_rows_min = background_write_rows_min
        self.bucket_transfers = bucket_transfers
        self.path = str(path)
        self._memory = self.path == ":memory:"
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._write_lock = threading.Lock()
        self._readers = threading.local()
        self._accounts: dict[int, AccountState] = {}
        self._bucket_fill: tuple[int, int] | None = None  # newest bucket, its transfers
        self._data_version = -1
        # Test hook: called right before COMMIT, to inject storage failures.
        self.before_commit_hook: Any = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_due = threading.Event()
        self._closing = threading.Event()
        self._writer = self._connect()
        self._autocheckpoint_pages = 1_000  # SQLite's default
        _migrate(self._writer)
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
                    self._forget_cached()  # another connection committed: the cache is stale
                    self._data_version = version
                bucket = self._next_bucket(connection)
            except sqlite3.Error as error:
                if connection.in_transaction:  # begun, then a read failed: end it here
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise _translate(error) from error
            transaction = SqliteWriteTransaction(self, connection, bucket)
            try:
                yield transaction
            except sqlite3.Error as error:
                self._abort(transaction)
                raise _translate(error) from error
            except BaseException:
                self._abort(transaction)
                raise
            if not transaction.committed:
                self._abort(transaction)

    def _next_bucket(self, connection: sqlite3.Connection) -> int:
        """The bucket this transaction's transfers go in: the newest, or a new one once the
        newest holds `bucket_transfers` (a transaction is never split, so a bucket may hold
        up to a batch more). Read under the write lock, so buckets only grow with time."""
        if self._bucket_fill is None:
            row = connection.execute(
                "SELECT bucket, transfers FROM transfer_buckets ORDER BY bucket DESC LIMIT 1"
            ).fetchone()
            self._bucket_fill = (0, 0) if row is None else (row[0], row[1])
        bucket, transfers = self._bucket_fill
        return bucket + 1 if transfers >= self.bucket_transfers else bucket

    def _bucket_committed(self, bucket: int, transfers: int) -> None:
        if transfers == 0:
            return
        fill = self._bucket_fill
        before = fill[1] if fill is not None and fill[0] == bucket else 0
        self._bucket_fill = (bucket, before + transfers)

    def _forget_cached(self) -> None:
        """Drop what the store remembers between transactions (accounts, the newest bucket):
        read again next time."""
        self._accounts.clear()
        self._bucket_fill = None

    def _abort(self, transaction: SqliteWriteTransaction) -> None:
        self._forget_cached()  # the batch mutated cached states in place
        # The connection must be idle before ROLLBACK; the error that got us here is raised.
        with contextlib.suppress(Exception):
            transaction.wait_for_writer()
        if self._writer.in_transaction:
            self._writer.execute("ROLLBACK")

    def _choose_checkpointing(self, *, large: bool) -> None:
        """Checkpoints copy the WAL back into the database file and fsync it. After small
        commits SQLite does it within COMMIT once the WAL passes 1,000 pages (one commit in
        hundreds pays it); a large commit alone writes more than that, so it would pay it
        every time and double its commit time: those leave it to the checkpoint thread, and
        the writer steps in only if that thread falls far behind."""
        if self._memory:
            return
        pages = sqlite_wal_checkpoint_fallback_pages if large else 1_000
        if pages != self._autocheckpoint_pages:
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {pages}")
            self._autocheckpoint_pages = pages

    def _checkpoint_soon(self) -> None:
        """After a commit: let the checkpoint thread copy the new WAL frames back."""
        if self._memory:
            return
        if self._checkpointer is None:
            self._checkpointer = threading.Thread(
                target=self._run_checkpoints, name="sqlite-checkpointer", daemon=True
            )
            self._checkpointer.start()
        self._checkpoint_due.set()

    def _run_checkpoints(self) -> None:
        connection = self._connect()
        try:
            while True:
                self._checkpoint_due.wait()
                # Commits that come meanwhile share this checkpoint: a page written by several
                # of them is copied back once, and small commits do not each pay an fsync.
                if self._closing.wait(sqlite_wal_checkpoint_interval_ms / 1000):
                    return
                self._checkpoint_due.clear()
                # PASSIVE: never waits for, nor blocks, the writer or the readers. If busy, the
                # next commit asks again; the writer's own fallback bounds the WAL meanwhile.
                with contextlib.suppress(sqlite3.OperationalError):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()

    def _writer_thread(self) -> ThreadPoolExecutor:
        """The thread that writes large groups while the committer goes on applying."""
        if self._writer_pool is None:
            self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        return self._writer_pool

    # -- reads ---------------------------------------------------------------------------------

    def _select(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._reader().execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise _translate(error) from error

    def _id_in(self, column: str, ids: list[int]) -> tuple[str, Any]:
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(ids)

    def get_account_transfers(self, account_filter: AccountFilter) -> list[Transfer]:
        """The account's transfers in the range, oldest (or newest) first, read bucket by
        bucket in time order with a window of buckets per statement that doubles (up to
        `sqlite_index_bucket_window_max`): a busy account fills its page from the first
        bucket, a rare one spans many buckets for a few rows. One read snapshot throughout."""
        f = account_filter
        sides = []
        if f.debits:
            sides.append("debit_account_id = ?")
        if f.credits:
            sides.append("credit_account_id = ?")
        limit = min(max(f.limit, 0), query_limit_max)
        if not sides or limit == 0 or not 0 < f.account_id < ID_LIMIT:
            return []
        suffix, parameters = self._range(f.timestamp_min, f.timestamp_max, limit, f.reversed)
        del parameters[-1]  # the limit: what is left of the page, per statement
        # One seek per bucket and side: each side on its own index (an OR of the two lets
        # the planner scan whole buckets).
        sql = merged_sides(
            [
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE bucket IN"
                f" (SELECT value FROM json_each(?)) AND {side}{suffix}"
                for side in sides
            ],
            "timestamp",
            f.reversed,
        )
        found: list[Any] = []
        try:
            connection = self._reader()
            with self._read_snapshot(connection):
                span = _bucket_span(connection, f.timestamp_min, f.timestamp_max)
                if span is None:
                    return []
                buckets = range(span[0], span[1] + 1)
                if f.reversed:
                    buckets = buckets[::-1]
                start, window = 0, 1
                while start < len(buckets) and len(found) < limit:
                    chosen = json.dumps(list(buckets[start : start + window]))
                    left = limit - len(found)
                    bound = [chosen, f.account_id, *parameters, left] * len(sides)
                    if len(sides) > 1:
                        bound.append(left)
                    found += connection.execute(sql, bound).fetchall()
                    start += window
                    window = min(window * 2, sqlite_index_bucket_window_max)
        except sqlite3.Error as error:
            raise _translate(error) from error
        return [_transfer(row) for row in found]

    @contextmanager
    def _read_snapshot(self, connection: sqlite3.Connection) -> Iterator[None]:
        """Several statements read one committed state (a reader connection's transaction).
        The `:memory:` store reads on its one connection, as it always has."""
        if self._memory or connection.in_transaction:
            yield
            return
        connection.execute("BEGIN")
        try:
            yield
        finally:
            connection.execute("COMMIT")

    def index_problems(self) -> list[str]:
        """What account look-ups rely on in the statement indexes: every bucket holds as many
        transfers as `transfer_buckets` says (new buckets are opened by that count), and
        buckets never go down in timestamp order (look-ups read them in order)."""
        problems: list[str] = []
        counted = dict(self._select("SELECT bucket, count(*) FROM transfers GROUP BY bucket"))
        recorded = dict(self._select("SELECT bucket, transfers FROM transfer_buckets"))
        for bucket in sorted(counted.keys() | recorded.keys()):
            if counted.get(bucket, 0) != recorded.get(bucket, 0):
                problems.append(
                    f"statement index bucket {bucket}: holds {counted.get(bucket, 0)} transfers,"
                    f" transfer_buckets says {recorded.get(bucket, 0)}"
                )
        for timestamp, bucket, before in self._select(
            "SELECT timestamp, bucket, before FROM (SELECT timestamp, bucket,"
            " lag(bucket) OVER (ORDER BY timestamp) AS before FROM transfers)"
            " WHERE bucket < before LIMIT 1"
        ):
            problems.append(
                f"transfer at timestamp {timestamp}: statement index bucket {bucket} after"
                f" bucket {before} (buckets must not go down in time)"
            )
        return problems

    def execute_unchecked(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run raw SQL on the writer connection, around the application (tests and repairs)."""
        with self._write_lock:
            self._writer.execute(sql, parameters)
            self._forget_cached()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._closing.set()
            self._checkpoint_due.set()
            self._checkpointer.join()
            self._checkpointer = None
        with self._write_lock:
            if self._writer_pool is not None:
                self._writer_pool.shutdown()
                self._writer_pool = None
            self._writer.close()
        reader: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if reader is not None:
            reader.close()


__all__ = ["SCHEMA", "PendingState", "SqliteLedgerStore"]

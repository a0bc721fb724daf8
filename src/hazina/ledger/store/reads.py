"""The read side both SQL stores share: look-ups by id, ranges by timestamp, filtered queries,
the journal and the records behind `hazina ledger verify`.

The statements are the same on SQLite and PostgreSQL but for three things each store says for
itself: its parameter placeholder, how it binds a set of ids (a JSON array on SQLite, a
`bigint[]` on PostgreSQL), and how a row's columns become the domain's values (SQLite keeps
128-bit user data as a blob, PostgreSQL as `numeric`). An account's transfers are not here: each
store reads them on its own indexes (SQLite by bucket, see `SqliteLedgerStore`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import query_limit_max
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
from hazina.ledger.store.codec import encode_u64

ACCOUNT_COLUMNS = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32, debits_pending,"
    " debits_posted, credits_pending, credits_posted, timestamp, closed"
)
TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, pending_id, user_data_128,"
    " user_data_64, user_data_32, timeout, ledger, code, flags, timestamp"
)
ACCOUNT_RECORD_COLUMNS = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32, timestamp"
)
BALANCE_COLUMNS = (
    "account_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted"
)
ID_LIMIT = 1 << 63  # ids are stored as signed 64-bit integers: none reaches this


def storable_ids(ids: Sequence[int] | set[int]) -> list[int]:
    """The ids that can exist (positive 63-bit integers): any other is simply not found."""
    return [i for i in ids if type(i) is int and 0 < i < ID_LIMIT]


class SqlReads:
    """Reads over `_select`, for a store that says how it binds and decodes (the hooks below)."""

    placeholder = "?"
    # Per `QueryFilter` field, the cast its parameter needs (PostgreSQL types an unadorned
    # Python int by its value, which can keep a comparison off the column's index).
    filter_casts: ClassVar[dict[str, str]] = {}

    # -- hooks -----------------------------------------------------------------------------------

    def _select(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _id_in(self, column: str, ids: list[int]) -> tuple[str, Any]:
        """`column` is one of `ids` (already storable): the condition and its one parameter."""
        raise NotImplementedError

    @staticmethod
    def _account_of(row: Sequence[Any]) -> Account:
        raise NotImplementedError

    @staticmethod
    def _transfer_of(row: Sequence[Any]) -> Transfer:
        raise NotImplementedError

    @staticmethod
    def _account_record_of(row: Sequence[Any]) -> AccountRecord:
        raise NotImplementedError

    @staticmethod
    def _encode_u128(value: int) -> Any:
        raise NotImplementedError

    # -- look-ups by id --------------------------------------------------------------------------

    def _by_id(self, columns: str, table: str, column: str, ids: Sequence[int]) -> list[Any]:
        """The rows of `table` whose `column` is one of `ids`, in the order of `ids` (the ones
        not found left out); the key is the rows' first column."""
        condition, parameter = self._id_in(column, storable_ids(ids))
        rows = self._select(f"SELECT {columns} FROM {table} WHERE {condition}", (parameter,))
        by_id = {row[0]: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        account = self._account_of
        return [account(row) for row in self._by_id(ACCOUNT_COLUMNS, "accounts", "id", ids)]

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        transfer = self._transfer_of
        return [transfer(row) for row in self._by_id(TRANSFER_COLUMNS, "transfers", "id", ids)]

    def lookup_pending(self, ids: Sequence[int]) -> list[PendingStatus]:
        rows = self._by_id("pending_id, state, expires_at", "pending_states", "pending_id", ids)
        return [PendingStatus(*row) for row in rows]

    # -- ranges and queries ----------------------------------------------------------------------

    def _range(
        self, timestamp_min: int, timestamp_max: int, limit: int, reverse: bool
    ) -> tuple[str, list[Any]]:
        """` AND timestamp >= ? [AND timestamp <= ?] ORDER BY timestamp ... LIMIT ?` and its
        parameters (the limit last, capped at `query_limit_max`)."""
        p = self.placeholder
        clauses = f" AND timestamp >= {p}"
        parameters: list[Any] = [timestamp_min]
        if timestamp_max:
            clauses += f" AND timestamp <= {p}"
            parameters.append(timestamp_max)
        order = "DESC" if reverse else "ASC"
        parameters.append(min(max(limit, 0), query_limit_max))
        return f"{clauses} ORDER BY timestamp {order} LIMIT {p}", parameters

    def get_account_balances(self, account_filter: AccountFilter) -> list[AccountBalance]:
        f = account_filter
        if not 0 < f.account_id < ID_LIMIT:
            return []
        suffix, parameters = self._range(f.timestamp_min, f.timestamp_max, f.limit, f.reversed)
        rows = self._select(
            f"SELECT {BALANCE_COLUMNS} FROM account_balances"
            f" WHERE account_id = {self.placeholder}{suffix}",
            [f.account_id, *parameters],
        )
        return [AccountBalance(*row) for row in rows]

    def _query_where(self, query: QueryFilter) -> tuple[str, list[Any]]:
        clauses = ["1 = 1"]
        parameters: list[Any] = []
        values = (
            ("user_data_128", query.user_data_128, self._encode_u128),
            ("user_data_64", query.user_data_64, encode_u64),
            ("user_data_32", query.user_data_32, None),
            ("ledger", query.ledger, None),
            ("code", query.code, None),
        )
        for name, value, encode in values:
            if value:
                clauses.append(f"{name} = {self.placeholder}{self.filter_casts.get(name, '')}")
                parameters.append(value if encode is None else encode(value))
        return " AND ".join(clauses), parameters

    def _query(self, columns: str, table: str, query: QueryFilter) -> list[Any]:
        where, parameters = self._query_where(query)
        suffix, more = self._range(
            query.timestamp_min, query.timestamp_max, query.limit, query.reversed
        )
        sql = f"SELECT {columns} FROM {table} WHERE {where}{suffix}"
        return self._select(sql, parameters + more)

    def query_accounts(self, query: QueryFilter) -> list[Account]:
        account = self._account_of
        return [account(row) for row in self._query(ACCOUNT_COLUMNS, "accounts", query)]

    def query_transfers(self, query: QueryFilter) -> list[Transfer]:
        transfer = self._transfer_of
        return [transfer(row) for row in self._query(TRANSFER_COLUMNS, "transfers", query)]

    # -- the journal and what `ledger verify` reads ----------------------------------------------

    def journal(self, after_sequence: int, limit: int) -> list[JournalEntry]:
        p = self.placeholder
        rows = self._select(
            "SELECT sequence, timestamp_first, timestamp_last, record_count, payload_hash,"
            f" previous_hash, hash FROM journal WHERE sequence > {p} ORDER BY sequence LIMIT {p}",
            (after_sequence, limit),
        )
        return [
            JournalEntry(
                row[0], row[1], row[2], row[3], bytes(row[4]), bytes(row[5]), bytes(row[6])
            )
            for row in rows
        ]

    def records_between(
        self, timestamp_first: int, timestamp_last: int
    ) -> tuple[list[AccountRecord], list[Transfer], list[Expiry]]:
        between = f" WHERE timestamp BETWEEN {self.placeholder} AND {self.placeholder}"
        bounds = (timestamp_first, timestamp_last)
        record, transfer = self._account_record_of, self._transfer_of
        accounts = [
            record(row)
            for row in self._select(
                f"SELECT {ACCOUNT_RECORD_COLUMNS} FROM accounts{between} ORDER BY timestamp",
                bounds,
            )
        ]
        transfers = [
            transfer(row)
            for row in self._select(
                f"SELECT {TRANSFER_COLUMNS} FROM transfers{between} ORDER BY timestamp", bounds
            )
        ]
        expiries = [
            Expiry(*row)
            for row in self._select(
                f"SELECT pending_id, timestamp FROM expiries{between} ORDER BY timestamp", bounds
            )
        ]
        return accounts, transfers, expiries

    def iterate_transfers(self, batch_size: int) -> Iterator[list[Transfer]]:
        invariant(batch_size > 0, "a positive batch size")
        p = self.placeholder
        transfer = self._transfer_of
        after = -1
        while True:
            rows = self._select(
                f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE timestamp > {p}"
                f" ORDER BY timestamp LIMIT {p}",
                (after, batch_size),
            )
            if not rows:
                return
            batch = [transfer(row) for row in rows]
            after = batch[-1].timestamp
            yield batch

    def iterate_balances(self, batch_size: int) -> Iterator[list[AccountBalance]]:
        invariant(batch_size > 0, "a positive batch size")
        p = self.placeholder
        after: tuple[int, int] = (0, -1)
        while True:
            rows = self._select(
                f"SELECT {BALANCE_COLUMNS} FROM account_balances"
                f" WHERE (account_id, timestamp) > ({p}, {p})"
                f" ORDER BY account_id, timestamp LIMIT {p}",
                (*after, batch_size),
            )
            if not rows:
                return
            batch = [AccountBalance(*row) for row in rows]
            after = (batch[-1].account_id, batch[-1].timestamp)
            yield batch

    def expiries(self) -> list[Expiry]:
        return [
            Expiry(*row)
            for row in self._select("SELECT pending_id, timestamp FROM expiries ORDER BY timestamp")
        ]

    def record_count(self) -> int:
        [(count,)] = self._select(
            "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM transfers)"
            " + (SELECT count(*) FROM expiries)"
        )
        return int(count)

    def all_accounts(self) -> list[Account]:
        account = self._account_of
        rows = self._select(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id")
        return [account(row) for row in rows]

    def account_records(self) -> list[AccountRecord]:
        record = self._account_record_of
        rows = self._select(f"SELECT {ACCOUNT_RECORD_COLUMNS} FROM accounts ORDER BY timestamp")
        return [record(row) for row in rows]

    def pending_states(self) -> dict[int, PendingStatus]:
        return {
            row[0]: PendingStatus(*row)
            for row in self._select("SELECT pending_id, state, expires_at FROM pending_states")
        }

"""The transaction graph: accounts as nodes, transfers as directed, timed, weighted edges.

Built once from arrays (or from a stream of transactions through `GraphBuilder`), then read by
the scenario detectors and the feature extraction. Accounts keep their own ids; inside the
graph each has a dense index (its position in the sorted `accounts` array) so that per-account
arithmetic is plain numpy. Transactions are held in time order (then by id), and each account's
outgoing and incoming transactions are found through two compressed-sparse-row indexes.
Amounts are integer minor units; times are nanoseconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    aml_graph_transactions_max,
    aml_neighbourhood_accounts_max,
    ledger_amount_max,
)

Int64Array = npt.NDArray[np.int64]

_nanoseconds_per_second = 1_000_000_000


class GraphInputError(ValueError):
    """The transactions handed to the graph are malformed (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transfer of value between two accounts, as the graph takes it in."""

    transaction_id: int
    source: int
    destination: int
    amount: int  # minor units, > 0
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """The accounts within some hops of a subject account and the transactions among them."""

    subject: int
    hops: int
    accounts: tuple[int, ...]  # account ids: the subject first, then by distance, then by id
    distances: tuple[int, ...]  # transfers between each account and the subject (0 for it)
    transaction_ids: tuple[int, ...]  # transactions with both ends in `accounts`, by time
    truncated: bool  # the walk stopped at `aml_neighbourhood_accounts_max`


def _as_int64(name: str, values: npt.ArrayLike) -> Int64Array:
    array = np.asarray(values)
    if array.ndim != 1:
        raise GraphInputError(f"{name} must be a one-dimensional array, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise GraphInputError(f"{name} must hold integers, got {array.dtype}")
    return array.astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True, eq=False)
class TransactionGraph:
    """An immutable transaction graph. Build it with `TransactionGraph.from_arrays`."""

    accounts: Int64Array  # account ids, ascending; an account's index is its position here
    transaction_ids: Int64Array  # in time order, ties by id
    sources: Int64Array  # account index of each transaction's payer
    destinations: Int64Array  # account index of each transaction's payee
    amounts: Int64Array  # minor units
    timestamps_ns: Int64Array
    seconds: Int64Array  # whole seconds since the graph's first transaction
    out_offsets: Int64Array  # account i's outgoing transactions: out_order[out_offsets[i]:...]
    out_order: Int64Array  # transaction positions grouped by source, time-ordered in a group
    in_offsets: Int64Array
    in_order: Int64Array
    _position_of_id: dict[int, int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_arrays(
        cls,
        transaction_ids: npt.ArrayLike,
        sources: npt.ArrayLike,
        destinations: npt.ArrayLike,
        amounts: npt.ArrayLike,
        timestamps_ns: npt.ArrayLike,
    ) -> TransactionGraph:
        """Validate the columns and index them. Raises `GraphInputError` on malformed input."""
        ids = _as_int64("transaction_ids", transaction_ids)
        source_ids = _as_int64("sources", sources)
        destination_ids = _as_int64("destinations", destinations)
        amount_values = _as_int64("amounts", amounts)
        times = _as_int64("timestamps_ns", timestamps_ns)
        count = ids.size
        for name, column in (
            ("sources", source_ids),
            ("destinations", destination_ids),
            ("amounts", amount_values),
            ("timestamps_ns", times),
        ):
            if column.size != count:
                raise GraphInputError(
                    f"{name} has {column.size} values but transaction_ids has {count}"
                )
        if count > aml_graph_transactions_max:
            raise GraphInputError(
                f"{count} transactions exceed aml_graph_transactions_max "
                f"({aml_graph_transactions_max}); split the period"
            )
        if count and (amount_values.min() <= 0 or amount_values.max() > ledger_amount_max):
            raise GraphInputError("every amount must be a positive count of minor units")
        if count and times.min() < 0:
            raise GraphInputError("timestamps must not be negative")
        if count and np.any(source_ids == destination_ids):
            raise GraphInputError("a transaction must move value between two different accounts")
        if np.unique(ids).size != count:
            raise GraphInputError("transaction ids must be unique")

        order = np.lexsort((ids, times))
        ids, source_ids, destination_ids = ids[order], source_ids[order], destination_ids[order]
        amount_values, times = amount_values[order], times[order]
        accounts, inverse = np.unique(
            np.concatenate((source_ids, destination_ids)), return_inverse=True
        )
        inverse = inverse.astype(np.int64)
        source_index, destination_index = inverse[:count], inverse[count:]
        start_ns = int(times[0]) if count else 0
        seconds = (times - start_ns) // _nanoseconds_per_second
        out_offsets, out_order = _csr(source_index, accounts.size)
        in_offsets, in_order = _csr(destination_index, accounts.size)
        graph = cls(
            accounts=accounts.astype(np.int64),
            transaction_ids=ids,
            sources=source_index,
            destinations=destination_index,
            amounts=amount_values,
            timestamps_ns=times,
            seconds=seconds.astype(np.int64),
            out_offsets=out_offsets,
            out_order=out_order,
            in_offsets=in_offsets,
            in_order=in_order,
        )
        invariant(graph.out_offsets[-1] == count == graph.in_offsets[-1], "CSR covers every edge")
        invariant(bool(np.all(np.diff(graph.timestamps_ns) >= 0)), "transactions in time order")
        return graph

    @classmethod
    def from_transactions(cls, transactions: Iterable[Transaction]) -> TransactionGraph:
        builder = GraphBuilder()
        for transaction in transactions:
            builder.append(transaction)
        return builder.build()

    # -- reading -------------------------------------------------------------------------------

    @property
    def account_count(self) -> int:
        return int(self.accounts.size)

    @property
    def transaction_count(self) -> int:
        return int(self.transaction_ids.size)

    def index_of(self, account: int) -> int:
        """The dense index of an account id; `KeyError` when the graph has no such account."""
        position = int(np.searchsorted(self.accounts, account))
        if position >= self.accounts.size or int(self.accounts[position]) != account:
            raise KeyError(f"account {account} has no transactions in this graph")
        return position

    def outgoing(self, index: int) -> Int64Array:
        """Positions of the account's outgoing transactions, in time order."""
        return self.out_order[self.out_offsets[index] : self.out_offsets[index + 1]]

    def incoming(self, index: int) -> Int64Array:
        """Positions of the account's incoming transactions, in time order."""
        return self.in_order[self.in_offsets[index] : self.in_offsets[index + 1]]

    def out_degrees(self) -> Int64Array:
        return np.diff(self.out_offsets)

    def in_degrees(self) -> Int64Array:
        return np.diff(self.in_offsets)

    def position_of(self, transaction_id: int) -> int:
        """The position of a transaction id; `KeyError` when absent."""
        if not self._position_of_id:
            self._position_of_id.update(
                (int(value), position) for position, value in enumerate(self.transaction_ids)
            )
        return self._position_of_id[transaction_id]

    def transaction(self, position: int) -> Transaction:
        return Transaction(
            transaction_id=int(self.transaction_ids[position]),
            source=int(self.accounts[self.sources[position]]),
            destination=int(self.accounts[self.destinations[position]]),
            amount=int(self.amounts[position]),
            timestamp_ns=int(self.timestamps_ns[position]),
        )

    def ids_of(self, positions: Iterable[int]) -> tuple[int, ...]:
        """Transaction ids of positions, in time order, each once."""
        unique = np.unique(np.fromiter(positions, dtype=np.int64))
        return tuple(int(value) for value in self.transaction_ids[unique])

    def counterparties(self, index: int) -> Int64Array:
        """Dense indexes of everyone the account paid or was paid by, ascending, each once."""
        paid = self.destinations[self.outgoing(index)]
        paid_by = self.sources[self.incoming(index)]
        return np.unique(np.concatenate((paid, paid_by)))

    def neighbourhood(self, account: int, hops: int) -> Neighbourhood:
        """Accounts within `hops` transfers of `account` (either direction), breadth first,
        stopping at `aml_neighbourhood_accounts_max`, and the transactions among them."""
        invariant(hops >= 0, "hops must not be negative")
        subject = self.index_of(account)
        distance_of = {subject: 0}
        frontier = [subject]
        truncated = False
        for depth in range(1, hops + 1):
            following: list[int] = []
            for index in frontier:
                for other in self.counterparties(index).tolist():
                    if other in distance_of:
                        continue
                    if len(distance_of) >= aml_neighbourhood_accounts_max:
                        truncated = True
                        break
                    distance_of[other] = depth
                    following.append(other)
            frontier = following
            if truncated or not frontier:
                break
        members = np.fromiter(distance_of, dtype=np.int64)
        inside = np.zeros(self.account_count, dtype=bool)
        inside[members] = True
        positions = np.flatnonzero(inside[self.sources] & inside[self.destinations])
        ordered = sorted(
            distance_of.items(), key=lambda item: (item[1], int(self.accounts[item[0]]))
        )
        invariant(ordered[0] == (subject, 0), "the subject comes first")
        return Neighbourhood(
            subject=account,
            hops=hops,
            accounts=tuple(int(self.accounts[index]) for index, _ in ordered),
            distances=tuple(distance for _, distance in ordered),
            transaction_ids=tuple(int(value) for value in self.transaction_ids[positions]),
            truncated=truncated,
        )


def _csr(keys: Int64Array, size: int) -> tuple[Int64Array, Int64Array]:
    """Offsets and a stable grouping of positions by key (positions stay in time order)."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    counts = np.bincount(keys, minlength=size)
    offsets = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, order


class GraphBuilder:
    """Collects a stream of transactions in column buffers, then builds the graph once."""

    def __init__(self) -> None:
        self._columns: tuple[list[int], list[int], list[int], list[int], list[int]] = (
            [],
            [],
            [],
            [],
            [],
        )

    def __len__(self) -> int:
        return len(self._columns[0])

    def append(self, transaction: Transaction) -> None:
        if len(self) >= aml_graph_transactions_max:
            raise GraphInputError(
                f"more than aml_graph_transactions_max ({aml_graph_transactions_max}) transactions"
            )
        ids, sources, destinations, amounts, times = self._columns
        ids.append(transaction.transaction_id)
        sources.append(transaction.source)
        destinations.append(transaction.destination)
        amounts.append(transaction.amount)
        times.append(transaction.timestamp_ns)

    def build(self) -> TransactionGraph:
        ids, sources, destinations, amounts, times = (
            np.asarray(column, dtype=np.int64) for column in self._columns
        )
        return TransactionGraph.from_arrays(ids, sources, destinations, amounts, times)

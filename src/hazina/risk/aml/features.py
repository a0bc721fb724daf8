"""Graph features per account, for the learned AML model.

Every feature is computed from the transactions alone (no labels), for all accounts at once
with numpy: degrees and counterparties, amount statistics, split transfers (bursts to one
counterparty), the most counterparties in a window, membership of the cycles the bounded
search finds, pass-through (money forwarded in equal amounts, and how soon), activity over
time, and the same statistics over each account's neighbours and their neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.risk.aml.cycles import CycleSearch, find_cycles
from hazina.risk.aml.graph import Int64Array, TransactionGraph
from hazina.risk.aml.scenarios import distinct_window_maxima
from hazina.risk.aml.settings import ScenarioSettings
from hazina.risk.aml.windows import group_axis, window_starts

FloatArray = npt.NDArray[np.float64]

_day_s = 86_400


@dataclass(frozen=True, slots=True, eq=False)
class FeatureMatrix:
    """One row per account of the graph (in `accounts` order), one column per name."""

    accounts: Int64Array
    names: tuple[str, ...]
    values: FloatArray  # shape (len(accounts), len(names))

    def column(self, name: str) -> FloatArray:
        return self.values[:, self.names.index(name)]


class _Columns:
    """Named columns, collected in order."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.names: list[str] = []
        self.values: list[FloatArray] = []

    def add(self, name: str, values: npt.ArrayLike) -> None:
        column = np.asarray(values, dtype=np.float64)
        invariant(column.shape == (self.size,), f"feature {name} has one value per account")
        invariant(name not in self.names, f"feature {name} is named once")
        self.names.append(name)
        self.values.append(column)

    def get(self, name: str) -> FloatArray:
        return self.values[self.names.index(name)]


def graph_features(
    graph: TransactionGraph, settings: ScenarioSettings, cycles: CycleSearch | None = None
) -> FeatureMatrix:
    """The feature matrix of every account. Pass the cycle search if it was run already."""
    settings.validate()
    size = graph.account_count
    columns = _Columns(size)
    _degree_features(graph, columns)
    _amount_features(graph, columns)
    _split_features(graph, settings, columns)
    _window_features(graph, settings, columns)
    search = cycles if cycles is not None else find_cycles(graph, settings)
    _cycle_features(graph, search, columns)
    _pass_through_features(graph, columns)
    _activity_features(graph, columns)
    _network_features(graph, settings, columns)
    _neighbour_features(graph, columns)
    values = np.column_stack(columns.values) if columns.values else np.zeros((size, 0))
    invariant(values.shape == (size, len(columns.names)), "one row per account")
    invariant(bool(np.all(np.isfinite(values))), "features are finite")
    return FeatureMatrix(graph.accounts, tuple(columns.names), values)


def _count(keys: Int64Array, size: int, weights: npt.ArrayLike | None = None) -> FloatArray:
    return np.bincount(keys, weights=weights, minlength=size).astype(np.float64)


def _distinct_pairs(graph: TransactionGraph) -> tuple[Int64Array, Int64Array]:
    """Each (payer, payee) pair once."""
    pairs = np.unique(graph.sources * graph.account_count + graph.destinations)
    return pairs // graph.account_count, pairs % graph.account_count


def _degree_features(graph: TransactionGraph, columns: _Columns) -> None:
    size = graph.account_count
    columns.add("out_transfers", graph.out_degrees())
    columns.add("in_transfers", graph.in_degrees())
    payers, payees = _distinct_pairs(graph)
    columns.add("out_counterparties", _count(payers, size))
    columns.add("in_counterparties", _count(payees, size))
    pair_keys = payers * size + payees
    reverse_keys = payees * size + payers
    mutual = np.isin(pair_keys, reverse_keys)
    columns.add("reciprocal_counterparties", _count(payers[mutual], size))
    all_pairs = graph.sources * size + graph.destinations
    _, inverse, counts = np.unique(all_pairs, return_inverse=True, return_counts=True)
    per_transfer = counts[inverse].astype(np.float64)
    most_out = np.zeros(size)
    np.maximum.at(most_out, graph.sources, per_transfer)
    most_in = np.zeros(size)
    np.maximum.at(most_in, graph.destinations, per_transfer)
    columns.add("most_transfers_to_one_payee", most_out)
    columns.add("most_transfers_from_one_payer", most_in)


def _amount_features(graph: TransactionGraph, columns: _Columns) -> None:
    size = graph.account_count
    amounts = graph.amounts.astype(np.float64)
    for side, keys in (("out", graph.sources), ("in", graph.destinations)):
        count = _count(keys, size)
        total = _count(keys, size, amounts)
        squares = _count(keys, size, amounts * amounts)
        safe = np.maximum(count, 1)
        mean = total / safe
        variance = np.maximum(squares / safe - mean * mean, 0.0)
        smallest = np.full(size, np.inf)
        np.minimum.at(smallest, keys, amounts)
        largest = np.zeros(size)
        np.maximum.at(largest, keys, amounts)
        columns.add(f"{side}_amount_total", total)
        columns.add(f"{side}_amount_mean", mean)
        columns.add(f"{side}_amount_std", np.sqrt(variance))
        columns.add(f"{side}_amount_min", np.where(np.isfinite(smallest), smallest, 0.0))
        columns.add(f"{side}_amount_max", largest)
        rounded = (graph.amounts % 10_000 == 0).astype(np.float64)  # whole hundreds
        columns.add(f"{side}_round_amount_share", _count(keys, size, rounded) / safe)
    out_total, in_total = columns.get("out_amount_total"), columns.get("in_amount_total")
    columns.add("out_in_amount_ratio", out_total / np.maximum(in_total, 1.0))


def _split_features(graph: TransactionGraph, settings: ScenarioSettings, columns: _Columns) -> None:
    """Transfers that share their pair with another transfer within the structuring window."""
    size = graph.account_count
    positions = np.arange(graph.transaction_count, dtype=np.int64)
    pairs = graph.sources * size + graph.destinations
    order = np.lexsort((positions, graph.seconds, pairs))
    window = settings.structuring_window_s
    keys = group_axis(pairs[order], graph.seconds[order], window)
    starts = window_starts(keys, window)
    ends = np.searchsorted(keys, keys + window, side="right")
    in_burst_sorted = (ends - starts) >= 2
    in_burst = np.zeros(graph.transaction_count, dtype=bool)
    in_burst[order] = in_burst_sorted
    below = graph.amounts < settings.reporting_threshold
    columns.add("out_split_transfers", _count(graph.sources, size, in_burst & below))
    columns.add("in_split_transfers", _count(graph.destinations, size, in_burst & below))
    split_pairs = np.unique(pairs[in_burst & below])
    columns.add("split_payees", _count(split_pairs // size, size))
    columns.add("split_payers", _count(split_pairs % size, size))


def _window_features(
    graph: TransactionGraph, settings: ScenarioSettings, columns: _Columns
) -> None:
    """The most distinct counterparties within each feature window, each direction."""
    size = graph.account_count
    for window in settings.feature_windows_s:
        label = f"{window // _day_s}d" if window % _day_s == 0 else f"{window}s"
        for side, subjects, others, offsets, order in (
            ("in", graph.destinations, graph.sources, graph.in_offsets, graph.in_order),
            ("out", graph.sources, graph.destinations, graph.out_offsets, graph.out_order),
        ):
            invariant(offsets.size == size + 1, "offsets per account")
            best = distinct_window_maxima(
                subjects[order], others[order], graph.seconds[order], window
            )
            most = np.zeros(size)
            for index, (count, _, _) in best.items():
                most[index] = count
            name = "payers" if side == "in" else "payees"
            columns.add(f"most_{name}_within_{label}", most)


def _cycle_features(graph: TransactionGraph, search: CycleSearch, columns: _Columns) -> None:
    size = graph.account_count
    count = np.zeros(size)
    shortest = np.zeros(size)
    for cycle in search.cycles:
        members = np.asarray(cycle.accounts, dtype=np.int64)
        count[members] += 1
        current = shortest[members]
        shortest[members] = np.where(current == 0, cycle.length, np.minimum(current, cycle.length))
    columns.add("cycles", count)
    columns.add("shortest_cycle_length", shortest)


def _pass_through_features(graph: TransactionGraph, columns: _Columns) -> None:
    """Outgoing transfers whose amount equals one the account received, and the time from
    each inflow to the account's next outflow."""
    size = graph.account_count
    count = graph.transaction_count
    # Equal-amount forwarding: an (account, amount) seen both coming in and going out.
    rows = np.stack(
        (
            np.concatenate((graph.destinations, graph.sources)),
            np.concatenate((graph.amounts, graph.amounts)),
        ),
        axis=1,
    )
    _, identities = np.unique(rows, axis=0, return_inverse=True)
    identities = identities.reshape(-1)
    forwarded = np.isin(identities[count:], identities[:count])
    columns.add("equal_amount_forwards", _count(graph.sources, size, forwarded))
    # Time from an inflow to the same account's next outflow (at or after it).
    horizon = float(graph.seconds.max(initial=0) + 1)
    gap = np.full(count, np.inf)
    if count:
        out_order = graph.out_order
        stride = int(horizon)
        out_keys = graph.sources[out_order] * stride + graph.seconds[out_order]
        following = np.searchsorted(out_keys, graph.destinations * stride + graph.seconds)
        clipped = out_order[np.minimum(following, count - 1)]
        valid = (following < count) & (graph.sources[clipped] == graph.destinations)
        gap = np.where(valid, (graph.seconds[clipped] - graph.seconds).astype(np.float64), np.inf)
    fastest = np.full(size, np.inf)
    np.minimum.at(fastest, graph.destinations, gap)
    columns.add("fastest_forward_s", np.where(np.isfinite(fastest), fastest, horizon))
    columns.add("inflows_forwarded_within_1d", _count(graph.destinations, size, gap <= _day_s))


def _activity_features(graph: TransactionGraph, columns: _Columns) -> None:
    size = graph.account_count
    accounts = np.concatenate((graph.sources, graph.destinations))
    seconds = np.concatenate((graph.seconds, graph.seconds))
    first = np.full(size, np.inf)
    np.minimum.at(first, accounts, seconds)
    last = np.zeros(size)
    np.maximum.at(last, accounts, seconds)
    first = np.where(np.isfinite(first), first, 0.0)
    columns.add("first_seen_s", first)
    columns.add("last_seen_s", last)
    columns.add("active_span_s", last - first)
    days = np.unique(accounts * (int(seconds.max(initial=0)) // _day_s + 1) + seconds // _day_s)
    columns.add("active_days", _count(days // (int(seconds.max(initial=0)) // _day_s + 1), size))
    order = np.lexsort((seconds, accounts))
    sorted_accounts, sorted_seconds = accounts[order], seconds[order]
    same = np.concatenate(([False], np.diff(sorted_accounts) == 0))
    gaps = np.where(same, np.concatenate(([0], np.diff(sorted_seconds))), 0).astype(np.float64)
    longest = np.zeros(size)
    np.maximum.at(longest, sorted_accounts, gaps)
    columns.add("longest_quiet_s", longest)


def split_networks(graph: TransactionGraph, settings: ScenarioSettings) -> Int64Array:
    """Per account, the network of split transfers it belongs to (-1 for none): accounts
    joined by pairs that moved two or more transfers below the reporting threshold within the
    structuring window, as connected components (union-find, path halving)."""
    size = graph.account_count
    pairs = graph.sources * size + graph.destinations
    positions = np.arange(graph.transaction_count, dtype=np.int64)
    order = np.lexsort((positions, graph.seconds, pairs))
    window = settings.structuring_window_s
    keys = group_axis(pairs[order], graph.seconds[order], window)
    bursts = (np.searchsorted(keys, keys + window, side="right") - window_starts(keys, window)) >= 2
    bursts &= graph.amounts[order] < settings.reporting_threshold
    split_pairs = np.unique(pairs[order][bursts])
    parent = list(range(size))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for payer, payee in zip(
        (split_pairs // size).tolist(), (split_pairs % size).tolist(), strict=True
    ):
        first, second = root(payer), root(payee)
        if first != second:
            parent[max(first, second)] = min(first, second)
    members = np.zeros(size, dtype=bool)
    members[split_pairs // size] = True
    members[split_pairs % size] = True
    roots = np.fromiter((root(node) for node in range(size)), dtype=np.int64, count=size)
    networks = np.where(members, roots, -1).astype(np.int64)
    invariant(bool(np.all(networks[members] >= 0)), "every member has a network")
    return networks


def _network_features(
    graph: TransactionGraph, settings: ScenarioSettings, columns: _Columns
) -> None:
    """Ties to networks of split transfers the account is not part of."""
    size = graph.account_count
    networks = split_networks(graph, settings)
    sizes = np.bincount(networks[networks >= 0], minlength=size)
    columns.add("split_network_size", np.where(networks >= 0, sizes[np.maximum(networks, 0)], 0))
    payer_networks, payee_networks = networks[graph.sources], networks[graph.destinations]
    into = (payee_networks >= 0) & (payee_networks != payer_networks)
    from_ = (payer_networks >= 0) & (payer_networks != payee_networks)
    stride = size + 1
    pays_into = np.unique(graph.sources[into] * stride + payee_networks[into])
    paid_from = np.unique(graph.destinations[from_] * stride + payer_networks[from_])
    closes = np.intersect1d(pays_into, paid_from, assume_unique=True)
    columns.add("split_networks_paid", _count(pays_into // stride, size))
    columns.add("split_networks_paying", _count(paid_from // stride, size))
    columns.add("split_networks_closed", _count(closes // stride, size))


_neighbour_bases = (
    "out_transfers",
    "in_transfers",
    "out_counterparties",
    "in_counterparties",
    "out_split_transfers",
    "in_split_transfers",
    "out_amount_min",
    "in_amount_min",
    "cycles",
    "equal_amount_forwards",
    "reciprocal_counterparties",
)


def _neighbour_features(graph: TransactionGraph, columns: _Columns) -> None:
    """Mean and largest of some features over each account's counterparties (either
    direction), and, two hops out, how many split-transfer accounts the neighbours know."""
    size = graph.account_count
    payers, payees = _distinct_pairs(graph)
    left = np.concatenate((payers, payees))
    right = np.concatenate((payees, payers))
    undirected = np.unique(left * size + right)
    left, right = undirected // size, undirected % size
    degree = _count(left, size)
    safe = np.maximum(degree, 1.0)
    for base in _neighbour_bases:
        values = columns.get(base)
        total = _count(left, size, values[right])
        largest = np.zeros(size)
        np.maximum.at(largest, left, values[right])
        columns.add(f"neighbours_mean_{base}", total / safe)
        columns.add(f"neighbours_max_{base}", largest)
    splitting = (
        (columns.get("out_split_transfers") + columns.get("in_split_transfers")) > 0
    ).astype(np.float64)
    splitting_neighbours = _count(left, size, splitting[right])
    columns.add("splitting_neighbours", splitting_neighbours)
    columns.add("splitting_neighbours_share", splitting_neighbours / safe)
    columns.add("splitting_two_hops", _count(left, size, splitting_neighbours[right]))
    columns.add("neighbours", degree)

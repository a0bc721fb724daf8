"""A bounded search for value that travels around a cycle of accounts and comes back.

A cycle is a closed path of 2..`cycle_length_max` distinct accounts in which every hop is a
transaction whose amount is within a tolerance of the first hop's amount (the same money moving
on, less small fees), all hops within one time window, optionally in time order. Each cycle is
found once: from its smallest account index, through accounts with larger indexes only. Of
several parallel transfers to the same next account, the first that fits is followed, so the
search enumerates paths of accounts, not of transfers. The work is bounded by
`aml_cycle_search_steps_max` hop examinations; a search that hits it says so.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_cycle_search_steps_max
from hazina.risk.aml.graph import TransactionGraph
from hazina.risk.aml.settings import ScenarioSettings


@dataclass(frozen=True, slots=True)
class Cycle:
    accounts: tuple[int, ...]  # dense account indexes; the smallest first
    positions: tuple[int, ...]  # transaction positions: hop i goes accounts[i] -> accounts[i+1]

    @property
    def length(self) -> int:
        return len(self.positions)


@dataclass(frozen=True, slots=True)
class CycleSearch:
    cycles: tuple[Cycle, ...]
    steps: int  # hop examinations spent
    truncated: bool  # the step budget ran out before every start was searched


@dataclass(frozen=True, slots=True)
class _Edges:
    """One account's followable outgoing transactions, sorted by amount."""

    amounts: list[int]
    destinations: list[int]
    positions: list[int]
    seconds: list[int]


def find_cycles(
    graph: TransactionGraph,
    settings: ScenarioSettings,
    steps_max: int = aml_cycle_search_steps_max,
) -> CycleSearch:
    """Every cycle the settings describe, up to the step budget."""
    invariant(steps_max > 0, "the search needs a positive step budget")
    edges = _followable_edges(graph, settings)
    tolerance = settings.cycle_amount_tolerance_percent
    window = settings.cycle_window_s
    ordered = settings.cycle_time_ordered
    length_min, length_max = settings.cycle_length_min, settings.cycle_length_max
    cycles: list[Cycle] = []
    steps = 0
    truncated = False

    path_accounts: list[int] = []
    path_positions: list[int] = []
    on_path: set[int] = set()

    def extend(node: int, low: int, high: int, low_s: int, high_s: int, last_s: int) -> None:
        """Follow hops out of `node` with amounts in [low, high]; the path so far spans
        [low_s, high_s] and its last hop was at last_s."""
        nonlocal steps, truncated
        node_edges = edges.get(node)
        if node_edges is None:
            return
        start = path_accounts[0]
        tried: set[int] = set()
        begin = bisect_left(node_edges.amounts, low)
        end = bisect_right(node_edges.amounts, high)
        for k in range(begin, end):
            if steps >= steps_max:
                truncated = True
                return
            steps += 1
            target = node_edges.destinations[k]
            if target in tried or (target != start and (target < start or target in on_path)):
                continue
            at = node_edges.seconds[k]
            if ordered and at < last_s:
                continue
            if max(high_s, at) - min(low_s, at) > window:
                continue
            hops = len(path_positions) + 1
            if target == start:
                if hops >= length_min:
                    tried.add(target)
                    cycles.append(
                        Cycle(tuple(path_accounts), (*path_positions, node_edges.positions[k]))
                    )
                continue
            if hops >= length_max:
                continue
            tried.add(target)
            path_accounts.append(target)
            path_positions.append(node_edges.positions[k])
            on_path.add(target)
            extend(target, low, high, min(low_s, at), max(high_s, at), at)
            on_path.discard(target)
            path_positions.pop()
            path_accounts.pop()
            if truncated:
                return

    for start in sorted(edges):
        start_edges = edges[start]
        path_accounts.append(start)
        on_path.add(start)
        tried_first: set[int] = set()
        for k in range(len(start_edges.amounts)):
            if steps >= steps_max:
                truncated = True
                break
            steps += 1
            target = start_edges.destinations[k]
            if target <= start or target in tried_first:
                continue
            tried_first.add(target)
            amount = start_edges.amounts[k]
            low = -(-amount * (100 - tolerance) // 100)  # ceiling
            high = amount * (100 + tolerance) // 100
            at = start_edges.seconds[k]
            path_accounts.append(target)
            path_positions.append(start_edges.positions[k])
            on_path.add(target)
            extend(target, low, high, at, at, at)
            on_path.discard(target)
            path_positions.pop()
            path_accounts.pop()
            if truncated:
                break
        on_path.discard(start)
        path_accounts.pop()
        if truncated:
            break
    invariant(not path_accounts and not path_positions, "the search unwinds its path")
    invariant(all(c.accounts[0] == min(c.accounts) for c in cycles), "cycles start smallest")
    return CycleSearch(tuple(cycles), steps, truncated)


def _followable_edges(graph: TransactionGraph, settings: ScenarioSettings) -> dict[int, _Edges]:
    """Per account, its outgoing transactions of at least `cycle_amount_min`, parallel
    transfers of the same amount to the same account collapsed to the earliest."""
    positions = np.flatnonzero(graph.amounts >= settings.cycle_amount_min).astype(np.int64)
    if positions.size == 0:
        return {}
    sources = graph.sources[positions]
    destinations = graph.destinations[positions]
    amounts = graph.amounts[positions]
    order = np.lexsort((positions, amounts, destinations, sources))
    positions, sources = positions[order], sources[order]
    destinations, amounts = destinations[order], amounts[order]
    first = np.ones(positions.size, dtype=bool)
    first[1:] = (np.diff(sources) != 0) | (np.diff(destinations) != 0) | (np.diff(amounts) != 0)
    positions, sources = positions[first], sources[first]
    destinations, amounts = destinations[first], amounts[first]
    by_amount = np.lexsort((positions, amounts, sources))
    positions, sources = positions[by_amount], sources[by_amount]
    destinations, amounts = destinations[by_amount], amounts[by_amount]
    seconds = graph.seconds[positions]
    boundaries = np.flatnonzero(np.diff(sources)) + 1
    edges: dict[int, _Edges] = {}
    for begin, end in zip(
        np.concatenate(([0], boundaries)).tolist(),
        np.concatenate((boundaries, [positions.size])).tolist(),
        strict=True,
    ):
        edges[int(sources[begin])] = _Edges(
            amounts=amounts[begin:end].tolist(),
            destinations=destinations[begin:end].tolist(),
            positions=positions[begin:end].tolist(),
            seconds=seconds[begin:end].tolist(),
        )
    return edges

"""The bounded cycle search: each cycle once, parallel transfers once, the budget respected."""

from __future__ import annotations

import dataclasses

from hazina.risk.aml.cycles import find_cycles
from tests.unit.risk.aml.graphs import DAY, SETTINGS, graph_of


def test_each_cycle_is_found_once_from_its_smallest_account() -> None:
    graph = graph_of(
        [
            (1, 3, 1, 50_000, 2 * DAY),
            (2, 1, 2, 50_000, 0),
            (3, 2, 3, 50_000, DAY),
            # the same loop again in parallel, same amounts: no second cycle
            (4, 1, 2, 50_000, 0),
            (5, 2, 3, 50_000, DAY),
        ]
    )
    search = find_cycles(graph, SETTINGS)
    assert len(search.cycles) == 1
    cycle = search.cycles[0]
    assert [int(graph.accounts[a]) for a in cycle.accounts] == [1, 2, 3]
    assert cycle.length == 3
    assert not search.truncated


def test_two_loops_through_one_account_are_two_cycles() -> None:
    graph = graph_of(
        [
            (1, 1, 2, 50_000, 0),
            (2, 2, 3, 50_000, DAY),
            (3, 3, 1, 50_000, 2 * DAY),
            (4, 1, 4, 50_000, 0),
            (5, 4, 5, 50_000, DAY),
            (6, 5, 1, 50_000, 2 * DAY),
        ]
    )
    assert len(find_cycles(graph, SETTINGS).cycles) == 2


def test_the_step_budget_stops_the_search_and_says_so() -> None:
    rows = [(k + 1, k, k + 1, 50_000, k) for k in range(1, 40)]
    rows.append((100, 40, 1, 50_000, 50))
    graph = graph_of(rows)
    settings = dataclasses.replace(SETTINGS, cycle_length_max=8, cycle_window_s=10 * DAY)
    search = find_cycles(graph, settings, steps_max=5)
    assert search.truncated
    assert search.steps == 5


def test_small_hops_are_not_followed() -> None:
    graph = graph_of([(1, 1, 2, 5_000, 0), (2, 2, 3, 5_000, 1), (3, 3, 1, 5_000, 2)])
    assert find_cycles(graph, SETTINGS).cycles == ()

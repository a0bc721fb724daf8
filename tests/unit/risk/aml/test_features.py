"""Graph features on a graph small enough to count by hand."""

from __future__ import annotations

import numpy as np

from hazina.risk.aml.features import graph_features, split_networks
from hazina.risk.aml.graph import TransactionGraph
from hazina.risk.aml.scenarios import run_scenarios
from tests.unit.risk.aml.graphs import DAY, HOUR, SETTINGS, graph_of

ROWS = [
    # 1 splits 2,700.00 to 2 within a day
    (1, 1, 2, 90_000, 0),
    (2, 1, 2, 90_000, HOUR),
    (3, 1, 2, 90_000, 2 * HOUR),
    # a loop 3 -> 4 -> 5 -> 3 of 500.00
    (4, 3, 4, 50_000, DAY),
    (5, 4, 5, 50_000, 2 * DAY),
    (6, 5, 3, 50_000, 3 * DAY),
    # 6 pays into the split network {1, 2} and is paid from it
    (7, 6, 1, 20_000, 4 * DAY),
    (8, 2, 6, 20_000, 5 * DAY),
    # 4 forwards an amount it received, an hour later
    (9, 7, 4, 33_300, 6 * DAY),
    (10, 4, 8, 33_300, 6 * DAY + HOUR),
]


def test_counted_features_match_the_hand_count() -> None:
    graph = graph_of(ROWS)
    features = graph_features(graph, SETTINGS)
    row = {int(account): index for index, account in enumerate(graph.accounts.tolist())}

    def value(name: str, account: int) -> float:
        return float(features.column(name)[row[account]])

    assert features.values.shape == (graph.account_count, len(features.names))
    assert len(set(features.names)) == len(features.names)
    assert value("out_transfers", 1) == 3
    assert value("in_transfers", 1) == 1
    assert value("out_counterparties", 1) == 1
    assert value("in_transfers", 2) == 3
    assert value("most_transfers_to_one_payee", 1) == 3
    assert value("out_split_transfers", 1) == 3
    assert value("in_split_transfers", 2) == 3
    assert value("split_payees", 1) == 1
    assert value("reciprocal_counterparties", 6) == 0
    assert value("cycles", 3) == value("cycles", 4) == value("cycles", 5) == 1
    assert value("shortest_cycle_length", 4) == 3
    assert value("cycles", 1) == 0
    assert value("equal_amount_forwards", 4) == 2  # 500.00 on the loop, 333.00 onwards
    assert value("fastest_forward_s", 4) == HOUR  # 333.00 in on day 6, out an hour later
    assert value("split_networks_closed", 6) == 1
    assert value("split_network_size", 1) == 2
    assert value("split_network_size", 6) == 0
    assert value("active_days", 1) == 2
    assert value("most_payers_within_1d", 2) == 1
    assert value("neighbours", 6) == 2
    assert value("splitting_neighbours", 6) == 2
    assert np.all(np.isfinite(features.values))


def test_split_networks_join_accounts_through_bursts() -> None:
    graph = graph_of(ROWS)
    networks = split_networks(graph, SETTINGS)
    one, two, six = (graph.index_of(account) for account in (1, 2, 6))
    assert networks[one] == networks[two] >= 0
    assert networks[six] == -1


def test_an_empty_graph_has_an_empty_matrix_and_no_alerts() -> None:
    empty = TransactionGraph.from_arrays([], [], [], [], [])
    features = graph_features(empty, SETTINGS)
    assert features.values.shape == (0, len(features.names))
    assert run_scenarios(empty, SETTINGS) == []

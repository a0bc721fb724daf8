"""The transaction graph: validation, indexes and neighbourhoods."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.risk.aml.graph import GraphBuilder, GraphInputError, Transaction, TransactionGraph
from tests.unit.risk.aml.graphs import DAY, START_S, graph_of


def test_indexes_group_each_accounts_transactions_in_time_order() -> None:
    graph = graph_of([(3, 50, 70, 300, 2 * DAY), (1, 50, 60, 100, 0), (2, 60, 50, 200, DAY)])
    assert graph.accounts.tolist() == [50, 60, 70]
    assert graph.transaction_ids.tolist() == [1, 2, 3]  # time order
    assert graph.seconds.tolist() == [0, DAY, 2 * DAY]
    fifty = graph.index_of(50)
    assert graph.transaction_ids[graph.outgoing(fifty)].tolist() == [1, 3]
    assert graph.transaction_ids[graph.incoming(fifty)].tolist() == [2]
    assert graph.out_degrees().tolist() == [2, 1, 0]
    assert graph.in_degrees().tolist() == [1, 1, 1]
    assert graph.transaction(graph.position_of(3)) == Transaction(
        3, 50, 70, 300, (START_S + 2 * DAY) * 10**9
    )
    with pytest.raises(KeyError):
        graph.index_of(55)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (([1, 2], [1, 2], [2, 3], [5, 0], [0, 1]), "positive"),
        (([1, 2], [1, 2], [2, 2], [5, 5], [0, 1]), "two different accounts"),
        (([1, 1], [1, 2], [2, 3], [5, 5], [0, 1]), "unique"),
        (([1, 2], [1, 2], [2, 3], [5, 5], [0, -1]), "negative"),
        (([1, 2], [1], [2, 3], [5, 5], [0, 1]), "sources has 1 values"),
        (([1.5, 2.0], [1, 2], [2, 3], [5, 5], [0, 1]), "integers"),
    ],
)
def test_malformed_columns_are_refused(columns: tuple[list[float], ...], message: str) -> None:
    with pytest.raises(GraphInputError, match=message):
        TransactionGraph.from_arrays(*columns)


def test_builder_takes_a_stream_and_an_empty_graph_is_fine() -> None:
    builder = GraphBuilder()
    builder.append(Transaction(7, 1, 2, 10, 5))
    builder.append(Transaction(8, 2, 3, 10, 4))
    assert len(builder) == 2
    graph = builder.build()
    assert graph.transaction_ids.tolist() == [8, 7]
    empty = TransactionGraph.from_arrays([], [], [], [], [])
    assert empty.account_count == 0
    assert empty.transaction_count == 0


def test_neighbourhood_walks_both_directions_and_keeps_inner_transactions() -> None:
    graph = graph_of(
        [(1, 1, 2, 10, 0), (2, 3, 1, 10, 1), (3, 2, 4, 10, 2), (4, 4, 5, 10, 3), (5, 3, 2, 10, 4)]
    )
    one_hop = graph.neighbourhood(1, 1)
    assert one_hop.accounts == (1, 2, 3)
    assert one_hop.distances == (0, 1, 1)
    assert one_hop.transaction_ids == (1, 2, 5)
    two_hops = graph.neighbourhood(1, 2)
    assert two_hops.accounts == (1, 2, 3, 4)
    assert two_hops.distances == (0, 1, 1, 2)
    assert not two_hops.truncated
    assert graph.neighbourhood(1, 0).accounts == (1,)
    assert graph.counterparties(graph.index_of(2)).tolist() == [0, 2, 3]


def test_ids_of_is_sorted_and_unique() -> None:
    graph = graph_of([(5, 1, 2, 10, 0), (6, 2, 3, 10, 1)])
    assert graph.ids_of(np.array([1, 0, 1])) == (5, 6)

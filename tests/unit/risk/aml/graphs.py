"""Small hand-built transaction graphs for the AML tests."""

from __future__ import annotations

from collections.abc import Sequence

from hazina.risk.aml.graph import Transaction, TransactionGraph
from hazina.risk.aml.settings import ScenarioSettings

HOUR = 3_600
DAY = 86_400
START_S = 1_700_000_000  # any fixed instant

# (transaction id, payer, payee, amount in minor units, seconds after START_S)
Row = tuple[int, int, int, int, int]


def graph_of(rows: Sequence[Row]) -> TransactionGraph:
    return TransactionGraph.from_transactions(
        Transaction(tid, source, destination, amount, (START_S + at) * 1_000_000_000)
        for tid, source, destination, amount, at in rows
    )


def background(first_id: int = 10_000) -> list[Row]:
    """Ordinary traffic between accounts 900..909 that no scenario should mind."""
    rows = []
    for step in range(10):
        payer, payee = 900 + step, 900 + (step + 3) % 10
        rows.append((first_id + step, payer, payee, 12_345 + 1_111 * step, step * 5 * DAY))
    return rows


SETTINGS = ScenarioSettings(
    currency_digits=2,
    reporting_threshold=100_000,  # 1,000.00
    structuring_window_s=DAY,
    structuring_transfers_min=3,
    structuring_total_min=150_000,
    pass_through_window_s=6 * HOUR,
    pass_through_amount_min=50_000,
    pass_through_out_percent_min=90,
    pass_through_out_percent_max=110,
    fan_window_s=7 * DAY,
    fan_in_counterparties_min=4,
    fan_out_counterparties_min=4,
    fan_amount_max=100_000,
    cycle_length_min=3,
    cycle_length_max=5,
    cycle_window_s=7 * DAY,
    cycle_amount_tolerance_percent=10,
    cycle_amount_min=10_000,
    cycle_time_ordered=True,
    dormant_quiet_s=90 * DAY,
    dormant_burst_window_s=2 * DAY,
    dormant_burst_transfers_min=3,
    dormant_burst_amount_min=100_000,
    feature_windows_s=(DAY, 7 * DAY),
).validate()

"""Each scenario fires on its pattern and stays silent on a near miss, over quiet traffic."""

from __future__ import annotations

import dataclasses

import pytest

from hazina.risk.aml.alerts import Alert, Scenario, Typology, attributed_typologies
from hazina.risk.aml.scenarios import (
    detect_cycles,
    detect_dormant_then_active,
    detect_fan_in,
    detect_fan_out,
    detect_rapid_pass_through,
    detect_structuring,
    run_scenarios,
)
from tests.unit.risk.aml.graphs import DAY, HOUR, SETTINGS, Row, background, graph_of


def _subjects(alerts: list[Alert]) -> set[int]:
    return {alert.account for alert in alerts}


def test_quiet_traffic_raises_no_alert() -> None:
    assert run_scenarios(graph_of(background()), SETTINGS) == []


# -- structuring ---------------------------------------------------------------------------------

SPLIT = [(1, 1, 2, 90_000, 0), (2, 1, 2, 85_000, 2 * HOUR), (3, 1, 2, 95_000, 20 * HOUR)]


def test_structuring_fires_on_split_transfers_and_names_payer_and_payee() -> None:
    alerts = detect_structuring(graph_of([*SPLIT, *background()]), SETTINGS)
    assert _subjects(alerts) == {1, 2}
    payer = next(alert for alert in alerts if alert.account == 1)
    assert payer.scenario is Scenario.structuring
    assert payer.transaction_ids == (1, 2, 3)
    assert payer.counterparties == (2,)
    assert "sent 3 transfers below 1,000.00" in payer.reason
    assert "totalling 2,700.00" in payer.reason


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        (SPLIT[:2], "two transfers only"),
        ([*SPLIT[:2], (3, 1, 2, 95_000, 25 * HOUR)], "the third falls outside the day"),
        ([*SPLIT[:2], (3, 1, 2, 100_000, 20 * HOUR)], "the third is at the threshold"),
        ([(1, 1, 2, 40_000, 0), (2, 1, 2, 40_000, 1), (3, 1, 2, 40_000, 2)], "total too small"),
        ([*SPLIT[:2], (3, 1, 5, 95_000, 20 * HOUR)], "the third goes to someone else"),
    ],
)
def test_structuring_stays_silent_on_a_near_miss(rows: list[Row], why: str) -> None:
    assert detect_structuring(graph_of([*rows, *background()]), SETTINGS) == [], why


# -- rapid pass-through --------------------------------------------------------------------------

THROUGH = [(1, 1, 2, 100_000, 0), (2, 2, 3, 60_000, HOUR), (3, 2, 4, 38_000, 5 * HOUR)]


def test_pass_through_fires_when_money_leaves_within_hours() -> None:
    alerts = detect_rapid_pass_through(graph_of([*THROUGH, *background()]), SETTINGS)
    assert _subjects(alerts) == {2}
    assert alerts[0].transaction_ids == (1, 2, 3)
    assert alerts[0].counterparties == (1, 3, 4)
    assert "within 6 hours" in alerts[0].reason


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([*THROUGH[:2], (3, 2, 4, 38_000, 7 * HOUR)], "part of it leaves too late"),
        ([THROUGH[0], (2, 2, 3, 50_000, HOUR)], "only half leaves"),
        ([(1, 1, 2, 40_000, 0), (2, 2, 3, 40_000, HOUR)], "too little money"),
        ([(1, 2, 3, 100_000, 0), (2, 1, 2, 100_000, HOUR)], "it left before it came"),
    ],
)
def test_pass_through_stays_silent_on_a_near_miss(rows: list[Row], why: str) -> None:
    assert detect_rapid_pass_through(graph_of([*rows, *background()]), SETTINGS) == [], why


# -- fan-in and fan-out --------------------------------------------------------------------------


def _fan_in(senders: int, spacing_s: int, amount: int = 20_000) -> list[Row]:
    return [(k + 1, 100 + k, 1, amount, k * spacing_s) for k in range(senders)]


def test_fan_in_fires_on_many_payers_in_a_window() -> None:
    alerts = detect_fan_in(graph_of([*_fan_in(5, DAY), *background()]), SETTINGS)
    assert _subjects(alerts) == {1}
    assert alerts[0].counterparties == (100, 101, 102, 103, 104)
    assert "from 5 distinct accounts within 7 days" in alerts[0].reason
    assert alerts[0].typology is Typology.fan_in


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        (_fan_in(3, DAY), "three payers"),
        (_fan_in(4, 3 * DAY), "four payers over nine days"),
        (_fan_in(4, DAY, amount=150_000), "the transfers are too large to count"),
        ([*_fan_in(3, DAY), (4, 100, 1, 20_000, 2 * DAY)], "a payer paying twice is one payer"),
    ],
)
def test_fan_in_stays_silent_on_a_near_miss(rows: list[Row], why: str) -> None:
    assert detect_fan_in(graph_of([*rows, *background()]), SETTINGS) == [], why


def test_fan_out_fires_on_many_payees_and_not_on_three() -> None:
    many = [(k + 1, 1, 100 + k, 20_000, k * HOUR) for k in range(4)]
    alerts = detect_fan_out(graph_of([*many, *background()]), SETTINGS)
    assert _subjects(alerts) == {1}
    assert "to 4 distinct accounts" in alerts[0].reason
    assert detect_fan_out(graph_of([*many[:3], *background()]), SETTINGS) == []


# -- cycles --------------------------------------------------------------------------------------

CYCLE = [(1, 1, 2, 50_000, 0), (2, 2, 3, 49_000, DAY), (3, 3, 1, 48_000, 2 * DAY)]


def test_cycle_fires_on_every_account_of_the_loop() -> None:
    alerts = detect_cycles(graph_of([*CYCLE, *background()]), SETTINGS)
    assert _subjects(alerts) == {1, 2, 3}
    for alert in alerts:
        assert alert.transaction_ids == (1, 2, 3)
        assert alert.typology is Typology.cycle
    assert "1 -> 2 -> 3 -> 1" in alerts[0].reason


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([*CYCLE[:2], (3, 3, 1, 30_000, 2 * DAY)], "the last hop carries much less"),
        ([*CYCLE[:2], (3, 3, 1, 48_000, 8 * DAY)], "the loop takes longer than the window"),
        ([*CYCLE[:2], (3, 3, 1, 48_000, DAY // 2)], "the last hop comes before the second"),
        ([*CYCLE[:2], (3, 3, 4, 48_000, 2 * DAY)], "the chain does not close"),
        ([(1, 1, 2, 50_000, 0), (2, 2, 1, 50_000, DAY)], "two hops are below the minimum length"),
    ],
)
def test_cycle_stays_silent_on_a_near_miss(rows: list[Row], why: str) -> None:
    assert detect_cycles(graph_of([*rows, *background()]), SETTINGS) == [], why


def test_unordered_cycles_may_run_in_any_order_when_so_configured() -> None:
    rows = [*CYCLE[:2], (3, 3, 1, 48_000, DAY // 2)]
    settings = dataclasses.replace(SETTINGS, cycle_time_ordered=False)
    assert _subjects(detect_cycles(graph_of(rows), settings)) == {1, 2, 3}


# -- dormant then active -------------------------------------------------------------------------

WAKE = [
    (1, 1, 2, 10_000, 0),
    (2, 1, 3, 50_000, 100 * DAY),
    (3, 1, 4, 50_000, 100 * DAY + HOUR),
    (4, 1, 5, 50_000, 101 * DAY),
]


def test_dormant_account_waking_up_fires() -> None:
    alerts = detect_dormant_then_active(graph_of(WAKE), SETTINGS)
    assert _subjects(alerts) == {1}
    assert alerts[0].transaction_ids == (2, 3, 4)
    assert "no transfers for 100 days" in alerts[0].reason


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([(1, 1, 2, 10_000, 20 * DAY), *WAKE[1:]], "quiet for 80 days only"),
        ([*WAKE[:3], (4, 1, 5, 50_000, 103 * DAY)], "the burst is spread out"),
        ([WAKE[0], *[(t, 1, d, 20_000, at) for t, _, d, _, at in WAKE[1:]]], "too little money"),
    ],
)
def test_dormant_stays_silent_on_a_near_miss(rows: list[Row], why: str) -> None:
    assert detect_dormant_then_active(graph_of(rows), SETTINGS) == [], why


# -- all of them ---------------------------------------------------------------------------------


def test_run_scenarios_orders_alerts_and_attributes_typologies() -> None:
    graph = graph_of([*CYCLE, *[(10 + t, s, d, a, at + 30 * DAY) for t, s, d, a, at in SPLIT]])
    alerts = run_scenarios(graph, SETTINGS)
    assert [(a.account, a.scenario) for a in alerts] == sorted(
        (a.account, a.scenario) for a in alerts
    )
    typologies = attributed_typologies(alerts)
    assert typologies[3] is Typology.cycle
    assert typologies[2] is Typology.cycle  # on the cycle, and also structuring's payee
    assert {a.scenario for a in alerts} == {Scenario.cycle, Scenario.structuring}


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle_length_max"):
        dataclasses.replace(SETTINGS, cycle_length_max=99).validate()
    with pytest.raises(ValueError, match="must not be negative"):
        dataclasses.replace(SETTINGS, fan_amount_max=-1).validate()
    with pytest.raises(ValueError, match="pass_through_out_percent_min"):
        dataclasses.replace(SETTINGS, pass_through_out_percent_min=120).validate()

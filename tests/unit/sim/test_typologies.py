"""Injected misbehaviour: every scenario and typology occurs, is labelled one way only, and
keeps its shape."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.limits import simulator_cash_report_amount_min
from hazina.sim.events import (
    FraudScenario,
    Kind,
    LaunderingTypology,
    PartyRole,
    PaysimType,
    ScriptedEvent,
)
from hazina.sim.typologies import fit_to_horizon, minute_ns
from tests.unit.sim.conftest import Economy


def test_every_scenario_and_typology_occurs(economy: Economy) -> None:
    events = economy.events
    scenarios = set(events.fraud_scenario[events.is_fraud].tolist())
    typologies = set(events.laundering_typology[events.is_laundering].tolist())
    assert scenarios == {int(s) for s in FraudScenario}
    assert typologies == {int(t) for t in LaunderingTypology}
    assert set(economy.statistics.episodes) == {
        *(s.name for s in FraudScenario),
        *(t.name for t in LaunderingTypology),
    }


def test_labels_are_consistent(economy: Economy) -> None:
    events = economy.events
    assert not np.any(events.is_fraud & events.is_laundering)
    labelled = events.is_fraud | events.is_laundering
    assert np.all(events.episode[labelled] >= 0)
    assert np.all(events.episode[~labelled] == -1)
    assert np.all(events.fraud_scenario[~events.is_fraud] == -1)
    assert np.all(events.laundering_typology[~events.is_laundering] == -1)
    assert np.all(events.protected[labelled])
    # Fraud is a small minority, as in PaySim (0.4% of its sample).
    assert 0.001 < labelled.mean() < 0.05


def _episodes(
    economy: Economy,
    scenario: FraudScenario | None = None,
    typology: LaunderingTypology | None = None,
) -> list[NDArray[np.int64]]:
    events = economy.events
    if scenario is not None:
        rows = events.is_fraud & (events.fraud_scenario == scenario)
    else:
        rows = events.is_laundering & (events.laundering_typology == typology)
    episode = events.episode
    return [np.flatnonzero(rows & (episode == e)) for e in np.unique(episode[rows])]


def test_account_takeover_drains_to_mules_from_a_new_device(economy: Economy) -> None:
    events, population = economy.events, economy.population
    for rows in _episodes(economy, scenario=FraudScenario.account_takeover):
        transfers = rows[events.kind[rows] == Kind.p2p]
        assert len(transfers) >= 1
        victim = int(events.source[transfers[0]])
        assert population.role[victim] == PartyRole.normal
        assert np.all(population.role[events.destination[transfers]] == PartyRole.mule)
        assert np.all(events.device[transfers] != population.device[victim])
        cash_outs = rows[events.kind[rows] == Kind.cash_out]
        assert set(events.source[cash_outs].tolist()) <= set(events.destination[transfers].tolist())


def test_agent_split_deposits_are_many_small_cash_ins(economy: Economy) -> None:
    events, population = economy.events, economy.population
    for rows in _episodes(economy, scenario=FraudScenario.agent_split_deposits):
        assert len(rows) >= 2
        assert np.all(events.kind[rows] == Kind.cash_in)
        assert len(set(events.source[rows].tolist())) == 1
        assert population.role[events.source[rows[0]]] == PartyRole.fraudulent_agent
        assert np.all(events.amount[rows] <= 4_000_00)


def test_structuring_stays_just_under_the_reporting_threshold(economy: Economy) -> None:
    events = economy.events
    threshold = simulator_cash_report_amount_min
    for rows in _episodes(economy, typology=LaunderingTypology.structuring):
        deposits = rows[events.kind[rows] == Kind.cash_in]
        assert len(deposits) >= 3
        assert np.all(events.amount[deposits] < threshold)
        assert np.all(events.amount[deposits] >= 0.9 * threshold - 10_00)
        assert np.any(events.kind[rows] == Kind.bank_out)


def test_a_cycle_comes_back_to_where_it_started(economy: Economy) -> None:
    events = economy.events
    for rows in _episodes(economy, typology=LaunderingTypology.cycle):
        hops = rows[events.kind[rows] == Kind.p2p]
        senders, recipients = events.source[hops], events.destination[hops]
        assert len(hops) >= 3
        assert recipients[-1] == senders[0]
        assert np.array_equal(senders[1:], recipients[:-1])
        assert np.all(np.diff(events.amount[hops]) < 0)  # each hop keeps a little


def test_fan_in_gathers_and_fan_out_scatters(economy: Economy) -> None:
    events = economy.events
    for rows in _episodes(economy, typology=LaunderingTypology.fan_in):
        hops = rows[events.kind[rows] == Kind.p2p]
        assert len(set(events.destination[hops].tolist())) == 1
        assert len(set(events.source[hops].tolist())) == len(hops) >= 4
    for rows in _episodes(economy, typology=LaunderingTypology.fan_out):
        hops = rows[events.kind[rows] == Kind.p2p]
        assert len(set(events.source[hops].tolist())) == 1
        assert len(set(events.destination[hops].tolist())) == len(hops)


def test_fit_to_horizon_keeps_the_order_and_ends_in_time() -> None:
    events = [
        ScriptedEvent(t, Kind.p2p, PaysimType.TRANSFER, 100_00, 1, 2)
        for t in (5 * minute_ns, minute_ns, 50 * minute_ns)
    ]
    squeezed = fit_to_horizon(events, horizon_end_ns=20 * minute_ns)
    times = [e.time_ns for e in squeezed]
    assert times == sorted(times)
    assert times[0] == minute_ns
    assert times[-1] < 20 * minute_ns
    assert fit_to_horizon(events, horizon_end_ns=10**15) == sorted(events, key=lambda e: e.time_ns)

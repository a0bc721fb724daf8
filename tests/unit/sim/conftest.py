"""One simulated economy shared by the simulator's unit tests (it takes a fraction of a second,
but many tests read it)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hazina.sim.events import EventBatch, concatenate
from hazina.sim.generator import Day, Simulation, SimulationConfig, Statistics
from hazina.sim.population import Population

ECONOMY = SimulationConfig(customers=3_000, days=28, seed=11, episode_rate_scale=4.0)


@dataclass(frozen=True)
class Economy:
    config: SimulationConfig
    population: Population
    days: list[Day]
    events: EventBatch
    statistics: Statistics


def run(config: SimulationConfig) -> Economy:
    simulation = Simulation(config)
    days = list(simulation.days())
    return Economy(
        config,
        simulation.population,
        days,
        concatenate([day.events for day in days]),
        simulation.statistics,
    )


@pytest.fixture(scope="session")
def economy() -> Economy:
    return run(ECONOMY)

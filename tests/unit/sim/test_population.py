"""The population: id layout, segments, mixes, roles, address books."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.kernel.invariant import InvariantViolationError
from hazina.sim import calibration
from hazina.sim.behaviour import Segment
from hazina.sim.events import PartyKind, PartyRole, PaysimType
from hazina.sim.population import Population, build_population, customer_name, merchant_name


def _population(customers: int = 5_000, seed: int = 1) -> Population:
    return build_population(customers, np.random.default_rng(seed))


def test_ids_are_laid_out_kind_by_kind() -> None:
    population = _population()
    ids = np.arange(population.parties, dtype=np.int64)
    kinds = population.kind_of(ids)
    counts = np.bincount(kinds, minlength=len(PartyKind))
    assert counts[PartyKind.customer] == 5_000
    assert counts[PartyKind.merchant] == population.merchants == 100
    assert counts[PartyKind.agent] == population.agents == 25
    assert counts[PartyKind.operator] == 1
    assert kinds[population.first_bank] == PartyKind.bank
    assert np.all(np.diff(kinds) >= 0)
    with pytest.raises(InvariantViolationError):
        population.kind_of(np.array([population.parties], dtype=np.int64))


def test_the_segment_mixes_average_to_paysims_mix() -> None:
    population = _population()
    weights = np.array(
        [population.activity[population.segment == s].sum() for s in Segment], dtype=np.float64
    )
    blended = (population.mixes * weights[:, None]).sum(axis=0) / weights.sum()
    assert np.allclose(blended, calibration.target_mix(), atol=1e-9)
    # Informal earners deposit more often than salaried customers, who have a salary.
    assert (
        population.mixes[Segment.informal, PaysimType.CASH_IN]
        > population.mixes[Segment.salaried, PaysimType.CASH_IN]
    )
    assert (population.segment == Segment.salaried).mean() == pytest.approx(0.30, abs=0.05)
    salaried = population.segment == Segment.salaried
    assert np.all(population.salary[salaried] > 0)
    assert np.all(population.salary[~salaried] == 0)
    assert np.all(population.home_bank[salaried] >= population.first_bank)


def test_hidden_roles_are_few_and_fit_their_scripts() -> None:
    population = _population()
    customers = population.customers
    roles = population.role[:customers]
    assert (roles == PartyRole.normal).mean() > 0.97
    launderers = population.with_role(PartyRole.launderer)
    assert len(launderers) == 50
    assert set(population.kyc_tier[launderers].tolist()) == {2, 3}
    assert np.all(population.home_bank[launderers] >= 0)
    merchants = population.with_role(PartyRole.colluding_merchant)
    assert np.all(population.kind_of(merchants) == PartyKind.merchant)
    agents = population.with_role(PartyRole.fraudulent_agent)
    assert len(agents) >= 1
    assert np.all(population.kind_of(agents) == PartyKind.agent)


def test_tiny_economies_keep_most_customers_ordinary() -> None:
    population = _population(customers=40)
    assert (population.role[:40] == PartyRole.normal).sum() >= 20


def test_address_books_hold_others_mostly_from_the_same_community() -> None:
    population = _population()
    offsets, contacts = population.contact_offsets, population.contacts
    owner = np.repeat(np.arange(population.customers), np.diff(offsets))
    assert np.all(contacts != owner)
    assert np.all((contacts >= 0) & (contacts < population.customers))
    same = population.community[contacts] == population.community[owner]
    assert same.mean() == pytest.approx(0.75, abs=0.05)


def test_opening_balances_fit_the_tier() -> None:
    population = _population()
    assert population.opening_balance.min() >= 100_00
    tier0 = population.kyc_tier == 0
    assert population.opening_balance[tier0].max() <= 50_000_00


def test_names_are_readable() -> None:
    population = _population()
    assert " " in customer_name(population, 0)
    assert merchant_name(population, population.first_merchant).endswith("001")


def test_the_population_is_seeded() -> None:
    first, again = _population(seed=9), _population(seed=9)
    assert np.array_equal(first.affluence, again.affluence)
    assert np.array_equal(first.contacts, again.contacts)

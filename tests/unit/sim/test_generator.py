"""The day-by-day generator: seeded, in order, consistent, affordable, seasonal."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hazina.kernel.invariant import InvariantViolationError
from hazina.sim import behaviour
from hazina.sim.behaviour import nanoseconds_per_day
from hazina.sim.events import EventBatch, Flow, Kind, PartyKind, PaysimType, column_names
from hazina.sim.generator import SimulationConfig
from tests.unit.sim.conftest import Economy, run

SMALL = SimulationConfig(customers=500, days=6, seed=5, episode_rate_scale=10.0)


def _digest(events: EventBatch) -> str:
    digest = hashlib.sha256()
    for name in column_names:
        digest.update(np.ascontiguousarray(getattr(events, name)).tobytes())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    first, again = run(SMALL), run(SMALL)
    assert _digest(first.events) == _digest(again.events)
    other = run(SimulationConfig(customers=500, days=6, seed=6, episode_rate_scale=10.0))
    assert _digest(other.events) != _digest(first.events)


def test_a_simulation_runs_once() -> None:
    from hazina.sim.generator import Simulation

    simulation = Simulation(SMALL)
    list(simulation.days())
    with pytest.raises(InvariantViolationError):
        list(simulation.days())


def test_days_are_in_time_order_inside_their_day(economy: Economy) -> None:
    for day in economy.days:
        times = day.events.time_ns
        assert np.all(np.diff(times) >= 0)
        assert times.min() >= day.start_ns
        assert times.max() < day.start_ns + nanoseconds_per_day
    assert len(economy.days) == economy.config.days


def test_amounts_are_positive_int64(economy: Economy) -> None:
    assert economy.events.amount.dtype == np.int64
    assert economy.events.amount.min() > 0


def test_each_kind_goes_between_the_right_kinds_of_party(economy: Economy) -> None:
    events, population = economy.events, economy.population
    source = population.kind_of(events.source)
    destination = population.kind_of(events.destination)
    expected = {
        Kind.cash_in: ({PartyKind.agent}, {PartyKind.customer}),
        Kind.cash_out: ({PartyKind.customer}, {PartyKind.agent}),
        Kind.p2p: ({PartyKind.customer}, {PartyKind.customer, PartyKind.unregistered}),
        Kind.merchant: ({PartyKind.customer}, {PartyKind.merchant}),
        Kind.bill: ({PartyKind.customer}, {PartyKind.biller}),
        Kind.bank_out: ({PartyKind.customer}, {PartyKind.bank}),
        Kind.bank_in: ({PartyKind.bank}, {PartyKind.customer}),
        Kind.float_purchase: ({PartyKind.operator}, {PartyKind.agent}),
    }
    for kind, (sources, destinations) in expected.items():
        rows = events.kind == kind
        assert rows.any(), kind
        assert set(source[rows].tolist()) == {int(k) for k in sources}, kind
        assert set(destination[rows].tolist()) <= {int(k) for k in destinations}, kind
    cash = (events.kind == Kind.cash_in) | (events.kind == Kind.cash_out)
    agent_side = np.where(events.kind == Kind.cash_in, events.source, events.destination)
    assert np.array_equal(events.agent[cash], agent_side[cash])
    merchant = events.kind == Kind.merchant
    assert np.all(
        events.terminal[merchant] // behaviour.merchant_terminals_max
        == events.destination[merchant]
    )


def test_paysim_types_map_to_kinds_as_documented(economy: Economy) -> None:
    events = economy.events
    activity = events.flow == Flow.activity
    pairs = set(
        zip(events.paysim_type[activity].tolist(), events.kind[activity].tolist(), strict=True)
    )
    allowed = {
        (PaysimType.CASH_IN, Kind.cash_in),
        (PaysimType.CASH_OUT, Kind.cash_out),
        (PaysimType.DEBIT, Kind.bill),
        (PaysimType.PAYMENT, Kind.merchant),
        (PaysimType.PAYMENT, Kind.bill),
        (PaysimType.TRANSFER, Kind.p2p),
        (PaysimType.TRANSFER, Kind.bank_out),
    }
    assert pairs == {(int(t), int(k)) for t, k in allowed}
    # Only the calibrated stream carries a PaySim type.
    assert np.all(events.paysim_type[~activity] == -1)
    assert np.all(events.paysim_type[activity] >= 0)


def test_every_customer_opens_with_a_deposit_on_the_first_day(economy: Economy) -> None:
    events, population = economy.events, economy.population
    opening = events.flow == Flow.opening
    assert np.array_equal(np.sort(events.destination[opening]), np.arange(population.customers))
    assert np.all(events.time_ns[opening] < economy.config.start_ns + nanoseconds_per_day)


def test_salaries_arrive_on_payday_from_the_home_bank(economy: Economy) -> None:
    events, population = economy.events, economy.population
    income = events.flow == Flow.income
    assert income.any()
    paid = events.destination[income]
    assert np.all(population.segment[paid] == behaviour.Segment.salaried)
    assert np.array_equal(events.source[income], population.home_bank[paid])
    day_of_month = (events.time_ns[income] - economy.config.start_ns) // nanoseconds_per_day + 5
    assert np.array_equal(day_of_month, population.payday[paid])  # the run starts on the 5th


def test_no_wallet_goes_below_zero_in_the_generators_own_books() -> None:
    """Replaying the events in order with the fees customers budget for: nobody ever spends
    money they do not have (scripted fraud and laundering included)."""
    economy = run(SimulationConfig(customers=400, days=10, seed=2, episode_rate_scale=20.0))
    events, population = economy.events, economy.population
    customers = population.customers
    fees = behaviour.fee_estimates_by_kind(events.kind, events.amount)
    voucher = (events.kind == Kind.p2p) & (events.destination >= population.first_unregistered)
    estimate = behaviour.voucher_fee_estimate
    fees[voucher] = np.minimum(estimate.cap, estimate.flat + events.amount[voucher] * 2 // 100)
    balance = np.zeros(customers, dtype=np.int64)
    lowest = 0
    for source, destination, amount, fee in zip(
        events.source.tolist(),
        events.destination.tolist(),
        events.amount.tolist(),
        fees.tolist(),
        strict=True,
    ):
        if source < customers:
            balance[source] -= amount + fee
            lowest = min(lowest, int(balance[source]))
        if destination < customers:
            balance[destination] += amount
    assert lowest >= 0
    assert events.is_fraud.any()
    assert events.is_laundering.any()


def test_customers_stay_inside_their_kyc_limits(economy: Economy) -> None:
    events, population = economy.events, economy.population
    paying = events.source < population.customers
    tiers = population.kyc_tier[events.source[paying]]
    per_transaction = np.array([t.per_transaction for t in behaviour.tier_limits])[tiers]
    assert np.all(events.amount[paying] <= per_transaction)


def test_amounts_stay_inside_the_products(economy: Economy) -> None:
    events, population = economy.events, economy.population
    for kind, minimum in behaviour.product_minimums.items():
        rows = (events.kind == kind) & ~events.protected
        if kind is not Kind.bank_in:  # bank credits are all salaries and openings
            assert rows.any(), kind
        assert np.all(events.amount[rows] >= minimum), kind
    customers_money = events.kind != Kind.float_purchase  # float is the agents' stock
    assert events.amount[customers_money].max() <= behaviour.product_maximum
    voucher = (events.kind == Kind.p2p) & (events.destination >= population.first_unregistered)
    assert voucher.any()
    assert events.amount[voucher].min() >= behaviour.voucher_minimum
    assert events.amount[voucher].max() <= behaviour.voucher_maximum


def test_salaries_fit_under_the_maximum_balance(economy: Economy) -> None:
    events, population = economy.events, economy.population
    income = events.flow == Flow.income
    paid = events.destination[income]
    assert np.all(events.amount[income] <= population.salary[paid])
    maximum = np.array([t.max_balance for t in behaviour.tier_limits])[population.kyc_tier[paid]]
    assert np.all(events.amount[income] <= maximum * 0.85)


def test_transfers_follow_the_address_book(economy: Economy) -> None:
    events, population = economy.events, economy.population
    ordinary = (
        (events.kind == Kind.p2p) & ~events.protected & (events.destination < population.customers)
    )
    offsets, contacts = population.contact_offsets, population.contacts
    senders, recipients = events.source[ordinary], events.destination[ordinary]
    assert len(senders) > 1_000
    for sender, recipient in zip(
        senders[:2_000].tolist(), recipients[:2_000].tolist(), strict=True
    ):
        assert recipient in contacts[offsets[sender] : offsets[sender + 1]]
    unregistered = (events.kind == Kind.p2p) & (events.destination >= population.first_unregistered)
    share = unregistered.sum() / (events.kind == Kind.p2p).sum()
    assert share == pytest.approx(behaviour.unregistered_share_of_p2p, abs=0.01)


def test_days_and_hours_follow_the_seasonality(economy: Economy) -> None:
    events, config = economy.events, economy.config
    activity = events.flow == Flow.activity
    day = (events.time_ns[activity] - config.start_ns) // nanoseconds_per_day
    per_day = np.bincount(day, minlength=config.days)[1:]  # day 0 also has the openings
    weekday = np.arange(1, config.days) % 7  # the run starts on a Monday
    friday, sunday = per_day[weekday == 4].mean(), per_day[weekday == 6].mean()
    assert friday > 1.15 * sunday
    local_hour = ((events.time_ns[activity] // 3_600_000_000_000) + behaviour.utc_offset_hours) % 24
    by_hour = np.bincount(local_hour, minlength=24)
    assert by_hour[3] * 10 < by_hour[18]  # 3 am is quiet, 6 pm is busy


def test_balances_stay_stationary_over_months() -> None:
    """Money neither piles up nor drains away: deposits and salaries match spending."""
    economy = run(SimulationConfig(customers=1_000, days=90, seed=4, episode_rate_scale=0.0))
    events, population = economy.events, economy.population
    customers = population.customers
    monthly: list[float] = []
    balance = np.zeros(customers, dtype=np.int64)
    for day in economy.days:
        batch = day.events
        paying = batch.source < customers
        fees = behaviour.fee_estimates_by_kind(batch.kind, batch.amount)
        np.subtract.at(balance, batch.source[paying], batch.amount[paying] + fees[paying])
        receiving = batch.destination < customers
        np.add.at(balance, batch.destination[receiving], batch.amount[receiving])
        if day.index % 30 == 29:
            monthly.append(float(np.median(balance)))
    assert len(monthly) == 3
    assert max(monthly) < 1.5 * min(monthly)
    assert not events.is_fraud.any()  # a zero episode rate injects nothing


def test_the_configuration_is_checked() -> None:
    with pytest.raises(InvariantViolationError):
        SimulationConfig(days=0)
    with pytest.raises(InvariantViolationError):
        SimulationConfig(start_ns=1)
    with pytest.raises(InvariantViolationError):
        SimulationConfig(currency="UGX")

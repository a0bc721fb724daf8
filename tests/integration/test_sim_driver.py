"""The simulator's driver over a real platform, on SQLite and PostgreSQL: every simulated
transaction goes through the payments service, and the platform's books agree with a replay
of what it accepted."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hazina.bootstrap import build_platform
from hazina.cli.demo import DEMO_ADMIN, seed_demo
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.audit import verify
from hazina.ledger.service import LedgerService
from hazina.payments.domain.chart import PartyKind
from hazina.payments.service import PaymentsService
from hazina.sim.behaviour import nanoseconds_per_day
from hazina.sim.driver import Driver, DriveSummary, drive, succeeded, voucher_issued
from hazina.sim.events import FraudScenario, Kind, LaunderingTypology, PartyRole
from hazina.sim.generator import Day, Simulation, SimulationConfig
from tests.conftest import StoreFactory

KES = "KES"
CONFIG = SimulationConfig(customers=150, days=3, seed=3, episode_rate_scale=40.0)


@dataclass
class Platform:
    payments: PaymentsService
    ledger: LedgerService
    clock: FixedClock


@pytest.fixture
def platform(store_factory: StoreFactory) -> Iterator[Platform]:
    clock = FixedClock(CONFIG.start_ns)
    ledger = LedgerService(store_factory(), clock)
    payments = PaymentsService(ledger, clock, IdSource(clock, random.Random(7)))
    payments.setup_currency(KES)
    yield Platform(payments, ledger, clock)
    ledger.close()


def test_the_platform_books_every_simulated_transaction(platform: Platform) -> None:
    simulation = Simulation(CONFIG)
    population = simulation.population
    driver = Driver(platform.payments, population, KES, clock=platform.clock, lanes=4)
    replayed: list[tuple[Day, list[str], np.ndarray]] = []
    summary = DriveSummary()
    try:
        summary.parties = driver.register()
        for day in simulation.days():
            result = driver.run_day(day)
            summary.add(day, result)
            replayed.append((day, result.outcomes, result.fees))
    finally:
        driver.close()
    payments = platform.payments
    assert summary.parties == population.first_unregistered
    assert summary.events == sum(len(day.events) for day, _, _ in replayed) > 500
    # Customers do not try what they cannot pay, so the platform refuses (almost) nothing.
    assert sum(summary.refused.values()) <= 0.02 * summary.events, summary.refused
    assert not summary.held  # this platform has no risk control
    assert summary.labelled["fraud ok"] > 0
    assert summary.labelled["laundering ok"] > 0

    # The auditor: replay the accepted events on the customers' wallets, fees included.
    expected = np.zeros(population.customers, dtype=np.int64)
    accepted = 0
    for day, outcomes, fees in replayed:
        events = day.events
        ok = np.array([o in (succeeded, voucher_issued) for o in outcomes])
        accepted += int(ok.sum())
        paying = ok & (events.source < population.customers)
        np.subtract.at(expected, events.source[paying], events.amount[paying] + fees[paying])
        receiving = ok & (events.destination < population.customers)
        np.add.at(expected, events.destination[receiving], events.amount[receiving])
        vouchers = [
            i for i, o in enumerate(outcomes) if o == voucher_issued
        ]  # P2P to a number without a wallet, and only those
        assert all(events.destination[i] >= population.first_unregistered for i in vouchers)
    for customer in range(population.customers):
        party = payments.find_party(phone=driver.phone(customer))
        wallet = payments.wallet_of(party.id, KES)
        assert payments.balance(wallet.id).balance == expected[customer], customer
    assert verify(platform.ledger.store).ok

    # One payment record per accepted event, stamped with simulated time.
    records = payments.list_transactions(None, 0, 100_000)
    assert len(records) == accepted
    start = CONFIG.start_ns
    assert all(
        start <= r.created_at_ns < start + CONFIG.days * nanoseconds_per_day for r in records
    )
    assert {r.status for r in records} == {"completed"}  # bank transfers settled

    # The platform sees payments, never labels.
    hidden = {s.name for s in FraudScenario} | {t.name for t in LaunderingTypology}
    hidden |= {r.name for r in PartyRole if r is not PartyRole.normal}
    for record in records:
        text = f"{record.reference} {record.details}".lower()
        assert not any(word in text for word in hidden), record
    for kind in PartyKind:
        if kind is PartyKind.operator:
            continue
        for party in payments.list_parties(kind, 0, 1_000):
            text = f"{party.name} {party.details}".lower()
            assert not any(word in text for word in hidden), party


def test_kinds_reach_the_platform_as_their_payment_types(platform: Platform) -> None:
    config = SimulationConfig(customers=120, days=2, seed=8)
    simulation = Simulation(config)
    summary = drive(
        platform.payments,
        simulation.days(),
        simulation.population,
        KES,
        clock=platform.clock,
        lanes=2,
    )
    records = platform.payments.list_transactions(None, 0, 100_000)
    types = {r.type for r in records}
    expected = {"cash_in", "cash_out", "merchant_payment", "bill_payment", "float_purchase"}
    assert expected <= types
    assert summary.by_kind[Kind.cash_in.name] == sum(r.type == "cash_in" for r in records)
    assert summary.outcomes()[Kind.merchant.name] == sum(
        r.type == "merchant_payment" for r in records
    )


def test_a_second_simulation_into_the_same_database_takes_fresh_numbers(tmp_path: Path) -> None:
    database = str(tmp_path / "twice.sqlite3")
    config = SimulationConfig(customers=40, days=1, seed=1)
    counts = []
    for _ in range(2):
        clock = FixedClock(config.start_ns)
        built = build_platform(database, clock=clock)
        try:
            simulation = Simulation(config)
            summary = drive(
                built.payments, simulation.days(), simulation.population, KES, clock=clock
            )
            assert sum(summary.refused.values()) == 0
            counts.append(len(built.payments.list_parties(PartyKind.customer, 0, 1_000)))
            codes = {p.code for p in built.payments.list_parties(PartyKind.agent, 0, 1_000)}
        finally:
            built.close()
    assert counts == [40, 80]
    assert {"AG001", "S1-AG001"} <= codes


def test_the_demo_seed_is_the_simulators_economy(tmp_path: Path) -> None:
    built = build_platform(str(tmp_path / "demo.sqlite3"))
    try:
        credentials, outcomes = seed_demo(built, customers=60, payments_count=200, seed=7)
        assert credentials.username == DEMO_ADMIN
        assert credentials.api_key is not None
        customers = built.payments.list_parties(PartyKind.customer, 0, 1_000)
        assert len(customers) == 60
        assert outcomes["cash_in"] >= 60  # an opening deposit each, at least
        assert outcomes["merchant"] > 0
        assert sum(v for k, v in outcomes.items() if k.startswith("refused:")) <= 5
        records = built.payments.list_transactions(None, 0, 100_000)
        payments = {k: v for k, v in outcomes.items() if not k.startswith(("refused:", "loan:"))}
        assert len(records) == sum(payments.values())
        # A small loan book for the console: one borrower in twenty applies.
        assert outcomes["loan:applied"] == 3
        loans = built.loans.list_loans()
        assert len(loans) == 3
        assert outcomes["loan:disbursed"] == sum(loan.status != "declined" for loan in loans)
        again, nothing = seed_demo(built, customers=60, payments_count=200, seed=7)
        assert again.api_key is None
        assert not nothing
    finally:
        built.close()

"""The loans jobs `hazina serve` runs in the background: the inflow sweep collects what is due
from a borrower's wallet once money arrives, and the end of day catches up missed days once
and is then a no-op."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hazina.bootstrap import Platform, build_platform
from hazina.cli.serve import every_tenant, loans_close_day, loans_sweep
from hazina.kernel.clock import FixedClock
from hazina.partners.gateway import Partners
from hazina.partners.tenants import Brand
from tests.integration.platform_world import DAY_S, START_NS, Parties
from tests.integration.test_loans_credit_model import PRODUCT


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Platform, FixedClock]]:
    clock = FixedClock(START_NS)
    platform = build_platform(str(tmp_path / "hazina.sqlite3"), clock=clock)
    yield platform, clock
    platform.close()


def test_sweep_and_end_of_day_jobs(world: tuple[Platform, FixedClock]) -> None:
    platform, clock = world
    parties = Parties(platform)
    agent = parties.agent("A001", 10_000_000)
    borrower = parties.customer("Borrower")
    party = platform.payments.find_party(phone=parties.phones[borrower]).id
    product = platform.loans.create_product(PRODUCT, "test")
    loan = platform.loans.apply(party, product.id, 100_000, 1)
    loan = platform.loans.disburse(loan.id)
    platform.payments.cash_out(borrower, agent, 90_000, "KES")  # spends most of the loan
    loans_sweep(platform)  # nothing due yet: nothing taken
    assert platform.loans.repayments(loan.id) == []

    clock.advance_seconds(33 * DAY_S)  # the installment fell due three days ago
    loans_close_day(platform)
    view = platform.loans.view(loan.id)
    assert view.balances.interest == loan.schedule[0].interest  # a whole period accrued
    assert view.loan.days_past_due > 0
    loans_close_day(platform)  # the same day again: nothing more
    assert platform.loans.view(loan.id).balances == view.balances

    parties.fund(agent, borrower, 200_000, 50_000)  # money arrives
    loans_sweep(platform)
    (collected,) = platform.loans.repayments(loan.id)
    assert collected.amount == view.balances.outstanding
    assert platform.loans.get_loan(loan.id).status == "repaid"


def test_background_jobs_run_for_every_tenant(world: tuple[Platform, FixedClock]) -> None:
    platform, _ = world
    partners = Partners(platform, platform.database)
    try:
        partners.tenants.create("acme", "Acme", Brand("Acme"), "test")
        partners.tenants.create("zed", "Zed", Brand("Zed"), "test")
        seen: list[str] = []

        def job(each: Platform) -> None:
            seen.append(each.database)
            if each.database.endswith("acme.sqlite3"):
                raise RuntimeError("acme is down")  # the others still run

        every_tenant(partners, job)()
        assert seen == [
            platform.database,
            partners.tenants.get("acme").database,
            partners.tenants.get("zed").database,
        ]
        assert len(set(seen)) == 3
    finally:
        partners.close()

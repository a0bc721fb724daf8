"""The loans service over a real ledger and payments, on SQLite and PostgreSQL: the lifecycle,
bad input, idempotency, and that the ledger stays balanced (money conserved)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest

from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.records import CreditAssessment
from hazina.credit.loans.service import LoansService, day_of
from hazina.credit.wallet import wallet_feature_names
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import IdempotentReplayError, PaymentError
from hazina.payments.service import IdempotencyRequest, PaymentsService
from tests.conftest import StoreFactory

KES = "KES"
DAY_S = 86_400


@dataclass
class World:
    loans: LoansService
    payments: PaymentsService
    ledger: LedgerService
    clock: FixedClock
    alice: int  # party ids
    bob: int
    alice_wallet: int
    agent_wallet: int
    product: LoanProduct
    scores: dict[str, int]  # "bps": what the test score function answers, if set


def _product(**changes: object) -> LoanProduct:
    base = LoanProduct(
        0, "Biashara 30", KES, 100_000, 5_000_000, 1, 6, 30, InterestMethod.declining,
        1_000, 100, 0, 5_000, 5, 2_000, 1,
    )  # fmt: skip
    return LoanProduct(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


@pytest.fixture
def world(store_factory: StoreFactory) -> Iterator[World]:
    clock = FixedClock(1_763_000_000 * 10**9)
    ledger = LedgerService(store_factory(), clock)
    ids = IdSource(clock, random.Random(11))
    payments = PaymentsService(ledger, clock, ids)
    payments.setup_currency(KES)
    scores: dict[str, int] = {}

    def score(features: Mapping[str, float | None]) -> CreditAssessment:
        assert set(features) == set(wallet_feature_names)
        return CreditAssessment("test", scores.get("bps", 0), 700, ("INFLOW_WEEKS_SHARE",))

    loans = LoansService(ledger, clock, ids, payments, score=score)
    alice = payments.register_party(
        PartyKind.customer, "Alice", [KES], phone="+254712000001", kyc_tier=KycTier.full
    )
    bob = payments.register_party(
        PartyKind.customer, "Bob", [KES], phone="+254712000002", kyc_tier=KycTier.unverified
    )
    agent = payments.register_party(PartyKind.agent, "Agent", [KES], code="AG1")
    agent_wallet = payments.wallet_of(agent.id, KES).id
    payments.purchase_float(agent_wallet, 10_000_000, "float")
    product = loans.create_product(_product(), "test")
    yield World(
        loans,
        payments,
        ledger,
        clock,
        alice.id,
        bob.id,
        payments.wallet_of(alice.id, KES).id,
        agent_wallet,
        product,
        scores,
    )
    ledger.close()


def _balance(world: World, wallet_id: int) -> int:
    return world.payments.balance(wallet_id).balance


def _ledger_balances(world: World) -> None:
    """Money is conserved: over every account, debits equal credits."""
    rows = world.ledger.store.reader().fetch_all(
        "SELECT coalesce(sum(debits_posted), 0), coalesce(sum(credits_posted), 0) FROM accounts"
    )
    assert int(rows[0][0]) == int(rows[0][1])


def _advance_days(world: World, days: int) -> None:
    world.clock.advance_seconds(days * DAY_S)


def test_the_whole_lifecycle_disburse_accrue_repay_close(world: World) -> None:
    loan = world.loans.apply(world.alice, world.product.id, 1_000_000, 3)
    assert (loan.status, loan.reasons, loan.fee) == ("approved", (), 10_000)
    before = _balance(world, world.alice_wallet)
    active = world.loans.disburse(loan.id)
    assert active.status == "active"
    assert [(i.principal, i.interest) for i in active.schedule] == [
        (302_115, 100_000),
        (332_326, 69_789),
        (365_559, 36_556),
    ]  # the hand-checked table of tests/unit/loans/test_schedule.py
    assert _balance(world, world.alice_wallet) == before + 1_000_000 - 10_000
    _advance_days(world, 15)
    results = world.loans.close_day()
    assert [(r.accrued, r.accrued_days, r.stage) for r in results] == [(50_000, 15, 1)]
    assert world.loans.close_day() == [
        results[0].__class__(loan.id, 0, 0, 0, 0, 1, results[0].allowance, 0)
    ]  # a second run of the same day posts nothing
    view = world.loans.view(loan.id)
    assert (view.balances.principal, view.balances.interest) == (1_000_000, 50_000)
    assert view.balances.allowance == (1_050_000 * 200 * 4_500 + 50_000_000) // 100_000_000
    repayment = world.loans.repay(loan.id, 60_000)
    assert (repayment.penalty, repayment.interest, repayment.principal) == (0, 50_000, 10_000)
    world.payments.cash_in(world.agent_wallet, world.alice_wallet, 100_000, KES)
    payoff = world.loans.view(loan.id).balances.outstanding
    assert payoff == 990_000
    world.loans.repay(loan.id, payoff)
    closed = world.loans.view(loan.id)
    assert closed.loan.status == "repaid"
    assert closed.balances == closed.balances.__class__(0, 0, 0, 0)
    assert closed.repaid == 1_050_000
    _ledger_balances(world)


def test_applications_outside_product_limits_are_errors_and_record_nothing(world: World) -> None:
    for amount, term, code in [
        (99_999, 3, "amount_outside_product"),
        (5_000_001, 3, "amount_outside_product"),
        (1_000_000, 7, "term_outside_product"),
        (1_000_000, 0, "term_outside_product"),
    ]:
        with pytest.raises(PaymentError) as caught:
            world.loans.apply(world.alice, world.product.id, amount, term)
        assert caught.value.code == code
    assert world.loans.list_loans() == []


def test_policy_and_score_declines_are_recorded_with_reasons(world: World) -> None:
    low_kyc = world.loans.apply(world.bob, world.product.id, 200_000, 2)
    assert (low_kyc.status, low_kyc.reasons) == ("declined", ("kyc_tier_too_low",))
    world.scores["bps"] = 2_001
    scored = world.loans.apply(world.alice, world.product.id, 200_000, 2)
    assert (scored.status, scored.reasons, scored.default_bps) == (
        "declined",
        ("score_below_cutoff",),
        2_001,
    )
    # What the decision rested on is kept: the features and the model's answer.
    record = world.loans.application(scored.id)
    assert record is not None
    assert record.assessment == CreditAssessment("test", 2_001, 700, ("INFLOW_WEEKS_SHARE",))
    assert set(record.features) == set(wallet_feature_names)
    assert world.loans.view(scored.id).assessment == record.assessment
    assert world.loans.training_rows() == []  # declined: no outcome to learn from
    world.scores["bps"] = 500
    assert world.loans.apply(world.alice, world.product.id, 200_000, 2).status == "approved"
    second = world.loans.apply(world.alice, world.product.id, 200_000, 2)
    assert second.reasons == ("active_loan_limit",)
    with pytest.raises(PaymentError) as caught:
        world.loans.disburse(second.id)
    assert caught.value.code == "loan_declined"


def test_disbursing_twice_is_refused_and_posts_once(world: World) -> None:
    loan = world.loans.apply(world.alice, world.product.id, 1_000_000, 3)
    world.loans.disburse(loan.id)
    after_first = _balance(world, world.alice_wallet)
    with pytest.raises(PaymentError) as caught:
        world.loans.disburse(loan.id)
    assert (caught.value.code, caught.value.kind.value) == ("loan_already_disbursed", "conflict")
    assert _balance(world, world.alice_wallet) == after_first
    _ledger_balances(world)


def test_an_idempotent_disbursement_replays_the_first_answer(world: World) -> None:
    loan = world.loans.apply(world.alice, world.product.id, 1_000_000, 3)
    key = IdempotencyRequest("test", "k1", "hash", 200, lambda record: f'{{"id": {record.id}}}')
    world.loans.disburse(loan.id, key)
    with pytest.raises(IdempotentReplayError) as caught:
        world.loans.disburse(loan.id, key)
    assert caught.value.body == f'{{"id": {loan.id}}}'
    other = IdempotencyRequest("test", "k1", "other", 200, lambda record: "")
    with pytest.raises(PaymentError) as reused:
        world.loans.disburse(loan.id, other)
    assert reused.value.code == "idempotency_key_reused"


def test_repayments_above_the_outstanding_are_refused(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 200_000, 2).id)
    world.payments.cash_in(world.agent_wallet, world.alice_wallet, 500_000, KES)
    with pytest.raises(PaymentError) as caught:
        world.loans.repay(loan.id, 200_001)
    assert caught.value.code == "repayment_exceeds_outstanding"
    assert caught.value.details["outstanding"] == 200_000
    assert world.loans.repayments(loan.id) == []
    with pytest.raises(PaymentError) as bad:
        world.loans.repay(loan.id, 0)
    assert bad.value.code == "amount_invalid"
    world.loans.repay(loan.id, 200_000)
    with pytest.raises(PaymentError) as closed:
        world.loans.repay(loan.id, 1)
    assert closed.value.code == "loan_not_active"
    _ledger_balances(world)


def test_a_repayment_the_wallet_cannot_cover_is_refused(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 200_000, 2).id)
    spendable = _balance(world, world.alice_wallet)
    assert spendable < 200_000  # the fee was deducted
    with pytest.raises(PaymentError) as caught:
        world.loans.repay(loan.id, 200_000)
    assert caught.value.code == "insufficient_funds"
    assert world.loans.view(loan.id).balances.principal == 200_000


def test_missed_days_are_caught_up_then_arrears_age_through_the_stages(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 1_000_000, 3).id)
    start = day_of(world.clock.now_ns())
    _advance_days(world, 200)
    first = world.loans.close_day(start + 40)
    assert first[0].accrued == 100_000 + 69_789 * 10 // 30
    assert (first[0].days_past_due, first[0].stage) == (10, 1)
    assert first[0].penalties == 5_000  # installment 1: more than 5 days late
    second = world.loans.close_day(start + 65)
    assert (second[0].days_past_due, second[0].stage, second[0].penalties) == (35, 2, 0)
    later = world.loans.close_day(start + 66)  # installment 2 is now more than 5 days late
    assert later[0].penalties == 5_000
    third = world.loans.close_day(start + 121)
    assert (third[0].days_past_due, third[0].stage) == (91, 3)
    view = world.loans.view(loan.id)
    assert view.balances.interest == 206_345  # accrual stops at maturity
    assert view.balances.penalty == 15_000  # once per installment, never twice
    exposure = 1_000_000 + 206_345 + 15_000
    assert view.balances.allowance == (exposure * 10_000 * 4_500 + 50_000_000) // 100_000_000
    assert world.loans.close_day(start + 121)[0].provision_change == 0
    _ledger_balances(world)


def test_write_off_needs_stage_3_and_recovery_is_capped(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 1_000_000, 3).id)
    start = day_of(world.clock.now_ns())
    with pytest.raises(PaymentError) as early:
        world.loans.write_off(loan.id)
    assert early.value.code == "loan_not_impaired"
    _advance_days(world, 200)
    world.loans.close_day(start + 181)
    written = world.loans.write_off(loan.id)
    assert written.status == "written_off"
    assert written.written_off == 1_000_000 + 206_345 + 15_000
    view = world.loans.view(loan.id)
    assert view.balances == view.balances.__class__(0, 0, 0, 0)
    with pytest.raises(PaymentError) as again:
        world.loans.write_off(loan.id)
    assert again.value.code == "loan_not_active"
    assert world.loans.close_day() == []  # written-off loans accrue nothing
    world.payments.cash_in(world.agent_wallet, world.alice_wallet, 2_000_000, KES)
    world.loans.recover(loan.id, 1_000_000)
    with pytest.raises(PaymentError) as capped:
        world.loans.recover(loan.id, written.written_off - 1_000_000 + 1)
    assert capped.value.code == "recovery_exceeds_written_off"
    assert world.loans.view(loan.id).recovered == 1_000_000
    _ledger_balances(world)


def test_invalid_products_and_future_days_are_refused(world: World) -> None:
    with pytest.raises(PaymentError) as caught:
        world.loans.create_product(_product(name="Bad", amount_min=0), "test")
    assert caught.value.code == "product_amounts_invalid"
    with pytest.raises(PaymentError) as taken:
        world.loans.create_product(_product(), "test")
    assert taken.value.code == "product_name_taken"
    with pytest.raises(PaymentError) as future:
        world.loans.close_day(day_of(world.clock.now_ns()) + 1)
    assert future.value.code == "day_in_future"
    flat = world.loans.create_product(_product(name="Flat", method=InterestMethod.flat), "t")
    assert world.loans.get_product(flat.id) == flat
    assert [p.name for p in world.loans.list_products()] == ["Biashara 30", "Flat"]


def test_a_sweep_collects_what_is_due_and_only_that(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 1_000_000, 3).id)
    assert world.loans.sweep(loan.id) is None  # nothing due yet, though the wallet holds money
    assert world.loans.sweep_inflows() == []  # the disbursement is no inflow event
    _advance_days(world, 31)
    world.loans.close_day()
    assert world.loans.sweep_inflows() == []  # no money came in since
    world.payments.cash_in(world.agent_wallet, world.alice_wallet, 1_000, KES)
    swept = world.loans.sweep_inflows()
    # installment 1 (402,115) is due; accrued interest is paid first (a day of installment
    # 2's interest has accrued too), then principal
    assert [(r.amount, r.penalty, r.interest, r.principal) for r in swept] == [
        (402_115, 0, 100_000 + 69_789 // 30, 402_115 - 100_000 - 69_789 // 30)
    ]
    assert world.loans.sweep_inflows() == []
    assert world.loans.sweep(loan.id) is None  # paid up to date: nothing more is taken
    assert world.loans.view(loan.id).loan.status == "active"
    _ledger_balances(world)


def test_a_sweep_takes_no_more_than_the_wallet_holds(world: World) -> None:
    loan = world.loans.disburse(world.loans.apply(world.alice, world.product.id, 1_000_000, 3).id)
    _advance_days(world, 90)
    world.loans.close_day()
    swept = world.loans.sweep(loan.id)
    assert swept is not None
    assert swept.amount == 990_000  # everything the wallet held after the fee
    assert _balance(world, world.alice_wallet) == 0
    assert world.loans.sweep(loan.id) is None
    _ledger_balances(world)


def test_a_frozen_borrower_gets_no_disbursement(world: World) -> None:
    loan = world.loans.apply(world.alice, world.product.id, 200_000, 2)
    world.payments.set_party_status(world.alice, "frozen", "test")
    with pytest.raises(PaymentError) as caught:
        world.loans.disburse(loan.id)
    assert caught.value.code == "wallet_frozen"
    assert world.loans.get_loan(loan.id).status == "approved"
    world.payments.set_party_status(world.alice, "active", "test")
    assert world.loans.disburse(loan.id).status == "active"

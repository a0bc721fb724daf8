"""Risk screening in the payment path, over a real ledger, on SQLite and PostgreSQL: each
decision (approve, step-up, hold, decline) does what it says to the money, and is recorded."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.kernel.limits import risk_hold_lifetime_s, risk_step_up_attempts_max
from hazina.ledger.service import LedgerService
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import PaymentError
from hazina.payments.records import PaymentTransaction
from hazina.payments.service import PaymentsService, StepUpAnswer
from hazina.risk.decision import Thresholds
from hazina.risk.rules import RuleError
from hazina.risk.service import RiskService
from tests.conftest import StoreFactory

KES = "KES"
BOB = "+254712000002"


@dataclass
class World:
    payments: PaymentsService
    risk: RiskService
    ledger: LedgerService
    clock: FixedClock
    alice: int
    bob: int
    agent: int


@pytest.fixture
def world(store_factory: StoreFactory) -> Iterator[World]:
    clock = FixedClock(1_763_000_000 * 10**9)
    ledger = LedgerService(store_factory(), clock)
    ids = IdSource(clock, random.Random(11))
    risk = RiskService(ledger, clock, ids, random_bytes=random.Random(3).randbytes)
    payments = PaymentsService(ledger, clock, ids, risk=risk)
    payments.setup_currency(KES)

    def wallet(kind: PartyKind, name: str, **kwargs: object) -> int:
        party = payments.register_party(kind, name, [KES], **kwargs)  # type: ignore[arg-type]
        return payments.wallet_of(party.id, KES).id

    alice = wallet(PartyKind.customer, "Alice", phone="+254712000001", kyc_tier=KycTier.full)
    bob = wallet(PartyKind.customer, "Bob", phone=BOB, kyc_tier=KycTier.basic)
    agent = wallet(PartyKind.agent, "Agent One", code="AG001")
    payments.purchase_float(agent, 10_000_000, "deposit slip 1")
    payments.cash_in(agent, alice, 2_000_000, KES)
    yield World(payments, risk, ledger, clock, alice, bob, agent)
    ledger.close()


def rule(action: str, minimum: int, name: str = "big") -> dict[str, object]:
    return {
        "name": name,
        "when": {"feature": "amount", "op": ">=", "value": minimum},
        "action": action,
        "reason": f"{action} at or above {minimum}",
    }


def balances(world: World) -> tuple[int, int]:
    return (
        world.payments.balance(world.alice).available,
        world.payments.balance(world.bob).balance,
    )


def test_without_rules_or_model_payments_pass_and_each_decision_is_recorded(world: World) -> None:
    sent = world.payments.send_p2p(world.alice, BOB, 10_000, KES)
    assert isinstance(sent, PaymentTransaction)
    assert sent.status == "completed"
    (decision,) = world.risk.decisions(transaction_id=sent.id)
    assert decision["action"] == "approve"
    assert decision["fallback"] == "no model in use"
    assert decision["rules_version"] == 0
    assert decision["payer_party_id"] == world.payments.get_wallet(world.alice).party_id


def test_a_decline_moves_nothing_and_keeps_the_decision(world: World) -> None:
    world.risk.save_rules([rule("decline", 500_000)], "analyst")
    before = balances(world)
    with pytest.raises(PaymentError) as raised:
        world.payments.send_p2p(world.alice, BOB, 500_000, KES)
    assert raised.value.code == "risk_declined"
    assert "decline at or above 500000 (rule big)" in raised.value.message
    assert balances(world) == before
    (decision,) = world.risk.decisions(action="decline")
    assert decision["transaction_id"] is None
    assert decision["rule_hits"] == [
        {"rule": "big", "action": "decline", "reason": "decline at or above 500000"}
    ]
    assert decision["id"] == raised.value.details["decision_id"]
    small = world.payments.send_p2p(world.alice, BOB, 499_999, KES)
    assert isinstance(small, PaymentTransaction)
    assert small.status == "completed"


def test_a_held_payment_waits_for_an_analyst_who_releases_or_rejects_it(world: World) -> None:
    world.risk.save_rules([rule("hold", 300_000)], "analyst")
    alice_before, bob_before = balances(world)
    held = world.payments.send_p2p(world.alice, BOB, 300_000, KES)
    assert isinstance(held, PaymentTransaction)
    assert held.status == "held"
    alice_held, bob_held = balances(world)
    assert alice_held == alice_before - 300_000 - held.fee  # reserved, not spendable
    assert bob_held == bob_before  # not credited until released
    released = world.payments.review_held_payment(held.id, True, "analyst")
    assert released.status == "completed"
    assert balances(world) == (alice_held, bob_before + 300_000)

    second = world.payments.send_p2p(world.alice, BOB, 400_000, KES)
    assert isinstance(second, PaymentTransaction)
    rejected = world.payments.review_held_payment(second.id, False, "analyst", fraud=True)
    assert rejected.status == "failed"
    assert balances(world) == (alice_held, bob_before + 300_000)  # the money went back
    with pytest.raises(PaymentError) as again:
        world.payments.review_held_payment(second.id, True, "analyst")
    assert again.value.code == "transaction_not_held"
    with pytest.raises(PaymentError) as contradictory:
        world.payments.review_held_payment(second.id, True, "analyst", fraud=True)
    assert contradictory.value.code == "review_contradictory"


def test_a_hold_nobody_reviews_expires_and_the_money_goes_back(world: World) -> None:
    world.risk.save_rules([rule("hold", 300_000)], "analyst")
    before = balances(world)
    held = world.payments.send_p2p(world.alice, BOB, 300_000, KES)
    assert isinstance(held, PaymentTransaction)
    world.clock.advance_ns((risk_hold_lifetime_s + 1) * 10**9)
    assert world.payments.fail_expired_bank_transfers() == 1
    assert world.payments.get_transaction(held.id).status == "failed"
    assert balances(world) == before


def test_step_up_sends_a_code_and_the_same_payment_passes_with_it(world: World) -> None:
    world.risk.save_rules([rule("step_up", 200_000)], "analyst")
    before = balances(world)
    with pytest.raises(PaymentError) as raised:
        world.payments.send_p2p(world.alice, BOB, 250_000, KES)
    assert raised.value.code == "step_up_required"
    challenge_id = raised.value.details["challenge_id"]
    assert isinstance(challenge_id, int)
    assert balances(world) == before
    events = [e for e in world.payments.outbox_after(0, 1_000) if e[1] == "risk.step_up_required"]
    (event,) = events
    code = event[3]["code"]
    assert event[3]["challenge_id"] == challenge_id
    assert len(code) == 6
    assert code.isdigit()

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(PaymentError) as wrong_code:
        world.payments.send_p2p(
            world.alice, BOB, 250_000, KES, step_up=StepUpAnswer(challenge_id, wrong)
        )
    assert wrong_code.value.code == "step_up_code_wrong"
    with pytest.raises(PaymentError) as other_payment:
        world.payments.send_p2p(
            world.alice, BOB, 260_000, KES, step_up=StepUpAnswer(challenge_id, code)
        )
    assert other_payment.value.code == "step_up_unknown"  # bound to the payment it was for
    assert balances(world) == before

    sent = world.payments.send_p2p(
        world.alice, BOB, 250_000, KES, step_up=StepUpAnswer(challenge_id, code)
    )
    assert isinstance(sent, PaymentTransaction)
    assert sent.status == "completed"
    with pytest.raises(PaymentError) as reused:
        world.payments.send_p2p(
            world.alice, BOB, 250_000, KES, step_up=StepUpAnswer(challenge_id, code)
        )
    assert reused.value.code == "step_up_spent"


def test_wrong_codes_use_a_challenge_up(world: World) -> None:
    world.risk.save_rules([rule("step_up", 200_000)], "analyst")
    with pytest.raises(PaymentError) as raised:
        world.payments.send_p2p(world.alice, BOB, 250_000, KES)
    challenge_id = int(raised.value.details["challenge_id"])  # type: ignore[call-overload]
    (event,) = [e for e in world.payments.outbox_after(0, 1_000) if e[1].startswith("risk.")]
    wrong = f"{(int(event[3]['code']) + 1) % 1_000_000:06d}"
    for _ in range(risk_step_up_attempts_max):
        with pytest.raises(PaymentError):
            world.payments.send_p2p(
                world.alice, BOB, 250_000, KES, step_up=StepUpAnswer(challenge_id, wrong)
            )
    with pytest.raises(PaymentError) as spent:
        world.payments.send_p2p(
            world.alice, BOB, 250_000, KES, step_up=StepUpAnswer(challenge_id, event[3]["code"])
        )
    assert spent.value.code == "step_up_spent"


class AmountScorer:
    """A stand-in model with a known answer: fraud probability grows with the amount."""

    def __init__(self, names: Sequence[str], fail: bool = False) -> None:
        self.version = "amount-1"
        self.feature_names = tuple(names)
        self._fail = fail
        self._amount_index = next(i for i, n in enumerate(names) if "amount" in n)

    def score(self, values: Sequence[float]) -> tuple[float, Sequence[float]]:
        if self._fail:
            raise RuntimeError("model file is corrupt")
        contributions = [0.0] * len(values)
        contributions[self._amount_index] = 2.0
        return min(1.0, values[self._amount_index] / 1_000_000), contributions


def test_the_model_score_decides_and_its_reasons_are_kept(world: World) -> None:
    world.risk.use_model(AmountScorer(world.risk.engine.names))
    world.risk.thresholds = Thresholds(step_up=0.97, hold=0.98, decline=0.99)
    sent = world.payments.send_p2p(world.alice, BOB, 100_000, KES)
    assert isinstance(sent, PaymentTransaction)
    (decision,) = world.risk.decisions(transaction_id=sent.id)
    assert decision["model_version"] == "amount-1"
    assert decision["score"] is not None
    assert decision["reasons"][0]["contribution"] == 2.0
    assert decision["fallback"] is None


def test_a_failing_model_does_not_lose_the_payment(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.risk.use_model(AmountScorer(world.risk.engine.names, fail=True))
    world.risk.save_rules([rule("hold", 300_000)], "analyst")
    with caplog.at_level(logging.ERROR, logger="hazina.risk"):
        sent = world.payments.send_p2p(world.alice, BOB, 10_000, KES)
        held = world.payments.send_p2p(world.alice, BOB, 300_000, KES)
    assert isinstance(sent, PaymentTransaction)
    assert isinstance(held, PaymentTransaction)
    assert (sent.status, held.status) == ("completed", "held")  # rules still decide
    (decision,) = world.risk.decisions(transaction_id=sent.id)
    assert decision["fallback"].startswith("model amount-1 failed: RuntimeError")
    assert "risk model failed" in caplog.text


def test_rules_are_checked_when_saved_and_versioned(world: World) -> None:
    with pytest.raises(RuleError) as unknown:
        world.risk.save_rules(
            [{"name": "x", "when": {"feature": "nope", "op": ">", "value": 1}, "action": "hold"}],
            "analyst",
        )
    assert unknown.value.code == "rule_feature_unknown"
    assert world.risk.rules().version == 0
    first = world.risk.save_rules([rule("hold", 1)], "analyst")
    second = world.risk.save_rules([], "analyst")
    assert (first.version, second.version) == (1, 2)
    assert world.risk.rule_set(1) is not None
    assert world.risk.rule_set(1).source() == [rule("hold", 1)]  # type: ignore[union-attr]
    assert world.risk.rules().rules == ()
    reopened = RiskService(world.ledger, world.clock, IdSource(world.clock))
    assert reopened.rules().version == 2


def test_a_restarted_service_rebuilds_features_from_the_payments(world: World) -> None:
    for amount in (10_000, 20_000, 30_000):
        world.payments.send_p2p(world.alice, BOB, amount, KES)
    history = world.payments.screened_history(0, 1_000)
    assert [f.amount for f in history] == [10_000, 20_000, 30_000]
    assert {f.payment_type for f in history} == {"p2p"}
    fresh = RiskService(world.ledger, world.clock, IdSource(world.clock))
    probe = history[-1]

    def features(service: RiskService) -> list[float]:
        return service.engine.features_for(probe.event())

    live = features(world.risk)
    assert features(fresh) != live  # a cold engine has not seen Alice's payments
    fresh.warm_up(history)
    assert features(fresh) == live

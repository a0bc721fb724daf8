"""Genuine labels, on SQLite and PostgreSQL: a screened payment that passes the label delay
without a fraud report is labelled genuine, once; reviews keep their verdicts; the delayed
counterparty risk features then count both outcomes, live and after a restart."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hazina.bootstrap import Platform, build_platform
from hazina.cli.main import app
from hazina.kernel.clock import FixedClock
from hazina.risk.service import PaymentFacts
from tests.integration.platform_world import (
    DAY_S,
    KES,
    START_NS,
    Parties,
    clock,
    database,
    platform,
)

__all__ = ["clock", "database", "platform"]  # fixtures used by name


def hold_rule(amount_minor: int) -> dict[str, object]:
    return {
        "name": "hold-exact",
        "when": {"feature": "amount", "op": "==", "value": amount_minor},
        "action": "hold",
        "reason": "the test holds this amount",
    }


def bob_features(platform: Platform, bob_party: int, alice_party: int) -> dict[str, float]:
    """The counterparty risk features a new payment from Alice to Bob would get now."""
    now_ns = platform.clock.now_ns()
    probe = PaymentFacts("p2p", KES, 1_000, alice_party, 2, bob_party, "customer", now_ns)
    values = platform.risk.engine.features_for(probe.event())
    named = dict(zip(platform.risk.engine.names, values, strict=True))
    return {name: named[name] for name in ("counterparty_risk_count_30d", "counterparty_risk_30d")}


def test_matured_payments_are_labelled_genuine_once_and_features_count_both_outcomes(
    platform: Platform, clock: FixedClock, database: str
) -> None:
    parties = Parties(platform)
    agent = parties.agent("AG1", 10_000_000_00)
    alice = parties.customer("Alice")
    bob = parties.customer("Bob")
    parties.fund(agent, alice, 200_000_00, 100_000_00)
    platform.risk.save_rules([hold_rule(7_777_00)], "analyst")
    genuine = [parties.send(alice, bob, amount) for amount in (1_000_00, 2_000_00, 3_000_00)]
    released = parties.send(alice, bob, 7_777_00)
    fraud = parties.send(alice, bob, 7_777_00)
    waiting = parties.send(alice, bob, 7_777_00)
    payments = platform.payments
    assert {payments.get_transaction(t).status for t in (released, fraud, waiting)} == {"held"}
    payments.review_held_payment(released, True, "analyst")
    payments.review_held_payment(fraud, False, "analyst", fraud=True)
    assert platform.risk.label_counts() == {"fraud": 1, "genuine_review": 1, "genuine_matured": 0}

    clock.advance_seconds(6 * DAY_S)  # not yet matured: nothing to label
    early = platform.risk.label_matured(payments)
    assert (early.labelled, early.skipped) == (0, 0)

    clock.advance_seconds(2 * DAY_S)
    first = platform.risk.label_matured(payments)
    # Three completed payments; the released one kept its review label; the fraud (failed)
    # and the one still held are left (a review will label the held one).
    assert first.labelled == 3
    assert first.skipped == 2
    assert platform.risk.label_counts() == {"fraud": 1, "genuine_review": 1, "genuine_matured": 3}
    again = platform.risk.label_matured(payments)
    assert (again.labelled, again.skipped) == (0, 0)
    assert platform.risk.label_counts()["genuine_matured"] == 3

    stored = {label.transaction_id: label for label in platform.risk.stored_labels(0, 100)}
    assert set(stored) == {*genuine, released, fraud}
    assert stored[fraud].is_fraud
    assert not stored[released].is_fraud
    assert payments.get_transaction(waiting).status == "held"  # left for its review

    bob_party = payments.get_wallet(bob).party_id
    alice_party = payments.get_wallet(alice).party_id
    live = bob_features(platform, bob_party, alice_party)
    assert live == {"counterparty_risk_count_30d": 5.0, "counterparty_risk_30d": 0.2}

    # A restarted server rebuilds the same label features from the kept labels.
    restarted = build_platform(database, clock=clock)
    try:
        assert bob_features(restarted, bob_party, alice_party) == live
    finally:
        restarted.close()


def test_the_cli_labels_matured_payments_once(tmp_path: Path) -> None:
    path = tmp_path / "hazina.sqlite3"
    platform = build_platform(str(path), clock=FixedClock(START_NS))
    try:
        parties = Parties(platform)
        agent = parties.agent("AG1", 1_000_000_00)
        alice = parties.customer("Alice")
        bob = parties.customer("Bob")
        parties.fund(agent, alice, 10_000_00, 10_000_00)
        parties.send(alice, bob, 1_000_00)
        parties.send(alice, bob, 2_000_00)
    finally:
        platform.close()
    runner = CliRunner()
    first = runner.invoke(app, ["risk", "label-matured", "--database", str(path)])
    assert first.exit_code == 0, first.output
    assert "labelled 2 matured payments genuine" in first.output  # made in 2025: long matured
    second = runner.invoke(app, ["risk", "label-matured", "--database", str(path)])
    assert second.exit_code == 0, second.output
    assert "labelled 0 matured payments genuine" in second.output
    assert "2 genuine by maturity" in second.output

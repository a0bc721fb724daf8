"""The service reads the console's pages stand on, on SQLite and PostgreSQL: payment activity
per time bucket and type, active wallets, agents' float balances, party and transaction
searches, risk decisions by action and payer, and the case backlog by status."""

from __future__ import annotations

from hazina.bootstrap import Platform
from hazina.kernel.clock import FixedClock
from hazina.payments.domain.chart import PartyKind
from hazina.payments.records import TransactionSearch
from hazina.risk.aml.case_model import CaseStatus
from tests.integration.platform_world import Parties, clock, database, platform

__all__ = ["clock", "database", "platform"]  # fixtures, used by name

MINUTE_NS = 60 * 1_000_000_000


def _world(platform: Platform, clock: FixedClock) -> tuple[Parties, int, int, int]:
    parties = Parties(platform)
    agent = parties.agent("AG1", 2_000_000)
    alice = parties.customer("Alice Wanjiru")
    bob = parties.customer("Bob Otieno")
    parties.fund(agent, alice, 50_000, 50_000)  # minute 0: one cash-in
    clock.advance_ns(MINUTE_NS)
    parties.send(alice, bob, 10_000)  # minute 1: two P2P
    parties.send(alice, bob, 5_000)
    return parties, agent, alice, bob


def test_activity_by_bucket_and_type(platform: Platform, clock: FixedClock) -> None:
    start = clock.now_ns()
    _world(platform, clock)
    payments = platform.payments
    span = payments.activity_span(start)
    assert span is not None
    assert start <= span[0] < start + MINUTE_NS // 2  # the float purchase, then the rest
    assert span[1] - start >= MINUTE_NS  # the P2P, a minute later
    buckets = payments.activity(start, MINUTE_NS)
    summary = [(b.start_ns, b.type, b.count, b.amount, b.payers) for b in buckets]
    first = span[0] // MINUTE_NS * MINUTE_NS
    assert {b.type for b in buckets} == {"float_purchase", "cash_in", "p2p"}
    assert (first, "cash_in", 1, 50_000, 1) in summary
    assert (first + MINUTE_NS, "p2p", 2, 15_000, 1) in summary
    p2p_fees = sum(b.fee for b in buckets if b.type == "p2p")
    assert p2p_fees == sum(
        t.fee for t in payments.search_transactions(TransactionSearch(type="p2p"), None, 10)
    )
    active = dict(payments.active_wallets(start, MINUTE_NS))
    assert active[first + MINUTE_NS] == 2  # Alice and Bob
    assert payments.activity_span(span[1] + 1) is None


def test_agent_float_balances_in_one_read(platform: Platform, clock: FixedClock) -> None:
    _, agent, _, _ = _world(platform, clock)
    floats = platform.payments.wallet_balances(PartyKind.agent, 10)
    assert [(b.wallet.id, b.balance) for b in floats] == [
        (agent, platform.payments.balance(agent).balance)
    ]
    assert floats[0].balance > 2_000_000 - 50_000  # less the cash-in, plus its commission


def test_party_and_transaction_searches(platform: Platform, clock: FixedClock) -> None:
    _, _, alice, bob = _world(platform, clock)
    payments = platform.payments
    assert [p.name for p in payments.search_parties("wanjiru", None, 10)] == ["Alice Wanjiru"]
    assert [p.name for p in payments.search_parties("AG1", PartyKind.agent, 10)] == ["Agent AG1"]
    assert payments.search_parties("%", None, 10) != []  # a wildcard is text, not a pattern
    assert payments.search_parties("nobody", None, 10) == []
    of_bob = payments.search_transactions(TransactionSearch(wallet_id=bob), None, 10)
    assert [t.amount for t in of_bob] == [5_000, 10_000]  # newest first
    older = payments.search_transactions(TransactionSearch(wallet_id=bob), of_bob[0].id, 10)
    assert [t.amount for t in older] == [10_000]
    large = payments.search_transactions(
        TransactionSearch(wallet_id=alice, amount_min=10_000, amount_max=40_000), None, 10
    )
    assert [t.amount for t in large] == [10_000]
    later = payments.search_transactions(
        TransactionSearch(since_ns=clock.now_ns(), status="completed"), None, 10
    )
    assert {t.type for t in later} == {"p2p"}
    assert payments.search_transactions(TransactionSearch(until_ns=0), None, 10) == []


def test_risk_decisions_by_action_and_payer(platform: Platform, clock: FixedClock) -> None:
    start = clock.now_ns()
    _, _, alice, _ = _world(platform, clock)
    alice_party = platform.payments.get_wallet(alice).party_id
    decisions = platform.risk.decisions(payer_party_id=alice_party)
    assert [d["amount"] for d in decisions] == [10_000, 5_000]
    assert platform.risk.decisions(payer_party_id=alice_party + 1) == []
    counts = platform.risk.decision_counts(start)
    assert sum(counts.values()) == len(platform.risk.decisions())
    assert platform.risk.decision_counts(clock.now_ns() + 1) == {}


def test_case_backlog_names_every_status(platform: Platform) -> None:
    counts = platform.cases.count_by_status()
    assert counts == dict.fromkeys(CaseStatus, 0)
    assert platform.cases.list_cases(subject_accounts=[1, 2]) == []

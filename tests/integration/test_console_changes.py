"""Maker-checker change requests (`payments/approvals.py`) on SQLite and PostgreSQL: tariff
changes, KYC limit changes and manual journal entries wait until a second operator approves;
the maker never decides; approving applies the change and marks the request in one database
transaction; limit changes outlive a restart."""

from __future__ import annotations

import dataclasses
import sqlite3

import psycopg
import pytest

from hazina.bootstrap import Platform, build_platform
from hazina.kernel.clock import FixedClock
from hazina.ledger.service import LedgerUnit
from hazina.ledger.store.base import StoreError
from hazina.payments.approvals import ApprovalService, ChangeKind, JournalEntry
from hazina.payments.domain.chart import WalletKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import PaymentError
from tests.integration.platform_world import KES, Parties, clock, database, platform

__all__ = ["clock", "database", "platform"]  # fixtures, used by name

MAKER = "operator:admin"
CHECKER = "operator:supervisor"


@pytest.fixture
def approvals(platform: Platform) -> ApprovalService:
    return ApprovalService(platform.ledger, platform.ids, platform.payments)


def _journal(platform: Platform, amount: int) -> JournalEntry:
    operator = platform.payments.operator_wallets(KES)
    return JournalEntry(
        operator[WalletKind.fee_income], operator[WalletKind.suspense], amount, KES, "misposting"
    )


def _earn_fees(platform: Platform) -> int:
    """Some fee income: a customer sends a P2P payment, which carries a fee."""
    parties = Parties(platform)
    agent = parties.agent("AG1", 1_000_000)
    alice = parties.customer("Alice")
    bob = parties.customer("Bob")
    parties.fund(agent, alice, 100_000, 100_000)
    parties.send(alice, bob, 50_000)
    return platform.payments.balance(
        platform.payments.operator_wallets(KES)[WalletKind.fee_income]
    ).balance


def test_a_journal_entry_posts_only_when_a_second_operator_approves(
    platform: Platform, approvals: ApprovalService
) -> None:
    fees = _earn_fees(platform)
    assert fees > 0
    entry = _journal(platform, fees)
    filed = approvals.request(entry, MAKER, "fee booked to the wrong account")
    assert (filed.kind, filed.status, filed.change) == (
        ChangeKind.journal_entry,
        "requested",
        entry,
    )
    suspense = platform.payments.operator_wallets(KES)[WalletKind.suspense]
    assert platform.payments.balance(suspense).balance == 0  # nothing moved yet
    with pytest.raises(PaymentError) as own:
        approvals.decide(filed.id, MAKER, approve=True)
    assert own.value.code == "maker_checker_violation"
    decided = approvals.decide(filed.id, CHECKER, approve=True)
    assert (decided.status, decided.decided_by) == ("approved", CHECKER)
    assert decided.outcome is not None
    assert decided.outcome.startswith("txn_")
    assert platform.payments.balance(entry.debit_wallet_id).balance == 0
    assert platform.payments.balance(suspense).balance == fees
    with pytest.raises(PaymentError) as again:
        approvals.decide(filed.id, "operator:third", approve=False)
    assert again.value.code == "change_decided"


def test_a_journal_the_ledger_refuses_leaves_the_request_waiting(
    platform: Platform, approvals: ApprovalService
) -> None:
    fees = _earn_fees(platform)
    filed = approvals.request(_journal(platform, fees + 1), MAKER, "too much")
    with pytest.raises(PaymentError) as refused:
        approvals.decide(filed.id, CHECKER, approve=True)
    assert refused.value.code == "insufficient_funds"
    assert approvals.get(filed.id).status == "requested"  # not marked without being applied


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("customer_wallet", "journal_account_invalid"),
        ("same_account", "self_payment"),
        ("zero", "amount_invalid"),
        ("no_memo", "memo_required"),
    ],
)
def test_a_malformed_journal_entry_is_refused_when_filed(
    platform: Platform, approvals: ApprovalService, change: str, code: str
) -> None:
    entry = _journal(platform, 100)
    customer = Parties(platform).customer("Carol")
    broken = {
        "customer_wallet": dataclasses.replace(entry, credit_wallet_id=customer),
        "same_account": dataclasses.replace(entry, credit_wallet_id=entry.debit_wallet_id),
        "zero": dataclasses.replace(entry, amount=0),
        "no_memo": dataclasses.replace(entry, memo="  "),
    }[change]
    with pytest.raises(PaymentError) as refused:
        approvals.request(broken, MAKER, "why")
    assert refused.value.code == code
    assert approvals.list(None, 0, 10) == []


def test_a_limit_change_applies_on_approval_and_outlives_a_restart(
    platform: Platform, approvals: ApprovalService, database: str, clock: FixedClock
) -> None:
    now = next(
        limits
        for limits in platform.payments.tier_limits()
        if (limits.currency, limits.tier) == (KES, KycTier.basic)
    )
    lowered = dataclasses.replace(now, per_transaction=now.per_transaction // 2)
    filed = approvals.request(lowered, MAKER, "fraud wave on basic accounts")
    assert lowered not in platform.payments.tier_limits()
    approvals.decide(filed.id, CHECKER, approve=True)
    assert lowered in platform.payments.tier_limits()
    platform.close()
    restarted = build_platform(database, clock=clock)
    try:
        assert lowered in restarted.payments.tier_limits()
    finally:
        restarted.close()


def test_a_tariff_change_publishes_the_next_version(
    platform: Platform, approvals: ApprovalService, clock: FixedClock
) -> None:
    schedule = platform.payments.tariff_schedule(KES)
    current = schedule.tariffs[-1]
    following = dataclasses.replace(
        current, version=current.version + 1, effective_from_ns=clock.now_ns()
    )
    with pytest.raises(PaymentError) as stale:
        approvals.request(current, MAKER, "same version again")
    assert stale.value.code == "tariff_version_exists"
    filed = approvals.request(following, MAKER, "new prices")
    rejected = approvals.decide(filed.id, CHECKER, approve=False)
    assert rejected.status == "rejected"
    assert platform.payments.tariff_schedule(KES).tariffs[-1].version == current.version
    again = approvals.request(following, MAKER, "new prices, second try")
    assert approvals.decide(again.id, CHECKER, approve=True).outcome == (
        f"tariff version {following.version}"
    )
    assert platform.payments.tariff_schedule(KES).tariffs[-1] == following


def test_the_database_refuses_a_maker_deciding_their_own_request(
    platform: Platform, approvals: ApprovalService
) -> None:
    """Written around the service, a self-approval still breaks the table's CHECK."""
    filed = approvals.request(_journal(platform, 100), MAKER, "why")

    def self_approve(unit: LedgerUnit) -> None:
        unit.sql.execute(
            "UPDATE change_requests SET status = 'approved', decided_by = requested_by"
            " WHERE id = ?",
            (filed.id,),
        )

    # SQLite and psycopg raise their own errors from inside a unit of work; the store turns
    # one raised at commit into StoreError.
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.CheckViolation, StoreError)):
        platform.ledger.run(self_approve)
    assert approvals.get(filed.id).status == "requested"

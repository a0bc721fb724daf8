"""The payments service end to end over a real ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore, SqliteSession
from hazina.payments.domain.chart import PartyKind, WalletKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import IdempotentReplayError, PaymentError
from hazina.payments.records import IssuedVoucher, PaymentTransaction, TransactionSearch
from hazina.payments.service import IdempotencyRequest, PaymentsService
from tests.conftest import StoreFactory

KES = "KES"


@dataclass
class World:
    payments: PaymentsService
    ledger: LedgerService
    clock: FixedClock
    alice: int
    bob: int
    agent: int
    merchant: int
    biller: int
    bank: int


@pytest.fixture
def world(store_factory: StoreFactory) -> Iterator[World]:
    yield from _world(store_factory())


def _world(store: LedgerStore) -> Iterator[World]:
    clock = FixedClock(1_763_000_000 * 10**9)
    ledger = LedgerService(store, clock)
    payments = PaymentsService(ledger, clock, IdSource(clock, random.Random(7)))
    payments.setup_currency(KES)

    def wallet(kind: PartyKind, name: str, **kwargs: object) -> int:
        party = payments.register_party(kind, name, [KES], **kwargs)  # type: ignore[arg-type]
        return payments.wallet_of(party.id, KES).id

    alice = wallet(PartyKind.customer, "Alice", phone="+254712000001", kyc_tier=KycTier.full)
    bob = wallet(PartyKind.customer, "Bob", phone="+254712000002", kyc_tier=KycTier.basic)
    agent = wallet(PartyKind.agent, "Agent One", code="AG001")
    merchant = wallet(PartyKind.merchant, "Duka", code="M001")
    biller = wallet(PartyKind.biller, "Power Co", code="B001")
    bank = wallet(PartyKind.bank, "Bank", code="BNK")
    payments.purchase_float(agent, 10_000_000, "deposit slip 1")
    payments.cash_in(agent, alice, 2_000_000, KES)
    yield World(payments, ledger, clock, alice, bob, agent, merchant, biller, bank)
    ledger.close()


def test_wallet_of_code_is_the_two_step_look_up_in_one(world: World) -> None:
    payments = world.payments
    for code in ("AG001", "M001", "B001", "BNK"):
        expected = payments.wallet_of(payments.find_party(code=code).id, KES)
        assert payments.wallet_of_code(code, KES) == expected
    with pytest.raises(PaymentError) as missing_party:
        payments.wallet_of_code("NOPE", KES)
    assert missing_party.value.code == "party_not_found"
    with pytest.raises(PaymentError) as missing_wallet:
        payments.wallet_of_code("M001", "UGX")
    assert missing_wallet.value.code == "wallet_not_found"


def _balance(world: World, wallet_id: int) -> int:
    return world.payments.balance(wallet_id).balance


def _ledger_balances_to_zero(world: World) -> None:
    accounts = world.ledger.store.all_accounts()
    assert sum(a.debits_posted for a in accounts) == sum(a.credits_posted for a in accounts)
    assert sum(a.debits_pending for a in accounts) == sum(a.credits_pending for a in accounts)


def test_cash_in_p2p_merchant_bill_and_cash_out(world: World) -> None:
    payments = world.payments
    assert _balance(world, world.alice) == 2_000_000
    sent = payments.send_p2p(world.alice, "+254712000002", 100_000, KES, note="rent")
    assert isinstance(sent, PaymentTransaction)
    assert sent.status == "completed"
    assert _balance(world, world.bob) == 100_000
    assert _balance(world, world.alice) == 2_000_000 - 100_000 - sent.fee
    paid = payments.pay_merchant(world.alice, world.merchant, 50_000, KES, "order 7")
    discount = 50_000 * 50 // 10_000  # the default tariff's 0.5% merchant discount
    assert _balance(world, world.merchant) == 50_000 - discount
    bill = payments.pay_bill(world.alice, world.biller, "ACC-42", 30_000, KES)
    assert bill.details == {"bill_account": "ACC-42"}
    out = payments.cash_out(world.bob, world.agent, 60_000, KES)
    assert out.fee > 0
    assert _balance(world, world.bob) == 100_000 - 60_000 - out.fee
    assert len(paid.legs) >= 2
    _ledger_balances_to_zero(world)


def test_insufficient_funds_moves_nothing(world: World) -> None:
    before = _balance(world, world.bob)
    with pytest.raises(PaymentError) as caught:
        world.payments.cash_out(world.bob, world.agent, 10_000, KES)
    assert caught.value.code == "insufficient_funds"
    assert caught.value.iso20022 == "AM04"
    assert _balance(world, world.bob) == before
    assert world.payments.list_transactions(world.bob, 0, 10) == []


def test_kyc_limits_refuse_with_a_reason(world: World) -> None:
    # Bob is tier 1: at most KES 300,000 balance.
    with pytest.raises(PaymentError) as caught:
        world.payments.cash_in(world.agent, world.bob, 30_000_001, KES)
    assert caught.value.code in {"limit_max_balance", "amount_out_of_band"}
    world.payments.purchase_float(world.agent, 20_000_000, "deposit slip 2")
    world.payments.cash_in(world.agent, world.bob, 10_000_000, KES)
    with pytest.raises(PaymentError) as per_transaction:
        world.payments.send_p2p(world.bob, "+254712000001", 10_000_000, KES)
    assert per_transaction.value.code == "limit_per_transaction"
    assert "KES 100,000.00" in per_transaction.value.message


def test_daily_and_monthly_usage_count_every_outflow_and_refuse_past_the_day(
    world: World,
) -> None:
    # Bob is tier 1: at most KES 100,000 a payment, 150,000 a day, 1,000,000 a month.
    world.payments.purchase_float(world.agent, 30_000_000, "deposit slip 2")
    world.payments.cash_in(world.agent, world.bob, 25_000_000, KES)
    first = world.payments.send_p2p(world.bob, "+254712000001", 9_000_000, KES)
    assert isinstance(first, PaymentTransaction)
    with pytest.raises(PaymentError) as caught:
        world.payments.send_p2p(world.bob, "+254712000001", 7_000_000, KES)
    assert caught.value.code == "limit_daily_volume"
    world.clock.advance_seconds(86_400)  # the next day (same month: 2025-11-13 -> 14)
    second = world.payments.send_p2p(world.bob, "+254712000001", 7_000_000, KES)
    assert isinstance(second, PaymentTransaction)
    rows = world.ledger.store.reader().fetch_all(
        "SELECT period, outflow FROM wallet_usage WHERE wallet_id = ? ORDER BY period",
        (world.bob,),
    )
    spent_first = first.amount + first.fee
    spent_second = second.amount + second.fee
    assert rows == [
        ("D2025-11-13", spent_first),
        ("D2025-11-14", spent_second),
        ("M2025-11", spent_first + spent_second),
    ]


def test_frozen_wallet_is_refused(world: World) -> None:
    bob_party = world.payments.get_wallet(world.bob).party_id
    world.payments.set_party_status(bob_party, "frozen", "ops")
    with pytest.raises(PaymentError) as caught:
        world.payments.send_p2p(world.alice, "+254712000002", 1_000, KES)
    assert caught.value.code == "wallet_frozen"


def test_a_party_with_money_cannot_be_closed_until_its_wallets_are_empty(world: World) -> None:
    payments = world.payments
    alice_party = payments.get_wallet(world.alice).party_id
    held = _balance(world, world.alice)
    assert held > 0
    with pytest.raises(PaymentError) as caught:
        payments.set_party_status(alice_party, "closed", "ops")
    assert caught.value.code == "party_has_money"
    assert payments.get_party(alice_party).status == "active"
    assert _balance(world, world.alice) == held
    # A party whose wallets are empty closes.
    carol = payments.register_party(PartyKind.customer, "Carol", [KES], phone="+254712000077")
    assert payments.set_party_status(carol.id, "closed", "ops").status == "closed"


def test_voucher_to_an_unregistered_number_is_claimed_later(world: World) -> None:
    payments = world.payments
    issued = payments.send_p2p(world.alice, "+254712000009", 20_000, KES)
    assert isinstance(issued, IssuedVoucher)
    assert issued.voucher.status == "issued"
    carol = payments.register_party(PartyKind.customer, "Carol", [KES], phone="+254712000009")
    carol_wallet = payments.wallet_of(carol.id, KES).id
    with pytest.raises(PaymentError) as wrong:
        payments.claim_voucher("0000000000", carol_wallet)
    assert wrong.value.code == "voucher_not_found"
    claim = payments.claim_voucher(issued.code, carol_wallet)
    assert claim.amount == 20_000
    assert _balance(world, carol_wallet) == 20_000
    with pytest.raises(PaymentError) as again:
        payments.claim_voucher(issued.code, carol_wallet)
    assert again.value.code == "voucher_settled"


def test_unclaimed_voucher_is_refunded_after_expiry(world: World) -> None:
    issued = world.payments.send_p2p(world.alice, "+254712000010", 20_000, KES)
    assert isinstance(issued, IssuedVoucher)
    before = _balance(world, world.alice)
    world.clock.advance_ns(8 * 86_400 * 10**9)
    assert world.payments.refund_expired_vouchers() == 1
    assert _balance(world, world.alice) == before + 20_000
    assert world.payments.refund_expired_vouchers() == 0


def test_bank_transfer_is_held_until_the_bank_answers(world: World) -> None:
    payments = world.payments
    before = _balance(world, world.alice)
    held = payments.send_to_bank(world.alice, world.bank, "ACC-1", 100_000, KES)
    assert held.status == "pending"
    balance = payments.balance(world.alice)
    assert balance.pending_out == 100_000 + held.fee
    assert balance.available == before - 100_000 - held.fee
    done = payments.settle_bank_transfer(held.id, succeeded=True)
    assert done.status == "completed"
    assert _balance(world, world.alice) == before - 100_000 - held.fee
    failed = payments.send_to_bank(world.alice, world.bank, "ACC-1", 50_000, KES)
    assert payments.settle_bank_transfer(failed.id, succeeded=False).status == "failed"
    assert _balance(world, world.alice) == before - 100_000 - held.fee
    with pytest.raises(PaymentError) as twice:
        payments.settle_bank_transfer(failed.id, succeeded=True)
    assert twice.value.code == "transaction_not_pending"
    timed_out = payments.send_to_bank(world.alice, world.bank, "ACC-1", 40_000, KES)
    world.clock.advance_ns(86_401 * 10**9)
    assert payments.fail_expired_bank_transfers() == 1
    assert payments.get_transaction(timed_out.id).status == "failed"
    assert payments.balance(world.alice).pending_out == 0
    _ledger_balances_to_zero(world)


def test_reversal_needs_a_second_operator(world: World) -> None:
    payments = world.payments
    sent = payments.send_p2p(world.alice, "+254712000002", 70_000, KES)
    assert isinstance(sent, PaymentTransaction)
    alice_before = _balance(world, world.alice)
    request = payments.request_reversal(sent.id, "maker", "sent to the wrong number")
    with pytest.raises(PaymentError) as same:
        payments.decide_reversal(request.id, "maker", approve=True)
    assert same.value.code == "maker_checker_violation"
    approved = payments.decide_reversal(request.id, "checker", approve=True)
    assert approved.status == "approved"
    assert approved.reversal_id is not None
    assert _balance(world, world.bob) == 0
    assert _balance(world, world.alice) == alice_before + 70_000 + sent.fee
    assert payments.get_transaction(sent.id).status == "reversed"
    with pytest.raises(PaymentError) as twice:
        payments.request_reversal(sent.id, "maker", "again")
    assert twice.value.code == "transaction_not_reversible"
    _ledger_balances_to_zero(world)


def test_reversal_refused_when_the_recipient_spent_the_money(world: World) -> None:
    payments = world.payments
    sent = payments.send_p2p(world.alice, "+254712000002", 70_000, KES)
    assert isinstance(sent, PaymentTransaction)
    payments.cash_out(world.bob, world.agent, 60_000, KES)
    request = payments.request_reversal(sent.id, "maker", "dispute")
    with pytest.raises(PaymentError) as caught:
        payments.decide_reversal(request.id, "checker", approve=True)
    assert caught.value.code == "insufficient_funds"
    assert payments.get_reversal_request(request.id).status == "requested"


def test_idempotency_key_replays_and_refuses_a_different_body(world: World) -> None:
    def key(request_hash: str) -> IdempotencyRequest:
        return IdempotencyRequest("partner-1", "key-1", request_hash, 201, lambda t: f"{t.id}")

    first = world.payments.pay_merchant(
        world.alice, world.merchant, 1_000, KES, idempotency=key("h1")
    )
    with pytest.raises(IdempotentReplayError) as replay:
        world.payments.pay_merchant(world.alice, world.merchant, 1_000, KES, idempotency=key("h1"))
    assert replay.value.body == str(first.id)
    assert replay.value.status == 201
    with pytest.raises(PaymentError) as different:
        world.payments.pay_merchant(world.alice, world.merchant, 2_000, KES, idempotency=key("h2"))
    assert different.value.code == "idempotency_key_reused"
    assert len(world.payments.list_transactions(world.merchant, 0, 10)) == 1


def test_statement_has_a_running_balance(world: World) -> None:
    payments = world.payments
    payments.send_p2p(world.alice, "+254712000002", 10_000, KES)
    payments.send_p2p(world.alice, "+254712000002", 20_000, KES)
    entries = payments.statement(world.bob, 0, 50)
    assert [e.amount for e in entries] == [10_000, 20_000]
    assert [e.balance_after for e in entries] == [10_000, 30_000]
    assert all(e.direction == "credit" and e.transaction_type == "p2p" for e in entries)
    alice_entries = payments.statement(world.alice, 0, 50)
    assert alice_entries[-1].balance_after == _balance(world, world.alice)
    page = payments.statement(world.alice, alice_entries[0].timestamp_ns, 50)
    assert page == alice_entries[1:]


def test_operator_accounts_mirror_the_emoney_in_circulation(world: World) -> None:
    world.payments.send_p2p(world.alice, "+254712000002", 10_000, KES)
    issued = world.payments.balance(
        world.payments._operator_accounts(KES)[WalletKind.emoney_issued]
    ).balance
    assert issued == 10_000_000  # the agent's float purchase
    _ledger_balances_to_zero(world)


def test_a_wallets_transactions_page_by_page_equal_a_filter_of_all(world: World) -> None:
    """Both sides of a wallet (paid and received), in id order, a page at a time, with and
    without a status filter: the same as filtering every transaction."""
    payments = world.payments
    for round_ in range(4):
        payments.send_p2p(world.alice, "+254712000002", 10_000 + round_, KES)
        payments.pay_merchant(world.alice, world.merchant, 5_000 + round_, KES, f"o{round_}")
        payments.send_p2p(world.bob, "+254712000001", 1_000 + round_, KES)
        payments.cash_out(world.bob, world.agent, 5_000 + round_, KES)
    everything = payments.list_transactions(None, 0, 1_000)
    for wallet_id in (world.alice, world.bob, world.merchant, world.agent):
        for status in (None, "completed", "failed"):
            expected = [
                t
                for t in everything
                if wallet_id in (t.payer_wallet, t.payee_wallet)
                and (status is None or t.status == status)
            ]
            found: list[PaymentTransaction] = []
            after = 0
            while True:
                page = payments.list_transactions(wallet_id, after, 3, status)
                assert len(page) <= 3
                found += page
                if len(page) < 3:
                    break
                after = page[-1].id
            assert found == expected, (wallet_id, status)
            if status != "failed":
                assert expected, (wallet_id, status)  # every wallet here paid or was paid
    # Bob: four P2P received, four sent, four cash-outs.
    assert len(payments.list_transactions(world.bob, 0, 100)) == 12
    # The console's search: newest first, before a cursor, with type and status filters.
    for wallet_id in (None, world.alice, world.bob, world.merchant):
        for type_ in (None, "p2p", "merchant_payment"):
            search = TransactionSearch(type=type_, status="completed", wallet_id=wallet_id)
            expected = [
                t
                for t in reversed(everything)
                if (wallet_id is None or wallet_id in (t.payer_wallet, t.payee_wallet))
                and (type_ is None or t.type == type_)
                and t.status == "completed"
            ]
            found = []
            before: int | None = None
            while True:
                page = payments.search_transactions(search, before, 3)
                found += page
                if len(page) < 3:
                    break
                before = page[-1].id
            assert found == expected, (wallet_id, type_)


@pytest.mark.parametrize("status", [None, "completed"])
def test_a_wallets_page_seeks_the_wallet_indexes_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str | None
) -> None:
    """Without statistics SQLite could sort all of a busy wallet's transactions (an OR of the
    two sides) or walk every completed one (the status index) to return one page.
    (PostgreSQL plans from its own statistics.)"""
    store = SqliteLedgerStore(tmp_path / "ledger.sqlite3")
    worlds = _world(store)
    world = next(worlds)
    try:
        seen: list[tuple[str, tuple[object, ...]]] = []
        reader = store.reader

        def recording() -> SqliteSession:
            session = reader()
            fetch_all = session.fetch_all

            def record(sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
                seen.append((sql, tuple(parameters)))
                return fetch_all(sql, parameters)  # type: ignore[arg-type]

            session.fetch_all = record  # type: ignore[method-assign]
            return session

        monkeypatch.setattr(store, "reader", recording)
        world.payments.list_transactions(world.alice, 0, 10, status)
        [(sql, parameters)] = seen
        plan = " | ".join(
            row[3] for row in store._reader().execute("EXPLAIN QUERY PLAN " + sql, parameters)
        )
        assert "USING INDEX payment_transactions_payer (payer_wallet=? AND id>?)" in plan, plan
        assert "USING INDEX payment_transactions_payee (payee_wallet=? AND id>?)" in plan, plan
        assert "payment_transactions_pending" not in plan, plan
        assert "MULTI-INDEX OR" not in plan, plan  # it gathers, then sorts, every match
    finally:
        worlds.close()

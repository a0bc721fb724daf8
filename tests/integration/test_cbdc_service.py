"""The CBDC service over a real ledger and payments, on SQLite and PostgreSQL: issuance against
reserves, distribution, the waterfall, conversions, conditional payments, offline devices
(honest, replay, forgery, double spend) and the audit, with nothing moved by a refusal."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hazina.cbdc.domain.chart import CbdcConfig, ParticipantKind, Tier
from hazina.cbdc.offline import DeviceWallet, public_bytes
from hazina.cbdc.records import Participant
from hazina.cbdc.service import CbdcService
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import IdempotentReplayError, PaymentError
from hazina.payments.service import IdempotencyRequest, PaymentsService
from tests.conftest import StoreFactory

KES = "KES"
CONFIG = CbdcConfig(anonymous_holding_max=100_000, full_kyc_holding_max=1_000_000,
                    offline_balance_max=50_000)  # fmt: skip


@dataclass
class World:
    cbdc: CbdcService
    payments: PaymentsService
    ledger: LedgerService
    clock: FixedClock
    bank: Participant
    alice: int  # full-KYC wallet, linked bank account
    bob: int  # anonymous wallet, linked bank account
    carol: int  # anonymous wallet, no linked account
    emoney: int  # Alice's e-money wallet

    def now_s(self) -> int:
        return self.clock.now_ns() // 10**9

    def balance(self, wallet: int) -> int:
        return self.cbdc.get_wallet(wallet).balance

    def snapshot(self) -> tuple[tuple[int, int, int, int, int], ...]:
        return tuple(
            sorted(
                (a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
                for a in self.ledger.store.all_accounts()
            )
        )


@pytest.fixture
def world(store_factory: StoreFactory) -> Iterator[World]:
    clock = FixedClock(1_763_000_000 * 10**9)
    ledger = LedgerService(store_factory(), clock)
    ids = IdSource(clock, random.Random(7))
    payments = PaymentsService(ledger, clock, ids)
    payments.setup_currency(KES)
    cbdc = CbdcService(ledger, clock, ids, payments, CONFIG)
    bank = cbdc.register_participant("BNK1", "Bank One", ParticipantKind.bank)
    cbdc.deposit_reserves(bank.id, 10_000_000)
    cbdc.mint(bank.id, 5_000_000)
    party = payments.register_party(
        PartyKind.customer, "Alice", [KES], phone="+254712000001", kyc_tier=KycTier.full
    )
    emoney = payments.wallet_of(party.id, KES).id
    agent = payments.register_party(PartyKind.agent, "Agent", [KES], code="AG1")
    agent_wallet = payments.wallet_of(agent.id, KES).id
    payments.purchase_float(agent_wallet, 1_000_000, "float")
    payments.cash_in(agent_wallet, emoney, 200_000, KES)
    alice = cbdc.open_wallet(bank.id, "alice", Tier.full_kyc, "ACC-A", emoney).id
    bob = cbdc.open_wallet(bank.id, "bob", Tier.anonymous, "ACC-B").id
    carol = cbdc.open_wallet(bank.id, "carol", Tier.anonymous).id
    cbdc.distribute(alice, 500_000)
    yield World(cbdc, payments, ledger, clock, bank, alice, bob, carol, emoney)
    assert cbdc.audit().ok, cbdc.audit().checks
    ledger.close()


def _refused(world: World, code: str, action: object) -> None:
    """`action` is refused with `code` and moves nothing."""
    before = world.snapshot()
    with pytest.raises(PaymentError) as caught:
        action()  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    assert world.snapshot() == before


def test_minting_is_against_reserves_and_redeeming_returns_them(world: World) -> None:
    cbdc, bank = world.cbdc, world.bank
    view = cbdc.get_participant(bank.id)
    assert (view.reserves, view.holding) == (5_000_000, 4_500_000)
    _refused(world, "insufficient_reserves", lambda: cbdc.mint(bank.id, 5_000_001))
    cbdc.redeem(bank.id, 1_000_000)
    _refused(world, "insufficient_holding", lambda: cbdc.redeem(bank.id, 3_500_001))
    view = cbdc.get_participant(bank.id)
    assert (view.reserves, view.holding) == (6_000_000, 3_500_000)
    overview = cbdc.overview()
    assert (overview.issued, overview.redeemed, overview.circulation) == (
        5_000_000, 1_000_000, 4_000_000,
    )  # fmt: skip
    assert overview.backing == overview.circulation
    report = cbdc.audit()
    assert report.ok
    assert report.circulation == report.issued - report.redeemed


def test_bad_input_gets_specific_errors(world: World) -> None:
    cbdc = world.cbdc
    _refused(world, "amount_invalid", lambda: cbdc.mint(world.bank.id, 0))
    _refused(world, "amount_invalid", lambda: cbdc.pay(world.alice, world.bob, -5))
    _refused(world, "participant_not_found", lambda: cbdc.mint(12345, 100))
    _refused(world, "cbdc_wallet_not_found", lambda: cbdc.pay(world.alice, 999, 100))
    _refused(world, "self_payment", lambda: cbdc.pay(world.alice, world.alice, 100))
    _refused(world, "insufficient_funds", lambda: cbdc.pay(world.bob, world.alice, 1))
    _refused(world, "participant_code_taken",
             lambda: cbdc.register_participant("BNK1", "Again", ParticipantKind.bank))  # fmt: skip
    _refused(world, "holder_invalid", lambda: cbdc.open_wallet(world.bank.id, "", Tier.anonymous))
    _refused(world, "emoney_wallet_not_linked", lambda: cbdc.convert(world.bob, 100, True))
    _refused(world, "public_key_invalid", lambda: cbdc.register_device(world.bob, b"x" * 31))


def test_distribution_stops_at_the_holding_limit(world: World) -> None:
    _refused(world, "holding_limit_exceeded", lambda: world.cbdc.distribute(world.bob, 100_001))
    world.cbdc.distribute(world.bob, 100_000)
    world.cbdc.deposit(world.bob, 40_000)
    assert world.balance(world.bob) == 60_000


def test_the_waterfall_sweeps_the_excess_to_the_linked_bank(world: World) -> None:
    cbdc = world.cbdc
    holding = cbdc.get_participant(world.bank.id).holding
    operation = cbdc.pay(world.alice, world.bob, 130_000)
    assert (operation.amount, operation.swept) == (130_000, 30_000)
    assert world.balance(world.bob) == 100_000
    assert world.balance(world.alice) == 370_000
    assert cbdc.get_participant(world.bank.id).holding == holding + 30_000
    # Full: everything further is swept; no linked account: refused whole.
    assert cbdc.pay(world.alice, world.bob, 5_000).swept == 5_000
    _refused(world, "holding_limit_exceeded", lambda: cbdc.pay(world.alice, world.carol, 100_001))
    assert cbdc.pay(world.alice, world.carol, 100_000).swept == 0


def test_conversion_between_emoney_and_cbdc_is_one_chain_over_both_ledgers(world: World) -> None:
    cbdc, payments = world.cbdc, world.payments
    emoney_before = payments.balance(world.emoney).balance
    cbdc.convert(world.alice, 150_000, to_cbdc=True)
    assert payments.balance(world.emoney).balance == emoney_before - 150_000
    assert world.balance(world.alice) == 650_000
    assert cbdc.get_participant(world.bank.id).conversion == 150_000
    cbdc.convert(world.alice, 50_000, to_cbdc=False)
    assert payments.balance(world.emoney).balance == emoney_before - 100_000
    # The e-money wallet is short, or the CBDC wallet is: neither ledger moves.
    _refused(world, "insufficient_funds", lambda: cbdc.convert(world.alice, 100_001, True))
    _refused(world, "insufficient_funds", lambda: cbdc.convert(world.alice, 600_001, False))


def test_idempotency_keys_replay_and_refuse_a_different_request(world: World) -> None:
    def key(request_hash: str) -> IdempotencyRequest:
        return IdempotencyRequest("tests", "k1", request_hash, 201, lambda op: str(op.id))

    first = world.cbdc.pay(world.alice, world.bob, 1_000, key("a"))
    with pytest.raises(IdempotentReplayError) as replay:
        world.cbdc.pay(world.alice, world.bob, 1_000, key("a"))
    assert replay.value.body == str(first.id)
    _refused(
        world, "idempotency_key_reused", lambda: world.cbdc.pay(world.alice, world.bob, 2, key("b"))
    )
    assert world.balance(world.bob) == 1_000


def test_a_conditional_payment_waits_for_its_time_and_its_confirmer(world: World) -> None:
    cbdc, clock = world.cbdc, world.clock
    release_at = clock.now_ns() + 3_600 * 10**9
    payment = cbdc.create_conditional(
        world.alice, world.bob, 20_000, release_at_ns=release_at, confirmer="api_key:courier",
        expires_in_s=86_400, created_by="api_key:shop",
    )  # fmt: skip
    assert payment.status == "pending"
    assert cbdc.get_wallet(world.alice).held == 20_000
    _refused(world, "insufficient_funds", lambda: cbdc.pay(world.alice, world.bob, 480_001))
    _refused(world, "not_the_confirmer", lambda: cbdc.confirm(payment.id, "api_key:shop"))
    assert cbdc.confirm(payment.id, "api_key:courier").status == "pending"  # time not yet
    assert cbdc.release_due() == []
    clock.advance_seconds(3_600)
    [released] = cbdc.release_due()
    assert (released.id, released.status) == (payment.id, "released")
    assert world.balance(world.bob) == 20_000
    assert cbdc.release_due() == []
    _refused(world, "conditional_payment_decided", lambda: cbdc.cancel(payment.id, "api_key:shop"))


def test_a_conditional_payment_released_over_the_limit_is_swept(world: World) -> None:
    cbdc = world.cbdc
    cbdc.distribute(world.bob, 90_000)
    payment = cbdc.create_conditional(world.alice, world.bob, 30_000, confirmer="api_key:b",
                                      expires_in_s=60, created_by="api_key:a")  # fmt: skip
    released = cbdc.confirm(payment.id, "api_key:b")
    assert (released.status, released.swept) == ("released", 20_000)
    assert world.balance(world.bob) == 100_000


def test_a_conditional_payment_expires_or_is_cancelled_back_to_the_payer(world: World) -> None:
    cbdc = world.cbdc
    expiring = cbdc.create_conditional(world.alice, world.bob, 10_000, confirmer="api_key:x",
                                       expires_in_s=60, created_by="api_key:a")  # fmt: skip
    cancelled = cbdc.create_conditional(world.alice, world.bob, 5_000, confirmer="api_key:x",
                                        expires_in_s=600, created_by="api_key:a")  # fmt: skip
    _refused(world, "not_a_party", lambda: cbdc.cancel(cancelled.id, "api_key:stranger"))
    assert cbdc.cancel(cancelled.id, "api_key:x").status == "cancelled"
    world.clock.advance_seconds(61)
    world.ledger.expire_pending_transfers()
    assert cbdc.get_conditional(expiring.id).status == "expired"
    _refused(world, "conditional_payment_expired", lambda: cbdc.confirm(expiring.id, "api_key:x"))
    assert cbdc.get_wallet(world.alice).held == 0
    assert world.balance(world.alice) == 500_000
    late = world.clock.now_ns() + 120 * 10**9
    for bad in (
        lambda: cbdc.create_conditional(world.alice, world.bob, 1, expires_in_s=60, created_by="a"),
        lambda: cbdc.create_conditional(world.alice, world.bob, 1, confirmer="x", expires_in_s=0,
                                        created_by="a"),
        lambda: cbdc.create_conditional(world.alice, world.bob, 1, release_at_ns=late,
                                        expires_in_s=60, created_by="a"),
    ):  # fmt: skip
        with pytest.raises(PaymentError) as caught:
            bad()
        assert caught.value.code in {"condition_missing", "expiry_invalid", "release_time_invalid"}


def _devices(world: World, *wallets: int) -> list[tuple[DeviceWallet, int]]:
    devices = []
    for seed, wallet in enumerate(wallets, start=10):
        key = Ed25519PrivateKey.from_private_bytes(random.Random(seed).randbytes(32))
        device = world.cbdc.register_device(wallet, public_bytes(key))
        devices.append(
            (DeviceWallet(key, world.cbdc.issuer_public_key(), CONFIG.offline_balance_max),
             device.id)
        )  # fmt: skip
    return devices


def test_offline_value_goes_device_to_device_and_is_redeemed_once(world: World) -> None:
    cbdc = world.cbdc
    (alice, alice_id), (bob, bob_id) = _devices(world, world.alice, world.bob)
    load = cbdc.load_device(alice_id, 12_345)
    assert sum(n.token.amount for n in load.notes) == 12_345
    assert world.balance(world.alice) == 500_000 - 12_345
    alice.receive(load.notes, world.now_s())
    bob.receive(alice.pay(10_000, bob.public), world.now_s())
    sync = cbdc.sync_device(bob_id, list(bob.notes.values()))
    assert (sync.credited, [o.status for o in sync.outcomes]) == (10_000, ["redeemed"])
    assert world.balance(world.bob) == 10_000
    again = cbdc.sync_device(bob_id, list(bob.notes.values()))
    assert (again.credited, [o.status for o in again.outcomes]) == (0, ["replayed"])
    # Alice takes her unspent notes back online.
    back = cbdc.sync_device(alice_id, list(alice.notes.values()))
    assert back.credited == 2_345
    assert cbdc.offline_outstanding(alice_id) == 0
    assert world.balance(world.alice) == 490_000


def test_offline_caps_forgeries_and_strangers_are_refused(world: World) -> None:
    cbdc = world.cbdc
    (alice, alice_id), (bob, bob_id) = _devices(world, world.alice, world.bob)
    _refused(world, "offline_cap_exceeded", lambda: cbdc.load_device(alice_id, 10**18))
    cbdc.load_device(alice_id, 40_000)
    _refused(world, "offline_cap_exceeded", lambda: cbdc.load_device(alice_id, 10_001))
    load = cbdc.load_device(alice_id, 10_000)
    alice.receive(load.notes, world.now_s())
    [note] = alice.pay(10_000, bob.public)
    inflated = replace(note, token=replace(note.token, amount=20_000))
    sync = cbdc.sync_device(bob_id, [inflated])
    assert [o.status for o in sync.outcomes] == ["token_forged"]
    sync = cbdc.sync_device(alice_id, [note])  # Alice no longer holds it
    assert [o.status for o in sync.outcomes] == ["not_the_holder"]
    assert sync.credited == 0
    assert cbdc.sync_device(bob_id, [note]).credited == 10_000


def test_a_double_spend_is_recovered_from_the_offender_or_flagged(world: World) -> None:
    cbdc = world.cbdc
    (mallory, mallory_id), (bob, bob_id), (carol, carol_id) = _devices(
        world, world.alice, world.bob, world.carol
    )
    load = cbdc.load_device(mallory_id, 30_000)
    mallory.receive(load.notes, world.now_s())
    clone = DeviceWallet(mallory.key, mallory.issuer, mallory.cap, dict(mallory.notes))
    bob.receive(mallory.pay(30_000, bob.public), world.now_s())
    carol.receive(clone.pay(30_000, carol.public), world.now_s())
    assert cbdc.sync_device(bob_id, list(bob.notes.values())).credited == 30_000
    alice_before = world.balance(world.alice)
    sync = cbdc.sync_device(carol_id, list(carol.notes.values()))
    assert {o.status for o in sync.outcomes} == {"recovered"}
    assert {o.offender for o in sync.outcomes} == {mallory.public}
    assert sync.credited == 30_000
    assert world.balance(world.alice) == alice_before - 30_000  # taken from the offender
    assert world.balance(world.carol) == 30_000
    assert cbdc.get_device(mallory_id).status == "revoked"
    _refused(world, "device_revoked", lambda: cbdc.load_device(mallory_id, 100))
    assert sum(d[3] for d in cbdc.double_spends()) == 30_000


def test_a_double_spend_beyond_the_offenders_balance_is_flagged(world: World) -> None:
    cbdc = world.cbdc
    cbdc.distribute(world.carol, 20_000)
    (mallory, mallory_id), (bob, bob_id) = _devices(world, world.carol, world.bob)
    mallory.receive(cbdc.load_device(mallory_id, 20_000).notes, world.now_s())
    clone = DeviceWallet(mallory.key, mallory.issuer, mallory.cap, dict(mallory.notes))
    bob.receive(mallory.pay(20_000, bob.public), world.now_s())
    # Mallory redeems the clone's copy first, then moves the money out of reach.
    assert cbdc.sync_device(mallory_id, list(clone.notes.values())).credited == 20_000
    cbdc.deposit(world.carol, 15_000)
    sync = cbdc.sync_device(bob_id, list(bob.notes.values()))
    assert {o.status for o in sync.outcomes} == {"recovered"}
    assert (sync.credited, sum(o.flagged for o in sync.outcomes)) == (5_000, 15_000)
    assert world.balance(world.carol) == 0
    assert world.balance(world.bob) == 5_000
    [(_, offender, amount, recovered, flagged)] = cbdc.double_spends()
    assert (offender, recovered) == (mallory.public.hex(), 5_000)
    assert amount - recovered == flagged == 15_000


def test_a_holder_who_redeems_what_it_spent_is_caught_and_paid_nothing(world: World) -> None:
    cbdc = world.cbdc
    (mallory, mallory_id), (bob, bob_id) = _devices(world, world.alice, world.bob)
    mallory.receive(cbdc.load_device(mallory_id, 5_000).notes, world.now_s())
    clone = DeviceWallet(mallory.key, mallory.issuer, mallory.cap, dict(mallory.notes))
    bob.receive(mallory.pay(5_000, bob.public), world.now_s())
    assert cbdc.sync_device(bob_id, list(bob.notes.values())).credited == 5_000
    sync = cbdc.sync_device(mallory_id, list(clone.notes.values()))
    assert {o.status for o in sync.outcomes} == {"double_spend_by_holder"}
    assert sync.credited == 0
    assert cbdc.get_device(mallory_id).status == "revoked"

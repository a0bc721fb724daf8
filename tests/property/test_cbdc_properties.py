"""Properties of the CBDC over random sequences of operations: issuance and redemption,
distribution, deposits, payments with the waterfall, conditional payments (created, confirmed,
cancelled, expired) and offline loads and syncs, many of them refused.

After every step, whatever succeeded or was refused:
- circulation = issued - redeemed, with issued and redeemed as the test itself counted them
  from the operations that succeeded (an oracle independent of the service's books);
- the audit holds (balances held = circulation = fiat backing, offline pool = outstanding
  tokens, no wallet over its tier's limit);
- the wallets, the participant and the offline pool together hold the whole circulation.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hazina.cbdc.domain.chart import CbdcConfig, ParticipantKind, Tier
from hazina.cbdc.offline import DeviceWallet, public_bytes
from hazina.cbdc.service import CbdcService
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.ledger.store.sqlite import SqliteLedgerStore
from hazina.payments.errors import PaymentError
from hazina.payments.service import PaymentsService

CONFIG = CbdcConfig(anonymous_holding_max=5_000, full_kyc_holding_max=20_000,
                    offline_balance_max=3_000)  # fmt: skip
TIERS = [(Tier.anonymous, "ACC-0"), (Tier.anonymous, None), (Tier.full_kyc, "ACC-2")]

amounts = st.integers(min_value=1, max_value=12_000)
wallet = st.integers(min_value=0, max_value=len(TIERS) - 1)
operation = st.one_of(
    st.tuples(st.just("mint"), amounts),
    st.tuples(st.just("redeem"), amounts),
    st.tuples(st.just("distribute"), wallet, amounts),
    st.tuples(st.just("deposit"), wallet, amounts),
    st.tuples(st.just("pay"), wallet, wallet, amounts),
    st.tuples(st.just("escrow"), wallet, wallet, amounts, st.booleans()),
    st.tuples(st.just("decide"), st.integers(0, 5), st.sampled_from(["confirm", "cancel"])),
    st.tuples(st.just("time"), st.integers(1, 120)),
    st.tuples(st.just("load"), wallet, st.integers(1, 4_000)),
    st.tuples(st.just("sync"), wallet),
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(operation, min_size=1, max_size=25))
@example([("mint", 12_000), ("distribute", 0, 5_000), ("pay", 2, 0, 1), ("redeem", 12_000)])
@example([("mint", 9_000), ("distribute", 2, 9_000), ("pay", 2, 0, 7_000), ("load", 2, 2_000),
          ("sync", 2), ("sync", 2)])  # fmt: skip
@example([("mint", 5_000), ("distribute", 2, 5_000),
          ("escrow", 2, 0, 3_000, True), ("time", 90), ("decide", 0, "confirm")])  # fmt: skip
def test_circulation_is_issued_less_redeemed(operations: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        clock = FixedClock(1_763_000_000 * 10**9)
        ledger = LedgerService(SqliteLedgerStore(Path(directory) / "cbdc.sqlite3"), clock)
        try:
            _run(ledger, clock, operations)
        finally:
            ledger.close()


def _run(ledger: LedgerService, clock: FixedClock, operations: list[tuple[Any, ...]]) -> None:
    rng = random.Random(3)
    ids = IdSource(clock, rng)
    cbdc = CbdcService(ledger, clock, ids, PaymentsService(ledger, clock, ids), CONFIG)
    bank = cbdc.register_participant("BNK", "Bank", ParticipantKind.bank)
    cbdc.deposit_reserves(bank.id, 10**9)
    wallets = [cbdc.open_wallet(bank.id, f"h{i}", t, a).id for i, (t, a) in enumerate(TIERS)]
    devices = []
    for wallet_id in wallets:
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        device = cbdc.register_device(wallet_id, public_bytes(key))
        devices.append((device.id, DeviceWallet(key, cbdc.issuer_public_key(), 10**9)))
    escrows: list[int] = []
    issued = redeemed = 0
    for step in operations:
        kind = step[0]
        try:
            if kind == "mint":
                cbdc.mint(bank.id, step[1])
                issued += step[1]
            elif kind == "redeem":
                cbdc.redeem(bank.id, step[1])
                redeemed += step[1]
            elif kind == "distribute":
                cbdc.distribute(wallets[step[1]], step[2])
            elif kind == "deposit":
                cbdc.deposit(wallets[step[1]], step[2])
            elif kind == "pay":
                cbdc.pay(wallets[step[1]], wallets[step[2]], step[3])
            elif kind == "escrow":
                created = cbdc.create_conditional(
                    wallets[step[1]], wallets[step[2]], step[3], confirmer="c",
                    release_at_ns=clock.now_ns() + 60 * 10**9 if step[4] else 0,
                    expires_in_s=100, created_by="p",
                )  # fmt: skip
                escrows.append(created.id)
            elif kind == "decide" and step[1] < len(escrows):
                decide = cbdc.confirm if step[2] == "confirm" else cbdc.cancel
                decide(escrows[step[1]], "c")
            elif kind == "time":
                clock.advance_seconds(step[1])
                cbdc.release_due()
            elif kind == "load":
                device_id, phone = devices[step[1]]
                phone.receive(cbdc.load_device(device_id, step[2]).notes, clock.now_ns() // 10**9)
            elif kind == "sync":
                device_id, phone = devices[step[1]]
                cbdc.sync_device(device_id, list(phone.notes.values()))
        except PaymentError:
            pass
        report = cbdc.audit()
        assert report.ok, report.checks
        assert (report.issued, report.redeemed) == (issued, redeemed)
        overview = cbdc.overview()
        assert overview.circulation == issued - redeemed
        assert sum(row.amount for row in overview.by_tier) == overview.circulation
        assert (
            sum(row.amount for row in overview.by_participant)
            + sum(row.amount for row in overview.by_tier if row.label == "offline")
            == overview.circulation
        )

"""A seeded demo platform for the console's tests: the demo economy, its console operators,
one payment held by a risk rule, AML cases from the scenarios, and one reversal request
waiting for a checker. Seeded once per test session into a file that each user copies."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from hazina.bootstrap import Platform, build_platform
from hazina.cli.demo import DEMO_TOTP_SECRET, seed_demo
from hazina.identity.totp import totp_code
from hazina.payments.domain.chart import PartyKind
from hazina.payments.records import PaymentTransaction, TransactionSearch
from hazina.risk.aml.monitoring import scan_payments

KES = "KES"
HOLD_AMOUNT = 4_321_00  # the rule below holds a payment of exactly this much
CUSTOMERS = 800
PAYMENTS = 3_000


class ShiftableClock:
    """Real time plus an offset that tests move forward: each TOTP code logs in once per
    operator, so a test steps past the 30-second window before the next log-in."""

    def __init__(self) -> None:
        self._offset_ns = 0
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return time.time_ns() + self._offset_ns

    def shift_seconds(self, seconds: int) -> None:
        with self._lock:
            self._offset_ns += seconds * 1_000_000_000

    def next_totp(self) -> str:
        """A code for the demo operators' secret in a window no log-in has used yet."""
        self.shift_seconds(31)
        return totp_code(DEMO_TOTP_SECRET, self.now_ns() // 1_000_000_000)


def seed_world(database: Path) -> None:
    clock = ShiftableClock()
    platform = build_platform(str(database), clock=clock)
    try:
        seed_demo(platform, CUSTOMERS, PAYMENTS)
        scan_payments(platform.payments, platform.cases, KES, clock.now_ns())
        platform.risk.save_rules(
            [
                {
                    "name": "exact-test-amount",
                    "action": "hold",
                    "when": {"feature": "amount", "op": "==", "value": HOLD_AMOUNT},
                }
            ],
            "test",
        )
        _hold_one_payment(platform)
        completed = platform.payments.search_transactions(
            TransactionSearch(type="p2p", status="completed"), None, 1
        )
        platform.payments.request_reversal(completed[0].id, "operator:ops", "sent twice")
    finally:
        platform.close()


def _hold_one_payment(platform: Platform) -> PaymentTransaction:
    payments = platform.payments
    customers = payments.list_parties(PartyKind.customer, 0, 200)
    balances = [payments.balance(payments.wallet_of(party.id, KES).id) for party in customers]
    payer = max(balances, key=lambda balance: balance.available)
    payee = next(party for party in customers if party.id != payer.wallet.party_id)
    assert payee.phone is not None
    held = payments.send_p2p(payer.wallet.id, payee.phone, HOLD_AMOUNT, KES, "held by test")
    assert isinstance(held, PaymentTransaction)
    assert held.status == "held", held
    return held


def copy_world(seeded: Path, target: Path) -> Path:
    """A copy of the seeded database with everything committed to it, its write-ahead log
    included (SQLite's backup API, not a file copy)."""
    with closing(sqlite3.connect(seeded)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def open_world(database: Path) -> tuple[Platform, ShiftableClock]:
    clock = ShiftableClock()
    return build_platform(str(database), clock=clock), clock


CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def seeded_console_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded demo database, made once per session; copy it before changing it."""
    database = tmp_path_factory.mktemp("console-seed") / "seed.sqlite3"
    seed_world(database)
    return database

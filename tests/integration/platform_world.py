"""Fixtures for tests of risk control over a whole platform (`build_platform`) on SQLite and
PostgreSQL: the database, a trained demo model registry (trained once per module, copied per
test), and helpers that register customers and move money through the payments service.

Import the fixtures a test module uses by name (`from tests.integration.platform_world import
database, demo_registry, ...`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hazina.bootstrap import Platform, build_platform
from hazina.cli.demo import ensure_demo_model
from hazina.kernel.clock import FixedClock
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.records import PaymentTransaction

KES = "KES"
START_NS = 1_763_000_000 * 10**9  # 2025-11-13T02:13:20Z
DAY_S = 86_400


DATABASE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def database_of_kind(request: pytest.FixtureRequest, kind: str, directory: Path) -> Iterator[str]:
    """What `build_platform` takes: a SQLite file in `directory`, or the DSN of a fresh
    PostgreSQL schema (dropped afterwards) on the test suite's server."""
    if kind == "sqlite":
        yield str(directory / "hazina.sqlite3")
        return
    from tests.postgres_server import drop_database, fresh_namespace

    server = request.getfixturevalue("postgres_server")
    conninfo = fresh_namespace(server)
    try:
        yield conninfo
    finally:
        drop_database(server, conninfo)


@pytest.fixture(params=DATABASE_KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_of_kind(request, request.param, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_NS)


@pytest.fixture
def platform(database: str, clock: FixedClock) -> Iterator[Platform]:
    """A platform without a model, on the test's database and clock."""
    built = build_platform(database, clock=clock)
    yield built
    built.close()


@pytest.fixture(scope="module")
def trained_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's model registry, trained once (about 3 s) for the module."""
    folder = tmp_path_factory.mktemp("registry") / "models"
    trained = ensure_demo_model(folder)
    assert trained is not None
    assert trained.role == "champion"
    return folder


@pytest.fixture
def demo_registry(trained_registry: Path, tmp_path: Path) -> Path:
    """A copy of the trained registry that a test may change."""
    copy = tmp_path / "models"
    shutil.copytree(trained_registry, copy, ignore=shutil.ignore_patterns("demo-dataset"))
    return copy


class Parties:
    """Registers parties through the payments service and remembers their KES wallets."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.payments = platform.payments
        self.phones: dict[int, str] = {}
        self._next_phone = 0

    def customer(self, name: str, tier: KycTier = KycTier.full) -> int:
        self._next_phone += 1
        phone = f"+2547{self._next_phone:08d}"
        party = self.payments.register_party(
            PartyKind.customer, name, [KES], phone=phone, kyc_tier=tier
        )
        wallet = self.payments.wallet_of(party.id, KES).id
        self.phones[wallet] = phone
        return wallet

    def agent(self, code: str, float_minor: int) -> int:
        party = self.payments.register_party(PartyKind.agent, f"Agent {code}", [KES], code=code)
        wallet = self.payments.wallet_of(party.id, KES).id
        self.payments.purchase_float(wallet, float_minor, f"float for {code}")
        return wallet

    def fund(self, agent: int, wallet: int, amount_minor: int, piece_minor: int) -> None:
        """Cash in `amount_minor` in pieces of at most `piece_minor` (the tariff's cap)."""
        left = amount_minor
        while left > 0:
            piece = min(left, piece_minor)
            self.payments.cash_in(agent, wallet, piece, KES)
            left -= piece

    def send(self, payer: int, payee: int, amount_minor: int) -> int:
        sent = self.payments.send_p2p(payer, self.phones[payee], amount_minor, KES)
        assert isinstance(sent, PaymentTransaction)  # a registered payee: no voucher
        return sent.id

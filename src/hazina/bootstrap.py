"""Composition root: wires stores, clock, id source and services together. Nothing else does."""

from __future__ import annotations

from dataclasses import dataclass

from hazina.identity.service import IdentityService
from hazina.kernel.clock import Clock, SystemClock
from hazina.kernel.ids import IdSource
from hazina.kernel.limits import risk_history_window_s, risk_warm_up_payments_max
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.payments.service import PaymentsService
from hazina.risk.aml.cases import CaseService
from hazina.risk.service import RiskService

default_database = "var/hazina.sqlite3"


def is_postgres_dsn(database: str) -> bool:
    """A libpq connection string: a `postgresql://` URL, or key=value pairs naming a dbname."""
    if database.startswith(("postgresql://", "postgres://")):
        return True
    pairs = database.split()
    return (
        bool(pairs)
        and all("=" in pair for pair in pairs)
        and any(pair.startswith("dbname=") for pair in pairs)
    )


def open_ledger_store(database: str) -> LedgerStore:
    """A PostgreSQL connection string (URL or key=value) opens PostgreSQL; anything else is a
    SQLite file path."""
    if is_postgres_dsn(database):
        from hazina.ledger.store.postgres import PostgresLedgerStore

        return PostgresLedgerStore(database)
    from hazina.ledger.store.sqlite import SqliteLedgerStore

    return SqliteLedgerStore(database)


def build_ledger(database: str = default_database, clock: Clock | None = None) -> LedgerService:
    return LedgerService(open_ledger_store(database), clock or SystemClock())


@dataclass(frozen=True, slots=True)
class Platform:
    """Every service of one running platform, over one database."""

    clock: Clock
    ids: IdSource
    ledger: LedgerService
    payments: PaymentsService
    identity: IdentityService
    risk: RiskService
    cases: CaseService

    def close(self) -> None:
        self.ledger.close()


def build_platform(
    database: str = default_database,
    clock: Clock | None = None,
    currencies: tuple[str, ...] = ("KES",),
) -> Platform:
    clock = clock or SystemClock()
    ids = IdSource(clock)
    ledger = build_ledger(database, clock)
    risk = RiskService(ledger, clock, ids)
    payments = PaymentsService(ledger, clock, ids, risk=risk)
    for currency_code in currencies:
        payments.setup_currency(currency_code)
    identity = IdentityService(ledger, clock, ids)
    # Risk features live in memory: rebuild them from the last window of payments.
    since_ns = clock.now_ns() - risk_history_window_s * 1_000_000_000
    risk.warm_up(payments.screened_history(since_ns, risk_warm_up_payments_max))
    cases = CaseService(ledger, ids)
    return Platform(clock, ids, ledger, payments, identity, risk, cases)

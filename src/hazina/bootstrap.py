"""Composition root: wires stores, clock, id source and services together. Nothing else does."""

from __future__ import annotations

from hazina.kernel.clock import Clock, SystemClock
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore

default_database = "var/hazina.sqlite3"


def open_ledger_store(database: str) -> LedgerStore:
    """`postgresql://...` opens PostgreSQL; anything else is a SQLite file path."""
    if database.startswith(("postgresql://", "postgres://")):
        from hazina.ledger.store.postgres import PostgresLedgerStore

        return PostgresLedgerStore(database)
    from hazina.ledger.store.sqlite import SqliteLedgerStore

    return SqliteLedgerStore(database)


def build_ledger(database: str = default_database, clock: Clock | None = None) -> LedgerService:
    return LedgerService(open_ledger_store(database), clock or SystemClock())

"""Shared fixtures: every ledger test runs against each store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore

STORE_KINDS = ["sqlite", "postgres"]

StoreFactory = Callable[[], LedgerStore]


@pytest.fixture(params=STORE_KINDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes fresh, empty stores of one kind; each call opens the same database again."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        yield lambda: SqliteLedgerStore(path)
    else:
        from tests.postgres_server import postgres_store_factory

        server = request.getfixturevalue("postgres_server")
        with postgres_store_factory(server) as factory:
            yield factory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ledger(store_factory: StoreFactory, clock: FixedClock) -> Iterator[LedgerService]:
    service = LedgerService(store_factory(), clock)
    yield service
    service.close()


pytest_plugins = ["tests.postgres_server"]

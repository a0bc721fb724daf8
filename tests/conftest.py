"""Shared fixtures: every ledger test runs against each store (SQLite and PostgreSQL).

`sqlite-streamed` is SQLite with every group's rows written by its writer thread, and (through
the `ledger` fixture) every batch applied in chunks of two events: the path that large batches
take, run by the whole suite on small ones. Its statement indexes roll to a new bucket every
three transfers, so account look-ups cross many buckets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import transfer_apply_chunk_max
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore

STORE_KINDS = ["sqlite", "sqlite-streamed", "postgres"]
STREAMED_APPLY_CHUNK_SIZE = 2
STREAMED_BUCKET_TRANSFERS = 3

StoreFactory = Callable[[], LedgerStore]


@pytest.fixture(params=STORE_KINDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes fresh, empty stores of one kind; each call opens the same database again."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        yield lambda: SqliteLedgerStore(path)
    elif request.param == "sqlite-streamed":
        path = tmp_path / "ledger.sqlite3"
        yield lambda: SqliteLedgerStore(
            path, background_write_rows_min=1, bucket_transfers=STREAMED_BUCKET_TRANSFERS
        )
    else:
        from tests.postgres_server import postgres_store_factory

        server = request.getfixturevalue("postgres_server")
        with postgres_store_factory(server) as factory:
            yield factory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def apply_chunk_size(request: pytest.FixtureRequest) -> int:
    callspec = getattr(request.node, "callspec", None)
    kind = callspec.params.get("store_factory") if callspec is not None else None
    return STREAMED_APPLY_CHUNK_SIZE if kind == "sqlite-streamed" else transfer_apply_chunk_max


@pytest.fixture
def ledger(
    store_factory: StoreFactory, clock: FixedClock, apply_chunk_size: int
) -> Iterator[LedgerService]:
    service = LedgerService(store_factory(), clock, apply_chunk_size=apply_chunk_size)
    yield service
    service.close()


pytest_plugins = ["tests.postgres_server"]

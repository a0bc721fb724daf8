"""Several writers on one PostgreSQL ledger at once, each with its own service and store (as
separate processes would have): the books stay right and the journal stays one chain.

Eight threads move money at random between shared accounts that may not be overdrawn, with
pending transfers that they later post or void, so that many transfers fail on limits that
depend on what the other writers committed just before. Afterwards the ledger must hold every
acknowledged transfer exactly once and nothing else, balance in total, respect every limit, and
pass the auditor (journal chain and replayed balances).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from hazina.kernel.clock import SystemClock
from hazina.ledger.audit import verify
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.journal import genesis_hash
from hazina.ledger.domain.model import AccountRequest, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService
from hazina.ledger.store.postgres import PostgresLedgerStore
from tests.postgres_server import PostgresServer, drop_database, fresh_namespace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITERS = 8
ROUNDS = 25
BATCH = 24
USERS = list(range(100, 116))
ISSUER = 1
FUNDING = 1_000
_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_PENDING = int(TransferFlags.pending)
_POST = int(TransferFlags.post_pending_transfer)
_VOID = int(TransferFlags.void_pending_transfer)
_LINKED = int(TransferFlags.linked)


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    location = fresh_namespace(postgres_server)
    yield location
    drop_database(postgres_server, location)


def _writer(dsn: str, writer: int, acknowledged: list[int], errors: list[BaseException]) -> None:
    rng = random.Random(writer)
    service = LedgerService(PostgresLedgerStore(dsn), SystemClock())
    next_id = (writer + 1) * 1_000_000
    open_pending: list[int] = []
    try:
        for _ in range(ROUNDS):
            batch: list[TransferRequest] = []
            for pending_id in open_pending:  # resolve what the last round left pending
                flags = _POST if rng.random() < 0.5 else _VOID
                batch.append(TransferRequest(next_id, 0, 0, 0, 0, 0, flags, pending_id))
                next_id += 1
            open_pending = []
            while len(batch) < BATCH:
                debit, credit = rng.sample(USERS, 2)
                amount = rng.randint(1, 400)
                kind = rng.random()
                if kind < 0.15:
                    batch.append(TransferRequest(next_id, debit, credit, amount, 1, 1, _PENDING))
                elif kind < 0.3 and len(batch) < BATCH - 1:  # a linked pair: payment and fee
                    batch.append(TransferRequest(next_id, debit, credit, amount, 1, 1, _LINKED))
                    next_id += 1
                    batch.append(TransferRequest(next_id, debit, ISSUER, 1, 1, 2))
                else:
                    batch.append(TransferRequest(next_id, debit, credit, amount, 1, 1))
                next_id += 1
            failed = {result.index for result in service.create_transfers(batch)}
            for index, request in enumerate(batch):
                if index not in failed:
                    acknowledged.append(request.id)
                    if request.flags & _PENDING:
                        open_pending.append(request.id)
    except BaseException as error:  # reported by the test thread
        errors.append(error)
    finally:
        service.close()


def test_concurrent_writers_keep_the_books(dsn: str) -> None:
    setup = LedgerService(PostgresLedgerStore(dsn), SystemClock())
    accounts = [AccountRequest(ISSUER, 1, 1)] + [AccountRequest(u, 1, 1, _LIMITED) for u in USERS]
    assert setup.create_accounts(accounts) == []
    funding = [TransferRequest(10 + i, ISSUER, u, FUNDING, 1, 1) for i, u in enumerate(USERS)]
    assert setup.create_transfers(funding) == []
    setup.close()

    acknowledged: list[list[int]] = [[] for _ in range(WRITERS)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_writer, args=(dsn, writer, acknowledged[writer], errors))
        for writer in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    store = PostgresLedgerStore(dsn)
    try:
        acked = [transfer_id for ids in acknowledged for transfer_id in ids]
        expected = sorted(acked + [t.id for t in funding])
        stored = sorted(t.id for batch in store.iterate_transfers(1_000) for t in batch)
        assert stored == expected  # every acknowledged transfer once, and nothing else
        assert len(acked) > WRITERS * ROUNDS * BATCH // 3  # the writers did get work done

        books = store.all_accounts()
        assert sum(a.debits_posted for a in books) == sum(a.credits_posted for a in books)
        assert sum(a.debits_pending for a in books) == sum(a.credits_pending for a in books)
        for account in books:
            if account.flags & _LIMITED:
                assert account.debits_pending + account.debits_posted <= account.credits_posted

        entries = store.journal(0, 100_000)
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        previous_hash, previous_last = genesis_hash, 0
        for entry in entries:
            assert entry.previous_hash == previous_hash
            assert entry.timestamp_first > previous_last
            previous_hash, previous_last = entry.hash, entry.timestamp_last

        report = verify(store)
        assert report.ok, report.problems
        assert report.transfers == len(expected)
    finally:
        store.close()


def test_limits_hold_when_writers_race_for_the_same_money(dsn: str) -> None:
    """Every writer tries to spend the whole balance of one account at once: exactly one
    wins, whatever the interleaving, because each writer sees the others' commits."""
    setup = LedgerService(PostgresLedgerStore(dsn), SystemClock())
    parties = [AccountRequest(ISSUER, 1, 1), AccountRequest(2, 1, 1, _LIMITED)]
    assert setup.create_accounts([*parties, AccountRequest(3, 1, 1)]) == []
    assert setup.create_transfers([TransferRequest(1, ISSUER, 2, 500, 1, 1)]) == []
    setup.close()

    results: list[list[int]] = []
    barrier = threading.Barrier(WRITERS)

    def spend(writer: int) -> None:
        service = LedgerService(PostgresLedgerStore(dsn), SystemClock())
        try:
            barrier.wait()
            outcome = service.create_transfers([TransferRequest(100 + writer, 2, 3, 500, 1, 1)])
            results.append([int(r.status) for r in outcome])
        finally:
            service.close()

    threads = [threading.Thread(target=spend, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [[]] + [[int(CreateTransferStatus.exceeds_credits)]] * (WRITERS - 1)
    store = PostgresLedgerStore(dsn)
    try:
        (account,) = store.lookup_accounts([2])
        assert (account.debits_posted, account.credits_posted) == (500, 500)
    finally:
        store.close()

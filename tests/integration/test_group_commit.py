"""Group commit: concurrent callers share one database transaction, each with its own results."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from hazina.kernel.clock import FixedClock
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, TransferRequest
from hazina.ledger.service import LedgerService, _Request
from hazina.ledger.store.sqlite import SqliteLedgerStore
from tests.conftest import StoreFactory

LEDGER = 404
WALLET = int(AccountFlags.debits_must_not_exceed_credits)
ACCOUNT_IDS = list(range(1, 8))


def _batches(seed: int, count: int, size: int) -> list[list[TransferRequest]]:
    """Random batches competing for the same scarce money, so their order matters."""
    rng = random.Random(seed)
    batches = []
    next_id = 1_000
    for _ in range(count):
        batch = []
        for _ in range(size):
            debit, credit = rng.sample(range(2, 8), 2)
            flags = int(TransferFlags.linked) if rng.random() < 0.2 else 0
            amount = rng.randint(1, 400)
            batch.append(TransferRequest(next_id, debit, credit, amount, LEDGER, 1, flags))
            next_id += 1
        batch[-1] = batch[-1]._replace(flags=0)
        batches.append(batch)
    return batches


def _fund(service: LedgerService) -> None:
    wallets = [AccountRequest(i, LEDGER, 2, WALLET) for i in range(2, 8)]
    assert service.create_accounts([AccountRequest(1, LEDGER, 1), *wallets]) == []
    funding = [TransferRequest(100 + i, 1, i, 1_000, LEDGER, 1) for i in range(2, 8)]
    assert service.create_transfers(funding) == []


def _balances(service: LedgerService) -> list[tuple[int, ...]]:
    return [tuple(a[:11]) for a in service.lookup_accounts(ACCOUNT_IDS)]  # all but timestamp


def _sequential(
    directory: Path, batches: list[list[TransferRequest]]
) -> tuple[list[list[CreateResult]], list[tuple[int, ...]]]:
    oracle = LedgerService(SqliteLedgerStore(directory / "oracle.sqlite3"), FixedClock())
    try:
        _fund(oracle)
        results = [oracle.create_transfers(batch) for batch in batches]
        return results, _balances(oracle)
    finally:
        oracle.close()


def test_one_transaction_for_many_requests_equals_one_transaction_each(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    batches = _batches(seed=3, count=6, size=40)
    expected, expected_balances = _sequential(tmp_path, batches)
    assert any(expected), "the batches must contain failures, or the test proves little"

    grouped = LedgerService(store_factory(), FixedClock())
    try:
        _fund(grouped)
        sequence_before = grouped.store.journal(0, 100)[-1].sequence
        requests = [_Request("transfers", batch, Future()) for batch in batches]
        assert grouped._commit(requests) == expected  # one database transaction for all six
        assert _balances(grouped) == expected_balances
        journal = grouped.store.journal(0, 100)
        assert journal[-1].sequence == sequence_before + 1, "one journal entry for the group"
    finally:
        grouped.close()


def test_concurrent_callers_are_grouped_and_keep_their_own_results(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    batches = _batches(seed=11, count=8, size=25)
    service = LedgerService(store_factory(), FixedClock())
    _fund(service)
    store = service.store
    release = threading.Event()
    first_commit = threading.Event()

    def hold_first_commit() -> None:
        if not first_commit.is_set():
            first_commit.set()
            release.wait(timeout=30)

    store.before_commit_hook = hold_first_commit  # type: ignore[attr-defined]
    results: dict[int, list[CreateResult]] = {}

    def caller(number: int) -> None:
        results[number] = service.create_transfers(batches[number])

    commits_before = service.commits
    threads = []
    try:
        for number in range(8):
            thread = threading.Thread(target=caller, args=(number,))
            thread.start()
            threads.append(thread)
            if number == 0:
                assert first_commit.wait(timeout=30)
            else:  # start the next caller only once this one is queued: a known order
                deadline = time.monotonic() + 30
                while service._queue.qsize() < number and time.monotonic() < deadline:
                    time.sleep(0.002)
                assert service._queue.qsize() == number
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        release.set()
        store.before_commit_hook = None  # type: ignore[attr-defined]
    commits = service.commits - commits_before
    final_balances = _balances(service)
    service.close()
    assert len(results) == 8
    assert commits == 2, f"8 callers should share 2 commits, took {commits}"
    # Each caller got what it would have had alone, sent in the order the committer took them.
    expected, expected_balances = _sequential(tmp_path, batches)
    assert any(expected)
    assert [results[number] for number in range(8)] == expected
    assert final_balances == expected_balances


def test_a_lone_caller_is_not_kept_waiting_for_company(store_factory: StoreFactory) -> None:
    """Lingering for more callers happens only when the last group had several: one caller
    sending one request after another gets one commit each, straight away."""
    service = LedgerService(store_factory(), FixedClock())
    _fund(service)
    commits_before = service.commits
    started = time.monotonic()
    for number in range(20):
        assert (
            service.create_transfers([TransferRequest(10_000 + number, 2, 3, 1, LEDGER, 1)]) == []
        )
    elapsed = time.monotonic() - started
    commits = service.commits - commits_before
    service.close()
    assert commits == 20
    # Twenty full lingers alone would take 20 x 200 us; a commit is far more than that
    # anyway, so only a gross regression (a linger of seconds) could trip this.
    assert elapsed < 20 * 1.0

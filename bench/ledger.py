"""Ledger throughput benchmark: Hazina's ledger vs. a plain sqlite3 loop, in one process.

    python bench/ledger.py                      # SQLite sections
    python bench/ledger.py --postgres auto      # also PostgreSQL, on a throwaway local server
    python bench/ledger.py --postgres postgresql://user@host/db

Durable commits throughout: SQLite in WAL mode with synchronous=FULL, PostgreSQL with its
default settings (fsync on, synchronous_commit on). Prints transfers/s, p50/p99 batch latency and
the ratio against the plain loop measured in the same run. Numbers go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hazina.kernel.clock import SystemClock
from hazina.kernel.limits import transfer_batch_size_max
from hazina.ledger.domain.model import AccountFilter, AccountRequest, TransferRequest
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore

LEDGER = 404
STATEMENT_PAGE = 100


def plain_sqlite_loop(directory: Path, transfers: int, per_transaction: int) -> float:
    """The baseline: the simplest ledger a Python programmer would write: per transfer, one
    INSERT of the transfer and one UPDATE of each account's balance, committing every
    `per_transaction` transfers, WAL + synchronous=FULL. No validation, no limits, no journal,
    no idempotency. Returns transfers per second."""
    path = directory / f"plain-{per_transaction}.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(
        "CREATE TABLE transfers (id INTEGER PRIMARY KEY, debit_account_id INTEGER,"
        " credit_account_id INTEGER, amount INTEGER, ledger INTEGER, code INTEGER,"
        " timestamp INTEGER)"
    )
    connection.execute(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, debits INTEGER, credits INTEGER)"
    )
    connection.executemany(
        "INSERT INTO accounts VALUES (?, 0, 0)", [(i,) for i in range(1, 10_001)]
    )
    rng = random.Random(1)
    rows = [
        (i, rng.randint(1, 10_000), rng.randint(1, 10_000), rng.randint(1, 1_000), LEDGER, 1, i)
        for i in range(1, transfers + 1)
    ]
    started = time.perf_counter()
    for start in range(0, transfers, per_transaction):
        connection.execute("BEGIN")
        for row in rows[start : start + per_transaction]:
            connection.execute("INSERT INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            connection.execute(
                "UPDATE accounts SET debits = debits + ? WHERE id = ?", (row[3], row[1])
            )
            connection.execute(
                "UPDATE accounts SET credits = credits + ? WHERE id = ?", (row[3], row[2])
            )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return transfers / elapsed


def make_accounts(service: LedgerService, count: int) -> None:
    requests = [AccountRequest(i, LEDGER, 1) for i in range(1, count + 1)]
    for start in range(0, count, transfer_batch_size_max):
        results = service.create_accounts(requests[start : start + transfer_batch_size_max])
        if results:
            raise SystemExit(f"account creation failed: {results[:3]}")


def make_batches(
    accounts: int, batches: int, size: int, first_id: int, seed: int
) -> list[list[TransferRequest]]:
    rng = random.Random(seed)
    next_id = first_id
    result = []
    for _ in range(batches):
        batch = []
        for _ in range(size):
            debit = rng.randint(1, accounts)
            credit = rng.randint(1, accounts - 1)
            if credit >= debit:
                credit += 1
            batch.append(TransferRequest(next_id, debit, credit, rng.randint(1, 1_000), LEDGER, 1))
            next_id += 1
        result.append(batch)
    return result


def run_batches(service: LedgerService, batches: list[list[TransferRequest]]) -> list[float]:
    latencies = []
    for batch in batches:
        started = time.perf_counter()
        results = service.create_transfers(batch)
        latencies.append(time.perf_counter() - started)
        if results:
            raise SystemExit(f"transfers failed: {results[:3]}")
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(label: str, transfers: int, latencies: list[float], baseline: float | None) -> float:
    rate = transfers / sum(latencies)
    line = (
        f"{label:<58} {rate:>10,.0f} transfers/s  p50 {percentile(latencies, 0.5) * 1e3:7.1f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1e3:7.1f} ms"
    )
    if baseline:
        line += f"  x{rate / baseline:.2f} vs plain loop"
    print(line, flush=True)
    return rate


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What `hazina serve` does once started: objects that live for the whole run (modules,
    caches, here also the benchmark's prepared requests) are frozen out of the cyclic garbage
    collector's full passes (gc.freeze), which would otherwise walk them every few batches."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def batched_section(
    label: str,
    open_store: Callable[[], LedgerStore],
    accounts: int,
    batches: int,
    baseline: float | None,
) -> float:
    service = LedgerService(open_store(), SystemClock())
    try:
        make_accounts(service, accounts)
        work = make_batches(accounts, batches + 1, transfer_batch_size_max, 1, seed=accounts)
        run_batches(service, work[:1])  # warm-up: caches, first pages
        with frozen_heap():
            latencies = run_batches(service, work[1:])
        pages = statement_pages(service, accounts)
    finally:
        service.close()
    rate = report(label, batches * transfer_batch_size_max, latencies, baseline)
    print(pages, flush=True)
    return rate


def statement_pages(service: LedgerService, accounts: int, samples: int = 200) -> str:
    """What the batches cost readers: pages of an account's transfers (both sides, oldest
    first and newest first, `STATEMENT_PAGE` a page) for random accounts, as a statement reads
    them."""
    rng = random.Random(accounts)
    chosen = [rng.randint(1, accounts) for _ in range(samples)]
    latencies: list[float] = []
    rows = 0
    for number, account_id in enumerate(chosen):
        started = time.perf_counter()
        page = service.get_account_transfers(
            AccountFilter(account_id, limit=STATEMENT_PAGE, reversed=number % 2 == 1)
        )
        latencies.append(time.perf_counter() - started)
        rows += len(page)
    return (
        f"{'  account pages of ' + str(STATEMENT_PAGE) + ', both sides':<58}"
        f" {rows / samples:>10,.0f} per page        p50"
        f" {statistics.median(latencies) * 1e3:7.2f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1e3:7.2f} ms  ({samples} random accounts)"
    )


def concurrent_single_section(
    label: str,
    open_store: Callable[[], LedgerStore],
    clients: int,
    per_client: int,
    baseline: float | None,
) -> float:
    """`clients` threads, each sending one transfer per request: group commit at work."""
    service = LedgerService(open_store(), SystemClock())
    try:
        make_accounts(service, 10_000)
        work = make_batches(10_000, clients, per_client, 1, seed=clients)
        latencies: list[list[float]] = [[] for _ in range(clients)]

        def client(number: int) -> None:
            for request in work[number]:
                started = time.perf_counter()
                results = service.create_transfers([request])
                latencies[number].append(time.perf_counter() - started)
                if results:
                    raise SystemExit(f"transfer failed: {results}")

        commits_before = service.commits
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        with frozen_heap():
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        commits = service.commits - commits_before
        # PostgreSQL: groups of new transfers written without reading first (docs/ledger.md).
        unread = getattr(service.store, "unread_groups", None)
        stale = getattr(service.store, "stale_groups", 0)
    finally:
        service.close()
    total = clients * per_client
    flat = [x for per in latencies for x in per]
    rate = total / elapsed
    line = (
        f"{label:<58} {rate:>10,.0f} transfers/s  p50 {statistics.median(flat) * 1e3:7.2f} ms"
        f"  p99 {percentile(flat, 0.99) * 1e3:7.2f} ms  ({total / commits:.1f} per commit)"
    )
    if unread is not None:
        line += f"  ({unread / commits:.0%} unread, {stale} redone)"
    if baseline:
        line += f"  x{rate / baseline:.2f} vs plain loop"
    print(line, flush=True)
    return rate


@contextmanager
def postgres_databases(option: str) -> Iterator[Callable[[], str]]:
    """Yields a function that returns the DSN of a fresh, empty database for each section."""
    if option != "auto":
        yield lambda: option  # a given server: the caller provides a fresh database
        return
    # The throwaway server the test suite uses (tests/postgres_server.py): initdb + postgres
    # from the local binaries, default settings, removed afterwards.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres_server import fresh_database, start_server

    with start_server() as server:
        yield lambda: fresh_database(server)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=20, help="timed batches of 8,189")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--hot", type=int, default=10, help="accounts in the hot-account run")
    parser.add_argument("--postgres", help="'auto' (throwaway local server) or a DSN")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="tiny run, for the test suite")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.per_client = 2, 50

    with tempfile.TemporaryDirectory(prefix="hazina-bench-") as temporary:
        directory = Path(temporary)
        plain_1000 = plain_sqlite_loop(directory, 20_000 if not args.quick else 2_000, 1_000)
        plain_1 = plain_sqlite_loop(directory, 2_000 if not args.quick else 100, 1)
        print(f"{'plain sqlite3 loop, 1,000 per transaction':<58} {plain_1000:>10,.0f} transfers/s")
        print(f"{'plain sqlite3 loop, 1 per transaction':<58} {plain_1:>10,.0f} transfers/s")
        counter = iter(range(1_000_000))

        def sqlite_store() -> LedgerStore:
            return SqliteLedgerStore(directory / f"ledger-{next(counter)}.sqlite3")

        batched_section(
            f"hazina sqlite, batches of 8,189, {args.accounts:,} accounts",
            sqlite_store,
            args.accounts,
            args.batches,
            plain_1000,
        )
        batched_section(
            f"hazina sqlite, batches of 8,189, {args.hot} hot accounts",
            sqlite_store,
            args.hot,
            args.batches,
            plain_1000,
        )
        concurrent_single_section(
            f"hazina sqlite, single transfers, {args.clients} clients",
            sqlite_store,
            args.clients,
            args.per_client,
            plain_1,
        )
    if args.postgres:
        with postgres_databases(args.postgres) as new_database:
            from hazina.ledger.store.postgres import PostgresLedgerStore

            def postgres_store() -> LedgerStore:
                return PostgresLedgerStore(new_database())

            batched_section(
                f"hazina postgres, batches of 8,189, {args.accounts:,} accounts",
                postgres_store,
                args.accounts,
                args.batches,
                plain_1000,
            )
            concurrent_single_section(
                f"hazina postgres, single transfers, {args.clients} clients",
                postgres_store,
                args.clients,
                args.per_client,
                plain_1,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it acknowledged.

`crash_writer.py` streams deterministic batches of transfers through `LedgerService` and prints
`ack <batch>` after each `create_transfers` returns, that is after its commit. The test kills it
at seeded random moments, several times, restarting it each time from a batch before the first
one it cannot prove committed, so batches that were in flight (and some already acknowledged)
are sent again. After every kill it reopens the database and checks, against a reference run of
the same batches in a clean in-memory ledger:

- every transfer of every acknowledged batch is there exactly once, with the reference's fields;
- a batch that was not acknowledged is there entirely or not at all (never half a chain), and
  within a lane the batches that are there form a prefix;
- nothing else is there;
- `verify(store)` holds (journal hash chain, balances re-derived from transfers), debits equal
  credits per ledger and no account breaks its limit flag;
- every acknowledgement reports either the reference's results (first delivery) or the results
  of a repeat (each chain that succeeded fails on its first event with `exists`), never a
  second application.

After the last kill the writer runs to the end, and the ledger must equal the reference run.
SQLite runs with synchronous=FULL, the store's default. A SIGKILL leaves the operating system's
page cache intact, so this proves atomicity and idempotent recovery, not durability against a
power cut.
"""

from __future__ import annotations

import functools
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import query_limit_max
from hazina.ledger.audit import verify
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import Account, PendingStatus, Transfer, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore
from tests.integration import crash_writer
from tests.integration.crash_writer import (
    LANES,
    account_requests,
    batch_transfers,
    decode_results,
    lane_of,
    open_store,
)

WRITER = Path(crash_writer.__file__)
BATCHES = 1_200  # a run that is never killed finishes these in about two seconds (SQLite)
KILLS = 8
WRITER_TIMEOUT_S = 60.0
START_UP_KILL_PROBABILITY = 0.2  # kill before the first acknowledgement (during start-up)

_EXISTS = int(CreateTransferStatus.exists)
_LINKED_EVENT_FAILED = int(CreateTransferStatus.linked_event_failed)
_LINKED = int(TransferFlags.linked)
_DEBITS_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_CREDITS_LIMITED = int(AccountFlags.credits_must_not_exceed_debits)


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" | "postgres"
    location: str  # file path or DSN

    def open(self) -> LedgerStore:
        return open_store(self.kind, self.location)

    def wait_until_writer_gone(self) -> None:
        """A killed client's PostgreSQL backend may still be finishing a COMMIT it received:
        wait until it is gone, so that the checks read one settled state. (A SQLite writer's
        writes end with its process.)"""
        if self.kind != "postgres":
            return
        import psycopg

        deadline = time.monotonic() + WRITER_TIMEOUT_S
        with psycopg.connect(self.location, autocommit=True) as connection:
            while connection.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"  # not an autovacuum worker
            ).fetchone() != (0,):
                assert time.monotonic() < deadline, "the killed writer's session lingers"
                time.sleep(0.01)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield Database("sqlite", str(tmp_path / "ledger.sqlite3"))
        return
    import psycopg

    from tests.postgres_server import drop_database, fresh_database

    server = request.getfixturevalue("postgres_server")
    dsn = fresh_database(server)
    try:
        yield Database("postgres", dsn)
    finally:
        name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        assert isinstance(name, str)
        drop_database(server, name)


# -- the reference run -------------------------------------------------------------------------


def _without_timestamp(transfer: Transfer) -> Transfer:
    return transfer._replace(timestamp=0)


@dataclass(frozen=True)
class Reference:
    """What a clean, never-interrupted run of the same batches produces."""

    results: list[dict[int, int]]  # per batch: index -> status of the events that failed
    transfers: list[dict[int, Transfer]]  # per batch: the transfers it created, timestamps zeroed
    accounts: dict[int, Account]  # after the last batch
    pending: dict[int, PendingStatus]

    def owner(self) -> dict[int, int]:
        return {i: batch for batch, created in enumerate(self.transfers) for i in created}


@functools.lru_cache(maxsize=4)
def reference_run(seed: int, batches: int) -> Reference:
    service = LedgerService(SqliteLedgerStore(":memory:"), FixedClock())
    try:
        assert service.create_accounts(account_requests()) == []
        results: list[dict[int, int]] = []
        created: list[dict[int, Transfer]] = []
        for batch in range(batches):
            requests = batch_transfers(seed, batch)
            failed = {r.index: int(r.status) for r in service.create_transfers(requests)}
            ok_ids = [r.id for index, r in enumerate(requests) if index not in failed]
            transfers = service.lookup_transfers(ok_ids)
            assert [t.id for t in transfers] == ok_ids
            results.append(failed)
            created.append({t.id: _without_timestamp(t) for t in transfers})
        accounts = {a.id: a for a in service.store.all_accounts()}
        pending = service.store.pending_states()
    finally:
        service.close()
    return Reference(results, created, accounts, pending)


# -- running and killing the writer ------------------------------------------------------------


@dataclass
class WriterRun:
    lines: list[str]  # complete lines only: a line cut by the kill acknowledges nothing
    returncode: int
    stderr: str
    killed: bool

    def acks(self) -> list[tuple[int, dict[int, int]]]:
        acks = []
        for line in self.lines:
            parts = line.split()
            if parts[0] == "ack":
                acks.append((int(parts[1]), decode_results(parts[2])))
        return acks


def run_writer(
    database: Database,
    seed: int,
    start: int,
    *,
    kill_after_lines: int | None,
    kill_delay_s: float = 0.0,
) -> WriterRun:
    """Start the writer; SIGKILL it `kill_delay_s` after its `kill_after_lines`-th line (0: after
    the start), or let it finish when `kill_after_lines` is None."""
    command = [
        sys.executable,
        str(WRITER),
        "--store",
        database.kind,
        "--database",
        database.location,
        "--seed",
        str(seed),
        "--start",
        str(start),
        "--batches",
        str(BATCHES),
    ]
    lines: list[str] = []
    reached = threading.Event()
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr_file)
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for raw in stdout:
                if raw.endswith(b"\n"):
                    lines.append(raw.decode().rstrip("\n"))
                if kill_after_lines is not None and len(lines) >= kill_after_lines:
                    reached.set()
            reached.set()  # end of output: the writer finished or died

        reader = threading.Thread(target=read, name="crash-writer-stdout")
        reader.start()
        killed = False
        try:
            if kill_after_lines is None:
                process.wait(WRITER_TIMEOUT_S)
            else:
                if kill_after_lines > 0:
                    assert reached.wait(WRITER_TIMEOUT_S), "the writer produced no output"
                time.sleep(kill_delay_s)
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    killed = True
                process.wait(WRITER_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join()
            stdout.close()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace")
    return WriterRun(lines, process.returncode, stderr, killed)


# -- checks ------------------------------------------------------------------------------------


def chains(requests: list[TransferRequest]) -> list[range]:
    """The linked chains of a batch, as index ranges; a lone event is a chain of one."""
    result = []
    start = 0
    for index, request in enumerate(requests):
        if not request.flags & _LINKED or index == len(requests) - 1:
            result.append(range(start, index + 1))
            start = index + 1
    return result


def is_repeat(
    results: dict[int, int], reference: dict[int, int], requests: list[TransferRequest]
) -> bool:
    """The results of sending a batch again after it committed. A chain that succeeded the
    first time fails now on its first event, which `exists`, and its other events report
    `linked_event_failed` (TigerBeetle's semantics: `exists` is a failure); a chain that failed
    fails again (with any status but `exists`)."""
    for chain in chains(requests):
        if any(index in reference for index in chain):  # failed the first time
            if any(results.get(index, 0) in (0, _EXISTS) for index in chain):
                return False
        else:
            want = [_EXISTS] + [_LINKED_EVENT_FAILED] * (len(chain) - 1)
            if [results.get(index, 0) for index in chain] != want:
                return False
    return True


@dataclass
class Acknowledgements:
    """Every acknowledgement the writer made, over all of its runs."""

    results: dict[int, list[dict[int, int]]] = field(default_factory=dict)
    committed: set[int] = field(default_factory=set)  # batches seen in the store after a kill
    first_deliveries: int = 0
    repeats: int = 0

    def record(self, run: WriterRun, reference: Reference, seed: int) -> None:
        for batch, results in run.acks():
            requests = batch_transfers(seed, batch)
            earlier = self.results.setdefault(batch, [])
            if earlier or batch in self.committed:
                assert is_repeat(results, reference.results[batch], requests), (
                    f"batch {batch} was committed before, and sending it again gave"
                    f" {results}, not the results of a repeat"
                    f" (reference {reference.results[batch]})"
                )
                self.repeats += 1
            elif results == reference.results[batch]:
                self.first_deliveries += 1
            else:
                # The batch committed in a run that was killed before it could say so.
                assert is_repeat(results, reference.results[batch], requests), (
                    f"batch {batch}: results {results} are neither the reference's"
                    f" {reference.results[batch]} nor those of a repeat"
                )
                self.repeats += 1
            earlier.append(results)

    def first_unacknowledged(self, lane: int) -> int:
        batch = lane
        while batch in self.results:
            batch += LANES
        return batch


def all_transfers(store: LedgerStore) -> list[Transfer]:
    return [t for page in store.iterate_transfers(query_limit_max) for t in page]


def check_invariants(accounts: list[Account]) -> None:
    totals: dict[int, list[int]] = {}
    for a in accounts:
        total = totals.setdefault(a.ledger, [0, 0, 0, 0])
        total[0] += a.debits_pending
        total[1] += a.debits_posted
        total[2] += a.credits_pending
        total[3] += a.credits_posted
        if a.flags & _DEBITS_LIMITED:
            assert a.debits_pending + a.debits_posted <= a.credits_posted, a
        if a.flags & _CREDITS_LIMITED:
            assert a.credits_pending + a.credits_posted <= a.debits_posted, a
    for ledger, (debits_pending, debits_posted, credits_pending, credits_posted) in totals.items():
        assert debits_posted == credits_posted, f"ledger {ledger}: posted debits != credits"
        assert debits_pending == credits_pending, f"ledger {ledger}: pending debits != credits"


def check_crash_state(store: LedgerStore, reference: Reference, acks: Acknowledgements) -> None:
    """Check the ledger left by a kill, and note in `acks` which batches it holds."""
    transfers = all_transfers(store)
    duplicates = [i for i, n in Counter(t.id for t in transfers).items() if n > 1]
    assert duplicates == [], f"transfer ids stored more than once: {duplicates[:10]}"
    stored = {t.id: _without_timestamp(t) for t in transfers}

    owner = reference.owner()
    strays = [i for i in stored if i not in owner]
    assert strays == [], f"transfers that the reference never created: {sorted(strays)[:10]}"

    acknowledged = [i for batch in acks.results for i in reference.transfers[batch]]
    for start in range(0, len(acknowledged), query_limit_max):
        ids = acknowledged[start : start + query_limit_max]
        found = store.lookup_transfers(ids)
        assert [t.id for t in found] == ids, "lookup by id misses acknowledged transfers"
        assert [_without_timestamp(t) for t in found] == [
            reference.transfers[owner[i]][i] for i in ids
        ]

    committed: dict[int, bool] = {}
    for batch, expected in enumerate(reference.transfers):
        present = [i for i in expected if i in stored]
        if batch in acks.results:
            assert len(present) == len(expected), (
                f"acknowledged batch {batch} lost transfers {sorted(set(expected) - set(present))}"
            )
        else:
            assert len(present) in (0, len(expected)), (
                f"unacknowledged batch {batch} is half there: {sorted(present)} of"
                f" {sorted(expected)}"
            )
        for transfer_id in present:
            assert stored[transfer_id] == expected[transfer_id], (
                f"batch {batch}: stored {stored[transfer_id]}, expected {expected[transfer_id]}"
            )
        if expected:
            committed[batch] = bool(present)

    for lane in range(LANES):
        lane_batches = [b for b in sorted(committed) if lane_of(b) == lane]
        flags = [committed[b] for b in lane_batches]
        assert flags == sorted(flags, reverse=True), (
            f"lane {lane}: the batches present are not a prefix of those sent"
        )

    report = verify(store)
    assert report.ok, report.problems
    assert report.transfers == len(transfers)
    accounts = store.all_accounts()
    if acks.results:  # the accounts were acknowledged before any batch was sent
        assert {a.id for a in accounts} == {r.id for r in account_requests()}
    check_invariants(accounts)
    acks.committed |= {batch for batch, present in committed.items() if present}


def check_final_state(store: LedgerStore, reference: Reference) -> None:
    stored = {t.id: _without_timestamp(t) for t in all_transfers(store)}
    expected = {i: t for created in reference.transfers for i, t in created.items()}
    assert stored.keys() == expected.keys()
    assert stored == expected
    accounts = {a.id: a._replace(timestamp=0) for a in store.all_accounts()}
    assert accounts == {i: a._replace(timestamp=0) for i, a in reference.accounts.items()}
    # Expiry times come from different clocks; the states must agree.
    states = {i: p.state for i, p in store.pending_states().items()}
    assert states == {i: p.state for i, p in reference.pending.items()}
    report = verify(store)
    assert report.ok, report.problems
    check_invariants(list(accounts.values()))


# -- the test ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_killed_writer_loses_nothing_acknowledged(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    reference = reference_run(seed, BATCHES)
    acks = Acknowledgements()
    start = 0
    kills = 0
    for _ in range(KILLS):
        if rng.random() < START_UP_KILL_PROBABILITY:
            run = run_writer(
                database, seed, start, kill_after_lines=0, kill_delay_s=rng.uniform(0.05, 0.5)
            )
        else:
            run = run_writer(
                database,
                seed,
                start,
                kill_after_lines=rng.randint(5, 80),
                kill_delay_s=rng.uniform(0.0, 0.004),
            )
        if run.killed:
            assert run.returncode == -signal.SIGKILL, run.stderr
            kills += 1
        else:  # it finished before the kill came
            assert run.returncode == 0, run.stderr
        acks.record(run, reference, seed)
        database.wait_until_writer_gone()
        store = database.open()
        try:
            check_crash_state(store, reference, acks)
        finally:
            store.close()
        # Resume before the first batch of any lane that is not known to be committed, and a
        # little earlier still, so that acknowledged batches are sent again as well.
        resume = min(acks.first_unacknowledged(lane) for lane in range(LANES))
        start = max(0, resume - rng.randint(1, 2 * LANES))

    run = run_writer(database, seed, start, kill_after_lines=None)
    assert run.returncode == 0, run.stderr
    assert run.lines[-1] == "done"
    acks.record(run, reference, seed)
    assert sorted(acks.results) == list(range(BATCHES))
    assert kills >= KILLS // 2, "too few runs were killed to prove anything"
    assert acks.repeats > 0, "no batch was sent twice"
    assert acks.first_deliveries > 0
    store = database.open()
    try:
        check_final_state(store, reference)
    finally:
        store.close()

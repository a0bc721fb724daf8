"""Units of work (`LedgerService.run`): postings and another context's rows commit together.

Runs on both stores: the unit's SQL goes through the ledger's own transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService, LedgerUnit

SCHEMA = "CREATE TABLE IF NOT EXISTS unit_notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL)"


class _WorkFailedError(Exception):
    pass


def _setup(ledger: LedgerService) -> None:
    ledger.store.ensure_schema("unit_notes", SCHEMA)
    results = ledger.create_accounts(
        [
            AccountRequest(1, 1, 1),
            AccountRequest(2, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits),
            AccountRequest(3, 1, 1),
        ]
    )
    assert results == []
    assert ledger.create_transfers([TransferRequest(100, 1, 2, 500, 1, 1)]) == []


def _notes(ledger: LedgerService) -> list[tuple[int, str]]:
    rows = ledger.store.reader().fetch_all("SELECT id, note FROM unit_notes ORDER BY id")
    return [(int(row[0]), str(row[1])) for row in rows]


def test_a_unit_posts_and_writes_its_rows_in_one_transaction(ledger: LedgerService) -> None:
    _setup(ledger)

    def pay(unit: LedgerUnit) -> str:
        before = unit.lookup_accounts([2])[2]
        results = unit.create_transfers([TransferRequest(101, 2, 3, 200, 1, 1)])
        assert results == []
        unit.sql.execute("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (101, "paid"))
        after = unit.lookup_accounts([2])[2]
        return f"{before.debits_posted}->{after.debits_posted}"

    assert ledger.run(pay) == "0->200"
    assert _notes(ledger) == [(101, "paid")]
    assert ledger.lookup_accounts([3])[0].credits_posted == 200


def test_a_unit_that_raises_leaves_nothing(ledger: LedgerService) -> None:
    _setup(ledger)

    def fail_after_writing(unit: LedgerUnit) -> None:
        assert unit.create_transfers([TransferRequest(102, 2, 3, 100, 1, 1)]) == []
        unit.sql.execute("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (102, "half"))
        raise _WorkFailedError("refused after writing")

    with pytest.raises(_WorkFailedError, match="refused after writing"):
        ledger.run(fail_after_writing)
    assert _notes(ledger) == []
    assert ledger.lookup_transfers([102]) == []
    assert ledger.lookup_accounts([2])[0].debits_posted == 0
    # The same transfer id is still free: nothing of the failed unit was remembered.
    assert ledger.create_transfers([TransferRequest(102, 2, 3, 100, 1, 1)]) == []


def test_a_unit_sees_ledger_refusals_as_values(ledger: LedgerService) -> None:
    _setup(ledger)

    def overdraw(unit: LedgerUnit) -> list[CreateTransferStatus]:
        results = unit.create_transfers(
            [
                TransferRequest(103, 2, 3, 400, 1, 1, flags=TransferFlags.linked),
                TransferRequest(104, 2, 1, 400, 1, 1),
            ]
        )
        return [CreateTransferStatus(r.status) for r in results]

    statuses = ledger.run(overdraw)
    assert statuses == [
        CreateTransferStatus.linked_event_failed,
        CreateTransferStatus.exceeds_credits,
    ]
    assert ledger.lookup_accounts([2])[0].debits_posted == 0


def _run_as_one_group(
    ledger: LedgerService, works: dict[int, Callable[[LedgerUnit], object]]
) -> dict[int, object]:
    """Run each unit from its own thread while a first unit holds the committer, so that they
    queue into one group; each one's result, or the error its caller got."""
    running, gate = threading.Event(), threading.Event()
    outcomes: dict[int, object] = {}

    def blocker(unit: LedgerUnit) -> None:
        running.set()
        gate.wait(timeout=10)

    def call(number: int, work: Callable[[LedgerUnit], object]) -> None:
        try:
            outcomes[number] = ledger.run(work)
        except Exception as error:
            outcomes[number] = error

    first = threading.Thread(target=ledger.run, args=(blocker,))
    first.start()
    assert running.wait(timeout=10)  # its group is closed: the others queue behind it
    threads = [threading.Thread(target=call, args=item) for item in works.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while ledger._queue.qsize() < len(works):
        assert time.monotonic() < deadline, "the units did not queue"
        time.sleep(0.001)
    gate.set()
    first.join()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_failing_unit_does_not_fail_the_rest_of_its_group(ledger: LedgerService) -> None:
    _setup(ledger)

    def writer(note_id: int, fail: bool) -> Callable[[LedgerUnit], int]:
        def work(unit: LedgerUnit) -> int:
            unit.sql.execute("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (note_id, "x"))
            if fail:
                raise _WorkFailedError(f"unit {note_id} fails")
            return note_id

        return work

    commits_before = ledger.commits
    outcomes = _run_as_one_group(ledger, {i: writer(i, i == 2) for i in (1, 2, 3)})
    assert outcomes[1] == 1
    assert outcomes[3] == 3
    assert isinstance(outcomes[2], _WorkFailedError)
    assert _notes(ledger) == [(1, "x"), (3, "x")]
    assert ledger.commits > commits_before


def test_writes_sent_without_waiting_are_read_back_in_the_same_unit(ledger: LedgerService) -> None:
    """`write` may travel later (PostgreSQL: with the next statement that needs an answer);
    the unit's own reads, and `fetch_batch`'s reads answered together, still see it."""
    _setup(ledger)

    def work(unit: LedgerUnit) -> list[list[tuple[object, ...]]]:
        unit.sql.write("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (201, "first"))
        unit.sql.write("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (202, "second"))
        return unit.sql.fetch_batch(
            [
                ("SELECT note FROM unit_notes WHERE id = ?", (202,)),
                ("SELECT count(*) FROM unit_notes", ()),
                ("SELECT note FROM unit_notes WHERE id = ?", (999,)),
            ]
        )

    assert ledger.run(work) == [[("second",)], [(2,)], []]
    assert _notes(ledger) == [(201, "first"), (202, "second")]


def test_a_failing_write_fails_its_own_unit_not_the_next(ledger: LedgerService) -> None:
    """A unit's unanswered writes are flushed at its end, so the error of one that fails is
    raised to that unit's caller, not to the next unit of the group that reads something."""
    _setup(ledger)
    ledger.run(lambda unit: unit.sql.write("INSERT INTO unit_notes VALUES (?, ?)", (5, "taken")))

    def unit_work(number: int) -> Callable[[LedgerUnit], int]:
        def work(unit: LedgerUnit) -> int:
            if number == 2:  # a duplicate key, written without waiting for the answer
                unit.sql.write("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (5, "again"))
                return number
            row = unit.sql.fetch_one("SELECT count(*) FROM unit_notes")
            assert row is not None
            unit.sql.write("INSERT INTO unit_notes (id, note) VALUES (?, ?)", (number, "ok"))
            return number

        return work

    outcomes = _run_as_one_group(ledger, {i: unit_work(i) for i in (1, 2, 3)})
    assert outcomes[1] == 1
    assert outcomes[3] == 3
    assert isinstance(outcomes[2], Exception)
    assert "unique" in str(outcomes[2]).lower()
    assert _notes(ledger) == [(1, "ok"), (3, "ok"), (5, "taken")]

"""Units of work submitted by code running on an event loop (`kernel.loop_bridge`), as the
payment endpoints do on SQLite: they wait for the committer without blocking the loop, are
grouped like any others, and each gets its own result or error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.loop_bridge import run_on_loop
from hazina.ledger.domain.model import AccountRequest, TransferRequest
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.sqlite import SqliteLedgerStore

CALLERS = 40


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerService]:
    service = LedgerService(SqliteLedgerStore(tmp_path / "ledger.sqlite3"), FixedClock())
    assert service.create_accounts([AccountRequest(i, 1, 1) for i in (1, 2)]) == []
    yield service
    service.close()


def _pay(ledger: LedgerService, transfer_id: int) -> tuple[int, int]:
    """A route's shape: work before, the unit of work, work after."""

    def work(unit: LedgerUnit) -> int:
        assert unit.create_transfers([TransferRequest(transfer_id, 1, 2, 10, 1, 1)]) == []
        return transfer_id * 10

    answer = ledger.run(work)
    return answer, threading.get_ident()


def test_callers_on_the_loop_are_grouped_and_each_gets_its_own_result(
    ledger: LedgerService,
) -> None:
    commits_before = ledger.commits

    async def main() -> tuple[list[tuple[int, int]], int]:
        results = await asyncio.gather(
            *(run_on_loop(_pay, ledger, number) for number in range(1, CALLERS + 1))
        )
        return results, threading.get_ident()

    results, loop_thread = asyncio.run(main())
    assert [answer for answer, _ in results] == [n * 10 for n in range(1, CALLERS + 1)]
    assert {thread for _, thread in results} == {loop_thread}, "all ran on the loop's thread"
    commits = ledger.commits - commits_before
    assert commits < CALLERS, "callers waiting at once share commits"
    debit = ledger.lookup_accounts([1])[0]
    assert debit.debits_posted == 10 * CALLERS


def test_a_failing_unit_fails_only_its_caller_on_the_loop(ledger: LedgerService) -> None:
    def refuse(unit: LedgerUnit) -> int:
        unit.create_transfers([TransferRequest(999, 1, 2, 10, 1, 1)])
        raise ValueError("this payment is refused")

    def failing() -> int:
        return ledger.run(refuse)

    async def main() -> list[object]:
        work = [run_on_loop(_pay, ledger, n) for n in range(1, 6)]
        work.insert(2, run_on_loop(failing))
        return await asyncio.gather(*work, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[2], ValueError)
    assert [o[0] for o in outcomes[:2] + outcomes[3:]] == [10, 20, 30, 40, 50]  # type: ignore[index]
    assert ledger.lookup_transfers([999]) == [], "nothing of the failed unit is kept"


def test_an_answer_for_a_loop_that_has_closed_does_not_stop_the_committer(
    ledger: LedgerService,
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(unit: LedgerUnit) -> int:
        started.set()
        release.wait(10)
        return 1

    async def main() -> None:
        waiting = asyncio.ensure_future(run_on_loop(ledger.run, slow))
        await asyncio.to_thread(started.wait, 10)
        assert not waiting.done()
        # Returning closes the loop while the unit is still on the committer.

    asyncio.run(main())
    release.set()
    # The committer answered into the closed loop, and still serves callers (asked from a
    # thread, so that a dead committer fails the test instead of hanging it).
    answers: list[int] = []
    asking = threading.Thread(
        target=lambda: answers.append(ledger.run(lambda unit: 7)), daemon=True
    )
    asking.start()
    asking.join(10)
    assert answers == [7]

"""Two-phase transfers: pending reserves, post (full or partial) books, void and expiry release."""

from __future__ import annotations

import pytest

from hazina.kernel.clock import FixedClock
from hazina.ledger.domain.apply import LedgerState, apply_accounts, apply_transfers
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    AccountBalance,
    AccountFilter,
    AccountRequest,
    CreateResult,
    PendingState,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
SECOND_NS = 1_000_000_000


def pending(id: int, amount: int, timeout: int = 0, flags: int = 0) -> TransferRequest:
    return TransferRequest(id, 1, 2, amount, 1, 1, F.pending | flags, timeout=timeout)


def post(id: int, pending_id: int, amount: int = 0) -> TransferRequest:
    return TransferRequest(id, 0, 0, amount, 0, 0, F.post_pending_transfer, pending_id)


def void(id: int, pending_id: int, amount: int = 0) -> TransferRequest:
    return TransferRequest(id, 0, 0, amount, 0, 0, F.void_pending_transfer, pending_id)


def balances(ledger: LedgerService) -> dict[int, tuple[int, int, int, int]]:
    return {
        a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        for a in ledger.lookup_accounts([1, 2])
    }


def state_of(ledger: LedgerService, pending_id: int) -> PendingState:
    [status] = ledger.lookup_pending([pending_id])
    return PendingState(status.state)


@pytest.fixture
def funded(ledger: LedgerService) -> LedgerService:
    accounts = [
        AccountRequest(1, 1, 1, flags=AccountFlags.history),
        AccountRequest(2, 1, 1, flags=AccountFlags.history),
    ]
    assert ledger.create_accounts(accounts) == []
    return ledger


def test_pending_reserves_without_posting(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    assert balances(funded) == {1: (100, 0, 0, 0), 2: (0, 0, 100, 0)}
    assert state_of(funded, 10) is PendingState.pending


def test_post_with_amount_zero_posts_the_full_amount(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    assert funded.create_transfers([post(11, 10)]) == []
    assert balances(funded) == {1: (0, 100, 0, 0), 2: (0, 0, 0, 100)}
    assert state_of(funded, 10) is PendingState.posted
    [posted] = funded.lookup_transfers([11])
    assert (posted.debit_account_id, posted.credit_account_id, posted.amount) == (1, 2, 100)
    assert (posted.ledger, posted.code, posted.pending_id) == (1, 1, 10)


def test_partial_post_books_part_and_releases_the_rest(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    assert funded.create_transfers([post(11, 10, amount=30)]) == []
    assert balances(funded) == {1: (0, 30, 0, 0), 2: (0, 0, 0, 30)}
    assert funded.lookup_transfers([11])[0].amount == 30
    # The rest is released for good: the pending transfer cannot be posted again.
    assert funded.create_transfers([post(12, 10, amount=70)]) == [
        CreateResult(0, S.pending_transfer_already_posted)
    ]


def test_post_of_exactly_the_pending_amount(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    assert funded.create_transfers([post(11, 10, amount=100)]) == []
    assert balances(funded) == {1: (0, 100, 0, 0), 2: (0, 0, 0, 100)}


@pytest.mark.parametrize("amount", [0, 100])
def test_void_releases_the_reservation(funded: LedgerService, amount: int) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    assert funded.create_transfers([void(11, 10, amount=amount)]) == []
    assert balances(funded) == {1: (0, 0, 0, 0), 2: (0, 0, 0, 0)}
    assert state_of(funded, 10) is PendingState.voided
    assert funded.lookup_transfers([11])[0].amount == 100
    assert funded.create_transfers([post(12, 10)]) == [
        CreateResult(0, S.pending_transfer_already_voided)
    ]


def test_pending_and_post_in_the_same_batch(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100), post(11, 10, amount=60)]) == []
    assert balances(funded) == {1: (0, 60, 0, 0), 2: (0, 0, 0, 60)}


def test_post_may_repeat_the_pending_transfers_fields(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    full = TransferRequest(11, 1, 2, 40, 1, 1, F.post_pending_transfer, 10)
    assert funded.create_transfers([full]) == []
    assert balances(funded) == {1: (0, 40, 0, 0), 2: (0, 0, 0, 40)}


def test_expiry_by_timeout_releases_at_the_first_commit_after_the_deadline(
    funded: LedgerService, clock: FixedClock
) -> None:
    clock.advance_seconds(1)  # a fresh second: the pending transfer's timestamp is the clock's
    assert funded.create_transfers([pending(10, 100, timeout=5)]) == []
    [created] = funded.lookup_transfers([10])
    assert created.timestamp == clock.now_ns()

    clock.advance_ns(5 * SECOND_NS - 1)
    funded.expire_pending_transfers()
    assert state_of(funded, 10) is PendingState.pending  # one nanosecond early

    clock.advance_ns(1)
    assert balances(funded) == {1: (100, 0, 0, 0), 2: (0, 0, 100, 0)}  # nothing yet: no commit
    funded.expire_pending_transfers()
    assert state_of(funded, 10) is PendingState.expired
    assert balances(funded) == {1: (0, 0, 0, 0), 2: (0, 0, 0, 0)}
    assert funded.create_transfers([post(11, 10)]) == [CreateResult(0, S.pending_transfer_expired)]
    assert funded.create_transfers([void(12, 10)]) == [CreateResult(0, S.pending_transfer_expired)]


def test_any_write_expires_due_transfers_first(funded: LedgerService, clock: FixedClock) -> None:
    assert funded.create_transfers([pending(10, 100, timeout=1)]) == []
    clock.advance_seconds(2)
    assert funded.create_transfers([TransferRequest(11, 2, 1, 5, 1, 1)]) == []
    assert state_of(funded, 10) is PendingState.expired
    assert balances(funded) == {1: (0, 0, 0, 5), 2: (0, 5, 0, 0)}


def test_a_timeout_of_zero_never_expires(funded: LedgerService, clock: FixedClock) -> None:
    assert funded.create_transfers([pending(10, 100)]) == []
    clock.advance_seconds(10**6)
    funded.expire_pending_transfers()
    assert state_of(funded, 10) is PendingState.pending


def test_posting_before_the_deadline_wins_over_expiry(
    funded: LedgerService, clock: FixedClock
) -> None:
    assert funded.create_transfers([pending(10, 100, timeout=5)]) == []
    clock.advance_seconds(4)
    assert funded.create_transfers([post(11, 10)]) == []
    clock.advance_seconds(10)
    funded.expire_pending_transfers()
    assert state_of(funded, 10) is PendingState.posted
    assert balances(funded) == {1: (0, 100, 0, 0), 2: (0, 0, 0, 100)}


def test_expiry_is_recorded_in_the_history_of_history_accounts(
    funded: LedgerService, clock: FixedClock
) -> None:
    assert funded.create_transfers([pending(10, 100, timeout=1)]) == []
    clock.advance_seconds(2)
    funded.expire_pending_transfers()
    history = funded.get_account_balances(AccountFilter(account_id=1))
    assert [(b.debits_pending, b.debits_posted) for b in history] == [(100, 0), (0, 0)]
    assert history[0].timestamp < history[1].timestamp


def test_a_pending_transfer_is_expired_at_an_event_past_its_deadline() -> None:
    """Domain level: an event stamped after the deadline sees the transfer expired even before
    any sweep has voided it."""
    state = LedgerState()
    assert (
        apply_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)], state, 1).results == []
    )
    assert apply_transfers([pending(10, 100, timeout=1)], state, 1_000).results == []
    deadline = 1_000 + SECOND_NS
    late = apply_transfers([post(11, 10)], state, deadline)
    assert late.results == [CreateResult(0, S.pending_transfer_expired)]
    on_time = apply_transfers([post(12, 10)], state, deadline - 1)
    assert on_time.results == []


def test_balances_history_after_each_transfer(funded: LedgerService) -> None:
    assert funded.create_transfers([pending(10, 100), post(11, 10, amount=30)]) == []
    history = funded.get_account_balances(AccountFilter(account_id=2))
    assert [b.credits_pending for b in history] == [100, 0]
    assert [b.credits_posted for b in history] == [0, 30]
    timestamps = [t.timestamp for t in funded.lookup_transfers([10, 11])]
    assert [b.timestamp for b in history] == timestamps
    assert all(isinstance(b, AccountBalance) and b.account_id == 2 for b in history)

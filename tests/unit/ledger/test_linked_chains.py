"""Linked chains are all-or-nothing: a failure anywhere undoes the chain's earlier events, the
rest of the chain reports `linked_event_failed`, and events outside the chain are unaffected."""

from __future__ import annotations

from typing import Any

from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    Account,
    AccountRequest,
    CreateResult,
    PendingState,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateAccountStatus as A
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
LINKED = F.linked


def transfer(id: int, debit: int, credit: int, amount: int, **fields: Any) -> TransferRequest:
    return TransferRequest(id, debit, credit, amount, 1, 1, **fields)


def balances(ledger: LedgerService, *ids: int) -> dict[int, tuple[int, int, int, int]]:
    return {
        a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        for a in ledger.lookup_accounts(list(ids))
    }


def open_accounts(ledger: LedgerService) -> None:
    assert (
        ledger.create_accounts(
            [
                AccountRequest(1, 1, 1),
                AccountRequest(2, 1, 1),
                AccountRequest(3, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits),
                AccountRequest(4, 1, 1),
            ]
        )
        == []
    )


def test_a_failure_in_the_middle_undoes_the_earlier_legs_and_fails_the_later(
    ledger: LedgerService,
) -> None:
    open_accounts(ledger)
    before = balances(ledger, 1, 2, 3, 4)
    batch = [
        transfer(10, 1, 2, 100, flags=LINKED),
        transfer(11, 2, 4, 30, flags=LINKED),
        transfer(12, 3, 4, 1, flags=LINKED),  # 3 may not go overdrawn: the chain fails here
        transfer(13, 1, 4, 5),  # closes the chain
        transfer(14, 1, 2, 7),  # outside the chain
    ]

    results = ledger.create_transfers(batch)

    assert results == [
        CreateResult(0, S.linked_event_failed),
        CreateResult(1, S.linked_event_failed),
        CreateResult(2, S.exceeds_credits),
        CreateResult(3, S.linked_event_failed),
    ]
    assert [t.id for t in ledger.lookup_transfers([10, 11, 12, 13, 14])] == [14]
    after = balances(ledger, 1, 2, 3, 4)
    assert after[1] == (0, 7, 0, 0)
    assert after[2] == (0, 0, 0, 7)
    assert after[3] == before[3]
    assert after[4] == before[4]


def test_a_chain_that_succeeds_applies_every_leg_and_later_legs_see_earlier_ones(
    ledger: LedgerService,
) -> None:
    open_accounts(ledger)
    batch = [
        transfer(10, 1, 3, 50, flags=LINKED),  # funds the limited account 3 ...
        transfer(11, 3, 4, 50),  # ... which this leg then spends
    ]
    assert ledger.create_transfers(batch) == []
    assert balances(ledger, 3)[3] == (0, 50, 0, 50)


def test_the_batch_must_not_end_inside_a_chain(ledger: LedgerService) -> None:
    open_accounts(ledger)
    batch = [
        transfer(9, 1, 2, 1),
        transfer(10, 1, 2, 100, flags=LINKED),
        transfer(11, 1, 2, 100, flags=LINKED),
    ]
    assert ledger.create_transfers(batch) == [
        CreateResult(1, S.linked_event_failed),
        CreateResult(2, S.linked_event_chain_open),
    ]
    assert [t.id for t in ledger.lookup_transfers([9, 10, 11])] == [9]
    assert balances(ledger, 1)[1] == (0, 1, 0, 0)


def test_chains_are_independent_of_each_other(ledger: LedgerService) -> None:
    open_accounts(ledger)
    batch = [
        transfer(10, 1, 2, 5, flags=LINKED),
        transfer(11, 1, 2, 0),  # amount zero: the first chain fails
        transfer(12, 1, 2, 5, flags=LINKED),
        transfer(13, 2, 4, 5),  # the second chain succeeds
    ]
    assert ledger.create_transfers(batch) == [
        CreateResult(0, S.linked_event_failed),
        CreateResult(1, S.amount_must_not_be_zero),
    ]
    assert [t.id for t in ledger.lookup_transfers([10, 11, 12, 13])] == [12, 13]


def test_a_failed_chain_restores_the_pending_transfers_it_posted(ledger: LedgerService) -> None:
    open_accounts(ledger)
    assert ledger.create_transfers([transfer(10, 1, 2, 40, flags=F.pending)]) == []
    batch = [
        TransferRequest(11, 0, 0, 0, 0, 0, F.post_pending_transfer | LINKED, pending_id=10),
        transfer(12, 3, 4, 1),  # fails: exceeds_credits
    ]
    assert ledger.create_transfers(batch) == [
        CreateResult(0, S.linked_event_failed),
        CreateResult(1, S.exceeds_credits),
    ]
    assert ledger.lookup_pending([10])[0].state == PendingState.pending
    assert balances(ledger, 1, 2) == {1: (40, 0, 0, 0), 2: (0, 0, 40, 0)}
    # And the pending transfer can still be posted afterwards.
    assert (
        ledger.create_transfers(
            [TransferRequest(13, 0, 0, 0, 0, 0, F.post_pending_transfer, pending_id=10)]
        )
        == []
    )
    assert balances(ledger, 1, 2) == {1: (0, 40, 0, 0), 2: (0, 0, 0, 40)}


def test_a_failed_chain_forgets_the_pending_transfers_it_created(ledger: LedgerService) -> None:
    open_accounts(ledger)
    batch = [
        transfer(10, 1, 2, 40, flags=F.pending | LINKED),
        TransferRequest(11, 0, 0, 0, 0, 0, F.post_pending_transfer | LINKED, pending_id=10),
        transfer(12, 3, 4, 1),
    ]
    assert ledger.create_transfers(batch)[-1] == CreateResult(2, S.exceeds_credits)
    assert ledger.lookup_transfers([10, 11]) == []
    assert ledger.lookup_pending([10]) == []
    assert balances(ledger, 1, 2) == {1: (0, 0, 0, 0), 2: (0, 0, 0, 0)}


def test_a_failed_chain_reopens_the_account_its_closing_leg_closed(
    ledger: LedgerService,
) -> None:
    open_accounts(ledger)
    batch = [
        transfer(10, 1, 2, 1, flags=F.pending | F.closing_debit | LINKED),
        transfer(11, 3, 4, 1),
    ]
    assert ledger.create_transfers(batch)[-1] == CreateResult(1, S.exceeds_credits)
    [account] = ledger.lookup_accounts([1])
    assert not account.flags & AccountFlags.closed
    assert ledger.create_transfers([transfer(12, 1, 2, 1)]) == []


# -- accounts ----------------------------------------------------------------------------------


def test_account_chain_failure_undoes_the_chain_only(ledger: LedgerService) -> None:
    batch = [
        AccountRequest(1, 1, 1, flags=AccountFlags.linked),
        AccountRequest(2, 0, 1),  # ledger zero: the chain fails
        AccountRequest(3, 1, 1),  # outside the chain
    ]
    assert ledger.create_accounts(batch) == [
        CreateResult(0, A.linked_event_failed),
        CreateResult(1, A.ledger_must_not_be_zero),
    ]
    assert [a.id for a in ledger.lookup_accounts([1, 2, 3])] == [3]


def test_account_chain_open_at_the_end(ledger: LedgerService) -> None:
    batch = [
        AccountRequest(1, 1, 1),
        AccountRequest(2, 1, 1, flags=AccountFlags.linked),
        AccountRequest(3, 1, 1, flags=AccountFlags.linked),
    ]
    assert ledger.create_accounts(batch) == [
        CreateResult(1, A.linked_event_failed),
        CreateResult(2, A.linked_event_chain_open),
    ]
    accounts: list[Account] = ledger.lookup_accounts([1, 2, 3])
    assert [a.id for a in accounts] == [1]


def test_account_chain_that_succeeds(ledger: LedgerService) -> None:
    batch = [
        AccountRequest(1, 1, 1, flags=AccountFlags.linked),
        AccountRequest(2, 1, 1, flags=AccountFlags.linked),
        AccountRequest(3, 1, 1),
    ]
    assert ledger.create_accounts(batch) == []
    assert len(ledger.lookup_accounts([1, 2, 3])) == 3

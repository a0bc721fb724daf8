"""Closing transfers (pending, with `closing_debit` or `closing_credit`) close an account;
voiding or expiring them reopens it; posting them keeps it closed."""

from __future__ import annotations

import pytest

from hazina.kernel.clock import FixedClock
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
CLOSING = 1  # the account being closed


def transfer(id: int, debit: int, credit: int, amount: int = 1, flags: int = 0) -> TransferRequest:
    return TransferRequest(id, debit, credit, amount, 1, 1, flags)


def post(id: int, pending_id: int) -> TransferRequest:
    return TransferRequest(id, 0, 0, 0, 0, 0, F.post_pending_transfer, pending_id)


def void(id: int, pending_id: int) -> TransferRequest:
    return TransferRequest(id, 0, 0, 0, 0, 0, F.void_pending_transfer, pending_id)


def is_closed(ledger: LedgerService, account_id: int = CLOSING) -> bool:
    [account] = ledger.lookup_accounts([account_id])
    return bool(account.flags & AccountFlags.closed)


@pytest.fixture
def closed(ledger: LedgerService) -> LedgerService:
    accounts = [AccountRequest(i, 1, 1) for i in (1, 2, 3)]
    assert ledger.create_accounts(accounts) == []
    assert ledger.create_transfers([transfer(9, 1, 3, 5, F.pending)]) == []  # an older hold
    assert ledger.create_transfers([transfer(10, CLOSING, 2, 1, F.pending | F.closing_debit)]) == []
    assert is_closed(ledger)
    return ledger


def test_a_closed_account_takes_no_new_transfers_on_either_side(closed: LedgerService) -> None:
    assert closed.create_transfers([transfer(20, CLOSING, 2)]) == [
        CreateResult(0, S.debit_account_already_closed)
    ]
    assert closed.create_transfers([transfer(21, 2, CLOSING)]) == [
        CreateResult(0, S.credit_account_already_closed)
    ]
    assert closed.create_transfers([transfer(22, 2, CLOSING, flags=F.pending)]) == [
        CreateResult(0, S.credit_account_already_closed)
    ]


def test_voiding_the_closing_transfer_reopens(closed: LedgerService) -> None:
    assert closed.create_transfers([void(20, 10)]) == []
    assert not is_closed(closed)
    assert closed.create_transfers([transfer(21, CLOSING, 2)]) == []


def test_posting_the_closing_transfer_keeps_the_account_closed(closed: LedgerService) -> None:
    assert closed.create_transfers([post(20, 10)]) == []
    assert is_closed(closed)
    [account] = closed.lookup_accounts([CLOSING])
    assert account.debits_posted == 1
    assert closed.create_transfers([transfer(21, 2, CLOSING)]) == [
        CreateResult(0, S.credit_account_already_closed)
    ]


def test_older_holds_on_a_closed_account_can_be_voided_not_posted(closed: LedgerService) -> None:
    assert closed.create_transfers([post(20, 9)]) == [
        CreateResult(0, S.debit_account_already_closed)
    ]
    assert closed.create_transfers([void(21, 9)]) == []
    assert is_closed(closed)


def test_expiry_of_the_closing_transfer_reopens(ledger: LedgerService, clock: FixedClock) -> None:
    assert ledger.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    closing = TransferRequest(10, 1, 2, 1, 1, 1, F.pending | F.closing_credit, timeout=3)
    assert ledger.create_transfers([closing]) == []
    assert is_closed(ledger, 2)
    clock.advance_seconds(4)
    ledger.expire_pending_transfers()
    assert not is_closed(ledger, 2)
    assert ledger.create_transfers([transfer(11, 1, 2)]) == []


def test_an_account_created_closed_takes_nothing(ledger: LedgerService) -> None:
    accounts = [AccountRequest(1, 1, 1, flags=AccountFlags.closed), AccountRequest(2, 1, 1)]
    assert ledger.create_accounts(accounts) == []
    assert is_closed(ledger, 1)
    assert ledger.create_transfers([transfer(10, 2, 1)]) == [
        CreateResult(0, S.credit_account_already_closed)
    ]


def test_closing_both_sides_at_once(ledger: LedgerService) -> None:
    assert ledger.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    flags = F.pending | F.closing_debit | F.closing_credit
    assert ledger.create_transfers([transfer(10, 1, 2, 0 + 1, flags)]) == []
    assert is_closed(ledger, 1)
    assert is_closed(ledger, 2)
    assert ledger.create_transfers([void(11, 10)]) == []
    assert not is_closed(ledger, 1)
    assert not is_closed(ledger, 2)

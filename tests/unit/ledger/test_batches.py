"""Batch limits: at most 8,189 events; a larger batch raises and applies nothing."""

from __future__ import annotations

import pytest

from hazina.kernel.limits import account_batch_size_max, transfer_batch_size_max
from hazina.ledger.domain.model import AccountRequest, QueryFilter, TransferRequest
from hazina.ledger.service import BatchTooLargeError, LedgerService


def test_limits_are_tigerbeetles() -> None:
    assert transfer_batch_size_max == account_batch_size_max == 8_189


def test_an_oversize_account_batch_raises_and_applies_nothing(ledger: LedgerService) -> None:
    batch = [AccountRequest(i, 1, 1) for i in range(1, account_batch_size_max + 2)]
    with pytest.raises(BatchTooLargeError) as raised:
        ledger.create_accounts(batch)
    assert (raised.value.size, raised.value.limit) == (account_batch_size_max + 1, 8_189)
    assert raised.value.code == "batch_too_large"
    assert ledger.query_accounts(QueryFilter()) == []


def test_an_oversize_transfer_batch_raises_and_applies_nothing(ledger: LedgerService) -> None:
    assert ledger.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    batch = [TransferRequest(i, 1, 2, 1, 1, 1) for i in range(1, transfer_batch_size_max + 2)]
    with pytest.raises(BatchTooLargeError):
        ledger.create_transfers(batch)
    assert ledger.query_transfers(QueryFilter()) == []
    assert [a.debits_posted for a in ledger.lookup_accounts([1])] == [0]


def test_a_full_batch_is_accepted(ledger: LedgerService) -> None:
    assert ledger.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    batch = [TransferRequest(i, 1, 2, 1, 1, 1) for i in range(1, transfer_batch_size_max + 1)]
    assert ledger.create_transfers(batch) == []
    [account] = ledger.lookup_accounts([1])
    assert account.debits_posted == transfer_batch_size_max


def test_an_empty_batch_is_fine(ledger: LedgerService) -> None:
    assert ledger.create_accounts([]) == []
    assert ledger.create_transfers([]) == []

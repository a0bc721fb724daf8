"""Inputs are integers: int-valued enum members are accepted as their values; floats, bools and
strings are refused with the status of the field's range rule, and affect no other event."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import pytest

from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, QueryFilter, TransferRequest
from hazina.ledger.domain.results import CreateAccountStatus as A
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService


class Ledger(IntEnum):
    KES = 404


class Code(IntEnum):
    wallet = 1
    payment = 7


def test_enum_members_are_accepted_and_stored_as_integers(ledger: LedgerService) -> None:
    accounts = [
        AccountRequest(1, Ledger.KES, Code.wallet, AccountFlags.history),
        AccountRequest(2, Ledger.KES, Code.wallet, AccountFlags.debits_must_not_exceed_credits),
    ]
    assert ledger.create_accounts(accounts) == []
    transfers = [
        TransferRequest(10, 1, 2, 5, Ledger.KES, Code.payment, TransferFlags.pending),
        TransferRequest(
            11, 0, 0, 0, 0, 0, TransferFlags.post_pending_transfer | TransferFlags.linked, 10
        ),
        TransferRequest(12, 1, 2, 1, Ledger.KES, Code.payment),
    ]
    assert ledger.create_transfers(transfers) == []
    [first, second] = ledger.lookup_accounts([1, 2])
    assert (first.ledger, first.code, first.flags) == (404, 1, 8)
    assert type(first.flags) is int
    assert type(first.ledger) is int
    [pending, posted, _] = ledger.lookup_transfers([10, 11, 12])
    assert (pending.ledger, pending.code, pending.flags) == (404, 7, 2)
    assert type(pending.flags) is int
    assert type(posted.flags) is int
    assert second.credits_posted == 6
    # The same request, spelled with plain integers, is the same record.
    assert ledger.create_accounts([AccountRequest(1, 404, 1, 8), AccountRequest(2, 404, 1, 2)]) == [
        CreateResult(0, A.exists),
        CreateResult(1, A.exists),
    ]
    assert ledger.create_transfers([TransferRequest(10, 1, 2, 5, 404, 7, 2)]) == [
        CreateResult(0, S.exists)
    ]


NOT_INTEGERS: list[Any] = [1.0, True, "1"]

TRANSFER_FIELDS = {
    "id": S.id_out_of_range,
    "debit_account_id": S.debit_account_id_out_of_range,
    "credit_account_id": S.credit_account_id_out_of_range,
    "amount": S.amount_out_of_range,
    "ledger": S.ledger_out_of_range,
    "code": S.code_out_of_range,
    "flags": S.reserved_flag,
    "pending_id": S.pending_id_out_of_range,
    "timeout": S.timeout_out_of_range,
    "user_data_128": S.user_data_out_of_range,
    "user_data_64": S.user_data_out_of_range,
    "user_data_32": S.user_data_out_of_range,
    "timestamp": S.timestamp_must_be_zero,
}
ACCOUNT_FIELDS = {
    "id": A.id_out_of_range,
    "ledger": A.ledger_out_of_range,
    "code": A.code_out_of_range,
    "flags": A.reserved_flag,
    "user_data_128": A.user_data_out_of_range,
    "user_data_64": A.user_data_out_of_range,
    "user_data_32": A.user_data_out_of_range,
    "timestamp": A.timestamp_must_be_zero,
}


def test_every_field_is_covered() -> None:
    assert set(TRANSFER_FIELDS) == set(TransferRequest._fields)
    assert set(ACCOUNT_FIELDS) == set(AccountRequest._fields)


@pytest.mark.parametrize("name", TRANSFER_FIELDS)
def test_a_transfer_field_that_is_not_an_integer(ledger: LedgerService, name: str) -> None:
    assert ledger.create_accounts([AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)]) == []
    # Values that would be valid if they were integers, so only the type is wrong; good events
    # around each bad one show that nothing else is affected.
    batch = [TransferRequest(20, 1, 2, 1, 1, 1)]
    for value in NOT_INTEGERS:
        batch.append(TransferRequest(len(batch) + 20, 1, 2, 1, 1, 1)._replace(**{name: value}))
        batch.append(TransferRequest(len(batch) + 20, 1, 2, 1, 1, 1))

    results = ledger.create_transfers(batch)

    assert results == [CreateResult(i, TRANSFER_FIELDS[name]) for i in (1, 3, 5)]
    assert [t.id for t in ledger.query_transfers(QueryFilter())] == [20, 22, 24, 26]
    [debit] = ledger.lookup_accounts([1])
    assert debit.debits_posted == 4


@pytest.mark.parametrize("name", ACCOUNT_FIELDS)
def test_an_account_field_that_is_not_an_integer(ledger: LedgerService, name: str) -> None:
    batch = [AccountRequest(1, 1, 1)]
    for value in NOT_INTEGERS:
        batch.append(AccountRequest(len(batch) + 1, 1, 1)._replace(**{name: value}))
        batch.append(AccountRequest(len(batch) + 1, 1, 1))

    results = ledger.create_accounts(batch)

    assert results == [CreateResult(i, ACCOUNT_FIELDS[name]) for i in (1, 3, 5)]
    assert [a.id for a in ledger.query_accounts(QueryFilter())] == [1, 3, 5, 7]

"""One row per `CreateAccountStatus`, in precedence order: the smallest setup and the one event
that yields exactly that status, and a check that nothing of the event was applied.

A meta-test fails when a status is added without a row. Precedence checks follow the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hazina.kernel.limits import (
    ledger_code_max,
    ledger_id_max,
    ledger_ledger_max,
    ledger_user_data_64_max,
)
from hazina.ledger.domain.flags import AccountFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, QueryFilter
from hazina.ledger.domain.results import CreateAccountStatus as S
from hazina.ledger.service import LedgerService

F = AccountFlags
EXISTING = AccountRequest(1, 1, 10, user_data_128=128, user_data_64=64, user_data_32=32)
NEW = 2


def account(id: int = NEW, ledger: int = 1, code: int = 10, **fields: object) -> AccountRequest:
    return AccountRequest(id, ledger, code, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Row:
    status: S
    batch: tuple[AccountRequest, ...]
    expected: tuple[S, ...] = ()  # the status of every event; default: (status,)

    def results(self) -> list[CreateResult]:
        statuses = self.expected or (self.status,)
        assert len(statuses) == len(self.batch)
        return [CreateResult(i, s) for i, s in enumerate(statuses) if s is not S.ok]


ROWS = [
    Row(S.ok, (account(),)),
    Row(
        S.linked_event_failed,
        (account(flags=F.linked), account(3, ledger=0)),
        (S.linked_event_failed, S.ledger_must_not_be_zero),
    ),
    Row(S.linked_event_chain_open, (account(flags=F.linked),)),
    Row(S.timestamp_must_be_zero, (account(timestamp=1),)),
    Row(S.reserved_flag, (account(flags=1 << 5),)),
    Row(S.id_out_of_range, (account(ledger_id_max + 1),)),
    Row(S.user_data_out_of_range, (account(user_data_64=ledger_user_data_64_max + 1),)),
    Row(S.ledger_out_of_range, (account(ledger=ledger_ledger_max + 1),)),
    Row(S.code_out_of_range, (account(code=ledger_code_max + 1),)),
    Row(S.id_must_not_be_zero, (account(0),)),
    Row(S.id_must_not_be_int_max, (account(ledger_id_max),)),
    Row(S.exists_with_different_flags, (EXISTING._replace(flags=F.history),)),
    Row(S.exists_with_different_user_data_128, (EXISTING._replace(user_data_128=1),)),
    Row(S.exists_with_different_user_data_64, (EXISTING._replace(user_data_64=1),)),
    Row(S.exists_with_different_user_data_32, (EXISTING._replace(user_data_32=1),)),
    Row(S.exists_with_different_ledger, (EXISTING._replace(ledger=2),)),
    Row(S.exists_with_different_code, (EXISTING._replace(code=11),)),
    Row(S.exists, (EXISTING,)),
    Row(
        S.flags_are_mutually_exclusive,
        (account(flags=F.debits_must_not_exceed_credits | F.credits_must_not_exceed_debits),),
    ),
    Row(S.ledger_must_not_be_zero, (account(ledger=0),)),
    Row(S.code_must_not_be_zero, (account(code=0),)),
]


def test_every_status_has_exactly_one_row_in_precedence_order() -> None:
    assert [row.status for row in ROWS] == list(S)


def test_no_account_status_is_transient_but_linked_event_failed() -> None:
    assert {status for status in S if status.transient} == {S.linked_event_failed}


def all_accounts(ledger: LedgerService) -> list[object]:
    return list(ledger.query_accounts(QueryFilter(limit=8189)))


@pytest.mark.parametrize("row", ROWS, ids=[row.status.name for row in ROWS])
def test_status(ledger: LedgerService, row: Row) -> None:
    assert ledger.create_accounts([EXISTING]) == []
    before = all_accounts(ledger)

    results = ledger.create_accounts(row.batch)

    assert results == row.results()
    if row.status is S.ok:
        [created] = ledger.lookup_accounts([NEW])
        assert (created.ledger, created.code, created.flags) == (1, 10, 0)
        assert created.debits_posted == created.credits_posted == 0
        before = all_accounts(ledger)
    else:
        assert all_accounts(ledger) == before, "nothing was applied"

    again = ledger.create_accounts(row.batch)
    assert again == ([CreateResult(0, S.exists)] if row.status is S.ok else results)
    assert all_accounts(ledger) == before


@dataclass(frozen=True)
class Precedence:
    event: AccountRequest
    first: S
    mended: AccountRequest  # the event with the first rule mended
    second: S


PRECEDENCE = [
    Precedence(
        account(flags=1 << 6, timestamp=3),
        S.timestamp_must_be_zero,
        account(flags=1 << 6),
        S.reserved_flag,
    ),
    Precedence(account(-1, flags=1 << 6), S.reserved_flag, account(-1), S.id_out_of_range),
    Precedence(
        account(-1, user_data_32=-1),
        S.id_out_of_range,
        account(user_data_32=-1),
        S.user_data_out_of_range,
    ),
    Precedence(
        account(ledger=-1, code=-1), S.ledger_out_of_range, account(code=-1), S.code_out_of_range
    ),
    Precedence(account(0, code=-1), S.code_out_of_range, account(0), S.id_must_not_be_zero),
    Precedence(
        EXISTING._replace(flags=F.history, code=11),
        S.exists_with_different_flags,
        EXISTING._replace(code=11),
        S.exists_with_different_code,
    ),
    Precedence(
        EXISTING._replace(ledger=0),
        S.exists_with_different_ledger,
        account(ledger=0),
        S.ledger_must_not_be_zero,
    ),
    Precedence(
        account(ledger=0, code=0),
        S.ledger_must_not_be_zero,
        account(code=0),
        S.code_must_not_be_zero,
    ),
    Precedence(
        account(
            flags=F.linked | F.debits_must_not_exceed_credits | F.credits_must_not_exceed_debits
        ),
        S.linked_event_chain_open,
        account(flags=F.debits_must_not_exceed_credits | F.credits_must_not_exceed_debits),
        S.flags_are_mutually_exclusive,
    ),
    # A value that is not an integer at all breaks its field's range rule, in precedence order.
    Precedence(
        account(ledger=1.0, timestamp=5),  # type: ignore[arg-type]
        S.timestamp_must_be_zero,
        account(ledger=1.0),  # type: ignore[arg-type]
        S.ledger_out_of_range,
    ),
    Precedence(
        account(id=True, flags=1 << 7),  # a bool is not an integer id
        S.reserved_flag,
        account(id=True),
        S.id_out_of_range,
    ),
]


@pytest.mark.parametrize("case", PRECEDENCE, ids=[f"{c.first.name}" for c in PRECEDENCE])
def test_the_earlier_status_wins(ledger: LedgerService, case: Precedence) -> None:
    assert case.first < case.second
    assert ledger.create_accounts([EXISTING]) == []
    before = all_accounts(ledger)

    assert ledger.create_accounts([case.event]) == [CreateResult(0, case.first)]
    assert ledger.create_accounts([case.mended]) == [CreateResult(0, case.second)]
    assert all_accounts(ledger) == before

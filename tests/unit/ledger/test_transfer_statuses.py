"""One row per `CreateTransferStatus`, in precedence order: the smallest setup and the one event
that yields exactly that status, and a check that nothing of the event was applied.

A meta-test fails when a status is added without a row. Precedence checks follow the table: an
event that breaks two rules reports the earlier one, and once that rule is mended, the later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import (
    ledger_amount_max,
    ledger_code_max,
    ledger_id_max,
    ledger_ledger_max,
    ledger_timeout_seconds_max,
    ledger_user_data_32_max,
)
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    AccountRequest,
    CreateResult,
    QueryFilter,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
LEDGER = 1
CODE = 20

ACCOUNTS = (
    AccountRequest(1, LEDGER, 10),
    AccountRequest(2, LEDGER, 10),
    AccountRequest(3, 2, 10),  # another ledger
    AccountRequest(4, LEDGER, 10, flags=AccountFlags.debits_must_not_exceed_credits),
    AccountRequest(5, LEDGER, 10, flags=AccountFlags.credits_must_not_exceed_debits),
    AccountRequest(6, LEDGER, 10),  # closed by a row's setup
    AccountRequest(7, LEDGER, 10),  # closed by a row's setup
    AccountRequest(8, LEDGER, 10),  # filled to the brim by a row's setup
    AccountRequest(9, LEDGER, 10),  # filled to the brim by a row's setup
)


def transfer(
    id: int,
    debit: int = 1,
    credit: int = 2,
    amount: int = 5,
    *,
    ledger: int = LEDGER,
    code: int = CODE,
    flags: int = 0,
    **fields: Any,
) -> TransferRequest:
    return TransferRequest(id, debit, credit, amount, ledger, code, flags, **fields)


def post(id: int, pending_id: int, amount: int = 0, **fields: Any) -> TransferRequest:
    return TransferRequest(id, 0, 0, amount, 0, 0, F.post_pending_transfer, pending_id, **fields)


def void(id: int, pending_id: int, amount: int = 0, **fields: Any) -> TransferRequest:
    return TransferRequest(id, 0, 0, amount, 0, 0, F.void_pending_transfer, pending_id, **fields)


PENDING_ID = 100  # pending, 1 -> 2, amount 50, no timeout
POSTED_ID = 101  # single-phase, 1 -> 2, amount 10
BASE = (
    transfer(PENDING_ID, amount=50, flags=F.pending),
    transfer(POSTED_ID, amount=10, user_data_128=128, user_data_64=64, user_data_32=32),
)
POSTED = BASE[1]
NEW = 200  # the id of the event under test


def expire_soon() -> tuple[TransferRequest, ...]:
    return (transfer(103, amount=5, flags=F.pending, timeout=1),)


def pass_timeout(ledger: LedgerService, clock: FixedClock) -> None:
    clock.advance_seconds(2)
    ledger.expire_pending_transfers()


def near_end_of_time(ledger: LedgerService, clock: FixedClock) -> None:
    # Late enough that the longest timeout, in nanoseconds, overflows the 63-bit range.
    target = ledger_amount_max - ledger_timeout_seconds_max * 10**9 + 1
    clock.advance_ns(target - clock.now_ns())


@dataclass(frozen=True)
class Row:
    status: S
    batch: tuple[TransferRequest, ...]
    expected: tuple[S, ...] = ()  # the status of every event; default: (status,)
    setup: tuple[TransferRequest, ...] = ()
    setup_results: tuple[CreateResult, ...] = ()
    prepare: Callable[[LedgerService, FixedClock], None] | None = field(default=None)

    def results(self) -> list[CreateResult]:
        statuses = self.expected or (self.status,)
        assert len(statuses) == len(self.batch)
        return [CreateResult(i, s) for i, s in enumerate(statuses) if s is not S.ok]


FULL = ledger_amount_max
ROWS = [
    Row(S.ok, (transfer(NEW),)),
    Row(
        S.linked_event_failed,
        (transfer(NEW, flags=F.linked), transfer(NEW + 1, amount=0)),
        (S.linked_event_failed, S.amount_must_not_be_zero),
    ),
    Row(S.linked_event_chain_open, (transfer(NEW, flags=F.linked),)),
    Row(S.timestamp_must_be_zero, (transfer(NEW, timestamp=1),)),
    Row(S.reserved_flag, (transfer(NEW, flags=1 << 8),)),
    Row(S.id_out_of_range, (transfer(ledger_id_max + 1),)),
    Row(S.debit_account_id_out_of_range, (transfer(NEW, debit=ledger_id_max + 1),)),
    Row(S.credit_account_id_out_of_range, (transfer(NEW, credit=-1),)),
    Row(S.pending_id_out_of_range, (transfer(NEW, pending_id=ledger_id_max + 1),)),
    Row(S.amount_must_not_be_negative, (transfer(NEW, amount=-1),)),
    Row(S.amount_out_of_range, (transfer(NEW, amount=ledger_amount_max + 1),)),
    Row(S.user_data_out_of_range, (transfer(NEW, user_data_32=ledger_user_data_32_max + 1),)),
    Row(
        S.timeout_out_of_range,
        (transfer(NEW, flags=F.pending, timeout=ledger_timeout_seconds_max + 1),),
    ),
    Row(S.ledger_out_of_range, (transfer(NEW, ledger=ledger_ledger_max + 1),)),
    Row(S.code_out_of_range, (transfer(NEW, code=ledger_code_max + 1),)),
    Row(S.id_must_not_be_zero, (transfer(0),)),
    Row(S.id_must_not_be_int_max, (transfer(ledger_id_max),)),
    Row(S.exists_with_different_flags, (POSTED._replace(flags=F.pending),)),
    Row(S.exists_with_different_pending_id, (POSTED._replace(pending_id=PENDING_ID),)),
    Row(S.exists_with_different_timeout, (POSTED._replace(timeout=1),)),
    Row(S.exists_with_different_debit_account_id, (POSTED._replace(debit_account_id=4),)),
    Row(S.exists_with_different_credit_account_id, (POSTED._replace(credit_account_id=5),)),
    Row(S.exists_with_different_amount, (POSTED._replace(amount=11),)),
    Row(S.exists_with_different_user_data_128, (POSTED._replace(user_data_128=1),)),
    Row(S.exists_with_different_user_data_64, (POSTED._replace(user_data_64=1),)),
    Row(S.exists_with_different_user_data_32, (POSTED._replace(user_data_32=1),)),
    Row(S.exists_with_different_ledger, (POSTED._replace(ledger=2),)),
    Row(S.exists_with_different_code, (POSTED._replace(code=CODE + 1),)),
    Row(S.exists, (POSTED,)),
    Row(
        S.id_already_failed,
        (transfer(NEW),),
        setup=(transfer(NEW, debit=4, credit=2),),
        setup_results=(CreateResult(0, S.exceeds_credits),),
    ),
    Row(
        S.flags_are_mutually_exclusive,
        (post(NEW, PENDING_ID)._replace(flags=F.post_pending_transfer | F.void_pending_transfer),),
    ),
    Row(S.debit_account_id_must_not_be_zero, (transfer(NEW, debit=0),)),
    Row(S.debit_account_id_must_not_be_int_max, (transfer(NEW, debit=ledger_id_max),)),
    Row(S.credit_account_id_must_not_be_zero, (transfer(NEW, credit=0),)),
    Row(S.credit_account_id_must_not_be_int_max, (transfer(NEW, credit=ledger_id_max),)),
    Row(S.accounts_must_be_different, (transfer(NEW, debit=1, credit=1),)),
    Row(S.pending_id_must_be_zero, (transfer(NEW, pending_id=PENDING_ID),)),
    Row(S.pending_id_must_not_be_zero, (post(NEW, 0),)),
    Row(S.pending_id_must_not_be_int_max, (post(NEW, ledger_id_max),)),
    Row(S.pending_id_must_be_different, (post(NEW, NEW),)),
    Row(S.timeout_reserved_for_pending_transfer, (transfer(NEW, timeout=1),)),
    Row(S.closing_transfer_must_be_pending, (transfer(NEW, flags=F.closing_debit),)),
    Row(S.amount_must_not_be_zero, (transfer(NEW, amount=0),)),
    Row(S.ledger_must_not_be_zero, (transfer(NEW, ledger=0),)),
    Row(S.code_must_not_be_zero, (transfer(NEW, code=0),)),
    Row(S.debit_account_not_found, (transfer(NEW, debit=999),)),
    Row(S.credit_account_not_found, (transfer(NEW, credit=999),)),
    Row(S.accounts_must_have_the_same_ledger, (transfer(NEW, debit=1, credit=3),)),
    Row(S.transfer_must_have_the_same_ledger_as_accounts, (transfer(NEW, ledger=2),)),
    Row(S.pending_transfer_not_found, (post(NEW, 999),)),
    Row(S.pending_transfer_not_pending, (post(NEW, POSTED_ID),)),
    Row(
        S.pending_transfer_has_different_debit_account_id,
        (post(NEW, PENDING_ID)._replace(debit_account_id=4),),
    ),
    Row(
        S.pending_transfer_has_different_credit_account_id,
        (post(NEW, PENDING_ID)._replace(credit_account_id=5),),
    ),
    Row(S.pending_transfer_has_different_ledger, (post(NEW, PENDING_ID)._replace(ledger=2),)),
    Row(S.pending_transfer_has_different_code, (post(NEW, PENDING_ID)._replace(code=CODE + 1),)),
    Row(S.exceeds_pending_transfer_amount, (post(NEW, PENDING_ID, amount=51),)),
    Row(S.pending_transfer_has_different_amount, (void(NEW, PENDING_ID, amount=49),)),
    Row(
        S.pending_transfer_already_posted,
        (post(NEW, PENDING_ID),),
        setup=(post(102, PENDING_ID),),
    ),
    Row(
        S.pending_transfer_already_voided,
        (post(NEW, PENDING_ID),),
        setup=(void(102, PENDING_ID),),
    ),
    Row(S.pending_transfer_expired, (post(NEW, 103),), setup=expire_soon(), prepare=pass_timeout),
    Row(
        S.debit_account_already_closed,
        (transfer(NEW, debit=6, credit=2),),
        setup=(transfer(104, debit=6, credit=1, amount=1, flags=F.pending | F.closing_debit),),
    ),
    Row(
        S.credit_account_already_closed,
        (transfer(NEW, debit=1, credit=7),),
        setup=(transfer(104, debit=1, credit=7, amount=1, flags=F.pending | F.closing_credit),),
    ),
    Row(
        S.overflows_debits_pending,
        (transfer(NEW, debit=8, credit=2, amount=1, flags=F.pending),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL, flags=F.pending),),
    ),
    Row(
        S.overflows_credits_pending,
        (transfer(NEW, debit=1, credit=9, amount=1, flags=F.pending),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL, flags=F.pending),),
    ),
    Row(
        S.overflows_debits_posted,
        (transfer(NEW, debit=8, credit=2, amount=1),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL),),
    ),
    Row(
        S.overflows_credits_posted,
        (transfer(NEW, debit=1, credit=9, amount=1),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL),),
    ),
    Row(
        S.overflows_debits,
        (transfer(NEW, debit=8, credit=2, amount=1),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL, flags=F.pending),),
    ),
    Row(
        S.overflows_credits,
        (transfer(NEW, debit=1, credit=9, amount=1),),
        setup=(transfer(105, debit=8, credit=9, amount=FULL, flags=F.pending),),
    ),
    Row(
        S.overflows_timeout,
        (transfer(NEW, flags=F.pending, timeout=ledger_timeout_seconds_max),),
        prepare=near_end_of_time,
    ),
    Row(S.exceeds_credits, (transfer(NEW, debit=4, credit=2),)),
    Row(S.exceeds_debits, (transfer(NEW, debit=1, credit=5),)),
]


def test_every_status_has_exactly_one_row_in_precedence_order() -> None:
    statuses = [row.status for row in ROWS]
    assert statuses == list(S), "one row per status, listed in precedence order"


def everything(ledger: LedgerService, extra_ids: list[int]) -> tuple[object, ...]:
    """All that a batch could have changed: accounts, transfers, pending states, history."""
    transfers = ledger.query_transfers(QueryFilter(limit=8189))
    ids = [t.id for t in transfers] + extra_ids
    accounts = ledger.query_accounts(QueryFilter(limit=8189))
    return (
        accounts,
        transfers,
        ledger.lookup_pending(ids),
        ledger.lookup_transfers(extra_ids),
    )


def prepare(ledger: LedgerService, clock: FixedClock, row: Row) -> None:
    assert ledger.create_accounts(ACCOUNTS) == []
    assert ledger.create_transfers(BASE) == []
    if row.setup:
        assert ledger.create_transfers(row.setup) == list(row.setup_results)
    if row.prepare is not None:
        row.prepare(ledger, clock)


def event_ids(batch: tuple[TransferRequest, ...]) -> list[int]:
    return [t.id for t in batch if type(t.id) is int and 0 < t.id < ledger_id_max]


@pytest.mark.parametrize("row", ROWS, ids=[row.status.name for row in ROWS])
def test_status(ledger: LedgerService, clock: FixedClock, row: Row) -> None:
    prepare(ledger, clock, row)
    before = everything(ledger, event_ids(row.batch))

    results = ledger.create_transfers(row.batch)

    assert results == row.results()
    if row.status is S.ok:
        [created] = ledger.lookup_transfers([NEW])
        assert (created.debit_account_id, created.credit_account_id, created.amount) == (1, 2, 5)
        accounts = {a.id: a for a in ledger.lookup_accounts([1, 2])}
        assert accounts[1].debits_posted == 10 + 5
        assert accounts[2].credits_posted == 10 + 5
        before = everything(ledger, event_ids(row.batch))
    else:
        assert everything(ledger, event_ids(row.batch)) == before, "nothing was applied"

    # Sending the batch again changes nothing either, and says why.
    again = ledger.create_transfers(row.batch)
    if row.status is S.ok:
        assert again == [CreateResult(0, S.exists)]
    elif row.status in REMEMBERED:
        assert again == [CreateResult(0, S.id_already_failed)]
    else:
        assert again == results
    assert everything(ledger, event_ids(row.batch)) == before


# Failures that depend on the ledger's state remember the id (docs/ledger.md, "remembered").
REMEMBERED = frozenset(
    {
        S.debit_account_not_found,
        S.credit_account_not_found,
        S.pending_transfer_not_found,
        S.debit_account_already_closed,
        S.credit_account_already_closed,
        S.overflows_debits_pending,
        S.overflows_credits_pending,
        S.overflows_debits_posted,
        S.overflows_credits_posted,
        S.overflows_debits,
        S.overflows_credits,
        S.exceeds_credits,
        S.exceeds_debits,
    }
)


def test_transient_statuses_are_the_remembered_ones_and_linked_event_failed() -> None:
    transient = {status for status in S if status.transient}
    assert transient == REMEMBERED | {S.linked_event_failed}


# -- precedence: each case breaks two rules; mending the first reveals the second ------------


@dataclass(frozen=True)
class Precedence:
    event: TransferRequest
    first: S
    mended: TransferRequest  # the event with the first rule mended
    second: S


PRECEDENCE = [
    Precedence(
        transfer(NEW, flags=1 << 9, timestamp=7),
        S.timestamp_must_be_zero,
        transfer(NEW, flags=1 << 9),
        S.reserved_flag,
    ),
    Precedence(transfer(-1, flags=1 << 9), S.reserved_flag, transfer(-1), S.id_out_of_range),
    Precedence(
        transfer(NEW, amount=-5, user_data_64=-1),
        S.amount_must_not_be_negative,
        transfer(NEW, user_data_64=-1),
        S.user_data_out_of_range,
    ),
    Precedence(
        transfer(0, code=ledger_code_max + 1),
        S.code_out_of_range,
        transfer(0),
        S.id_must_not_be_zero,
    ),
    Precedence(
        POSTED._replace(amount=0, debit_account_id=4),
        S.exists_with_different_debit_account_id,
        POSTED._replace(amount=0),
        S.exists_with_different_amount,
    ),
    Precedence(
        transfer(NEW, debit=0, credit=0),
        S.debit_account_id_must_not_be_zero,
        transfer(NEW, credit=0),
        S.credit_account_id_must_not_be_zero,
    ),
    Precedence(
        transfer(NEW, amount=0, ledger=0, code=0),
        S.amount_must_not_be_zero,
        transfer(NEW, ledger=0, code=0),
        S.ledger_must_not_be_zero,
    ),
    Precedence(
        transfer(NEW, debit=998, credit=999),
        S.debit_account_not_found,
        transfer(NEW + 1, credit=999),  # a new id: the failed one is remembered
        S.credit_account_not_found,
    ),
    Precedence(
        transfer(NEW, debit=4, credit=5),
        S.exceeds_credits,
        transfer(NEW + 1, debit=1, credit=5),
        S.exceeds_debits,
    ),
    Precedence(
        post(NEW, PENDING_ID, amount=51)._replace(code=CODE + 1),
        S.pending_transfer_has_different_code,
        post(NEW, PENDING_ID, amount=51),
        S.exceeds_pending_transfer_amount,
    ),
    Precedence(
        post(NEW, PENDING_ID, amount=51, timeout=5),
        S.timeout_reserved_for_pending_transfer,
        post(NEW, PENDING_ID, amount=51),
        S.exceeds_pending_transfer_amount,
    ),
    Precedence(
        transfer(NEW, flags=F.linked | F.pending | F.post_pending_transfer, pending_id=PENDING_ID),
        S.linked_event_chain_open,
        transfer(NEW, flags=F.pending | F.post_pending_transfer, pending_id=PENDING_ID),
        S.flags_are_mutually_exclusive,
    ),
]


@pytest.mark.parametrize("case", PRECEDENCE, ids=[f"{c.first.name}" for c in PRECEDENCE])
def test_the_earlier_status_wins(ledger: LedgerService, case: Precedence) -> None:
    assert case.first < case.second
    assert ledger.create_accounts(ACCOUNTS) == []
    assert ledger.create_transfers(BASE) == []
    before = everything(ledger, [NEW, NEW + 1])

    assert ledger.create_transfers([case.event]) == [CreateResult(0, case.first)]
    assert ledger.create_transfers([case.mended]) == [CreateResult(0, case.second)]
    assert everything(ledger, [NEW, NEW + 1]) == before

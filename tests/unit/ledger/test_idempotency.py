"""Ids are idempotency keys: resending changes nothing and says why."""

from __future__ import annotations

import pytest

from hazina.kernel.clock import FixedClock
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    AccountRequest,
    CreateResult,
    QueryFilter,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateAccountStatus as A
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
WALLET = 3  # may not go overdrawn


def everything(ledger: LedgerService) -> tuple[object, ...]:
    transfers = ledger.query_transfers(QueryFilter(limit=8189))
    return (
        ledger.query_accounts(QueryFilter(limit=8189)),
        transfers,
        ledger.lookup_pending([t.id for t in transfers]),
    )


@pytest.fixture
def accounts(ledger: LedgerService) -> LedgerService:
    batch = [
        AccountRequest(1, 1, 1),
        AccountRequest(2, 1, 1),
        AccountRequest(WALLET, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits),
    ]
    assert ledger.create_accounts(batch) == []
    return ledger


def test_resending_accounts_answers_exists(ledger: LedgerService) -> None:
    batch = [AccountRequest(1, 1, 1, user_data_64=7), AccountRequest(2, 2, 3)]
    assert ledger.create_accounts(batch) == []
    assert ledger.create_accounts(batch) == [CreateResult(0, A.exists), CreateResult(1, A.exists)]


def test_resending_a_mixed_batch_changes_nothing(accounts: LedgerService) -> None:
    batch = [
        TransferRequest(10, 1, 2, 5, 1, 1),  # ok
        TransferRequest(11, WALLET, 2, 5, 1, 1),  # exceeds_credits: remembered
        TransferRequest(12, 2, WALLET, 5, 1, 1),  # ok: now the wallet could pay 11
        TransferRequest(13, 1, 2, 0, 1, 1),  # amount_must_not_be_zero: the request is wrong
        TransferRequest(14, 1, 2, 7, 1, 1, F.pending | F.linked),  # a chain that succeeds
        TransferRequest(15, 0, 0, 0, 0, 0, F.post_pending_transfer, 14),
    ]
    first = accounts.create_transfers(batch)
    assert first == [
        CreateResult(1, S.exceeds_credits),
        CreateResult(3, S.amount_must_not_be_zero),
    ]
    before = everything(accounts)

    again = accounts.create_transfers(batch)

    assert again == [
        CreateResult(0, S.exists),
        CreateResult(1, S.id_already_failed),
        CreateResult(2, S.exists),
        CreateResult(3, S.amount_must_not_be_zero),
        CreateResult(4, S.exists),  # the chain's first event fails it ...
        CreateResult(5, S.linked_event_failed),  # ... so the rest report the chain
    ]
    assert everything(accounts) == before


def test_a_remembered_failure_burns_the_id_for_good(accounts: LedgerService) -> None:
    spend = TransferRequest(10, WALLET, 2, 5, 1, 1)
    assert accounts.create_transfers([spend]) == [CreateResult(0, S.exceeds_credits)]
    assert accounts.create_transfers([TransferRequest(11, 1, WALLET, 50, 1, 1)]) == []
    # The wallet could pay now, but the id already failed: a retry must not succeed later.
    assert accounts.create_transfers([spend]) == [CreateResult(0, S.id_already_failed)]
    assert accounts.create_transfers([spend._replace(amount=1)]) == [
        CreateResult(0, S.id_already_failed)
    ]
    assert accounts.lookup_transfers([10]) == []


def test_a_remembered_failure_inside_a_chain_burns_only_its_own_id(
    accounts: LedgerService,
) -> None:
    batch = [
        TransferRequest(10, 1, 2, 5, 1, 1, F.linked),
        TransferRequest(11, WALLET, 2, 5, 1, 1),
    ]
    assert accounts.create_transfers(batch) == [
        CreateResult(0, S.linked_event_failed),
        CreateResult(1, S.exceeds_credits),
    ]
    assert accounts.create_transfers([batch[0]._replace(flags=0)]) == []
    assert accounts.create_transfers([batch[1]]) == [CreateResult(0, S.id_already_failed)]


def test_a_wrong_request_does_not_burn_its_id(accounts: LedgerService) -> None:
    assert accounts.create_transfers([TransferRequest(10, 1, 2, 0, 1, 1)]) == [
        CreateResult(0, S.amount_must_not_be_zero)
    ]
    assert accounts.create_transfers([TransferRequest(10, 1, 2, 5, 1, 1)]) == []


def test_resending_posts_and_voids_with_fields_left_zero(accounts: LedgerService) -> None:
    holds = [
        TransferRequest(10, 1, 2, 50, 1, 1, F.pending),
        TransferRequest(11, 1, 2, 9, 1, 1, F.pending),
    ]
    assert accounts.create_transfers(holds) == []
    post = TransferRequest(20, 0, 0, 0, 0, 0, F.post_pending_transfer, 10)
    void = TransferRequest(21, 0, 0, 0, 0, 0, F.void_pending_transfer, 11)
    assert accounts.create_transfers([post, void]) == []
    before = everything(accounts)
    assert accounts.create_transfers([post]) == [CreateResult(0, S.exists)]
    assert accounts.create_transfers([void]) == [CreateResult(0, S.exists)]
    # Spelling out what the pending transfer supplied is the same transfer, too.
    spelled = post._replace(debit_account_id=1, credit_account_id=2, amount=50, ledger=1, code=1)
    assert accounts.create_transfers([spelled]) == [CreateResult(0, S.exists)]
    assert accounts.create_transfers([post._replace(amount=49)]) == [
        CreateResult(0, S.exists_with_different_amount)
    ]
    assert everything(accounts) == before


def test_resending_a_pending_transfer_with_a_timeout(
    accounts: LedgerService, clock: FixedClock
) -> None:
    hold = TransferRequest(10, 1, 2, 50, 1, 1, F.pending, timeout=60)
    assert accounts.create_transfers([hold]) == []
    clock.advance_seconds(1)
    assert accounts.create_transfers([hold]) == [CreateResult(0, S.exists)]
    assert accounts.create_transfers([hold._replace(timeout=61)]) == [
        CreateResult(0, S.exists_with_different_timeout)
    ]

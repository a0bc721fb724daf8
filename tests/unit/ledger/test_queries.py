"""Lookups, filtered queries and cursor pagination on timestamps."""

from __future__ import annotations

import pytest

from hazina.ledger.domain.flags import AccountFlags
from hazina.ledger.domain.model import (
    AccountFilter,
    AccountRequest,
    QueryFilter,
    Transfer,
    TransferRequest,
)
from hazina.ledger.service import LedgerService

BIG_128 = 2**127 + 5  # does not fit a signed 64-bit column
BIG_64 = 2**64 - 1


@pytest.fixture
def busy(ledger: LedgerService) -> LedgerService:
    """Accounts 1, 2 (history) and 3 on ledger 1; 4 and 5 on ledger 2; 30 transfers, spread over
    several commits, with user data to query by."""
    accounts = [
        AccountRequest(1, 1, 10, AccountFlags.history, user_data_128=BIG_128),
        AccountRequest(2, 1, 10, AccountFlags.history, user_data_64=BIG_64),
        AccountRequest(3, 1, 20, user_data_32=7),
        AccountRequest(4, 2, 10, user_data_32=7),
        AccountRequest(5, 2, 20),
    ]
    assert ledger.create_accounts(accounts) == []
    pairs = [(1, 2), (2, 1), (1, 3), (3, 2), (4, 5)]
    batch: list[TransferRequest] = []
    for i in range(30):
        debit, credit = pairs[i % len(pairs)]
        batch.append(
            TransferRequest(
                100 + i,
                debit,
                credit,
                i + 1,
                1 if debit != 4 else 2,
                1 + i % 3,
                user_data_128=BIG_128 if i % 4 == 0 else 0,
                user_data_64=BIG_64 if i % 5 == 0 else i,
                user_data_32=i % 2,
            )
        )
        if len(batch) == 7:  # several commits, so timestamps have gaps between batches
            assert ledger.create_transfers(batch) == []
            batch = []
    assert ledger.create_transfers(batch) == []
    return ledger


def all_transfers(ledger: LedgerService) -> list[Transfer]:
    return ledger.query_transfers(QueryFilter(limit=8189))


def of_account(ledger: LedgerService, account_id: int) -> list[Transfer]:
    return [
        t for t in all_transfers(ledger) if account_id in (t.debit_account_id, t.credit_account_id)
    ]


def test_lookups_keep_the_order_asked_and_skip_what_is_missing(busy: LedgerService) -> None:
    assert [a.id for a in busy.lookup_accounts([3, 99, 1, 2])] == [3, 1, 2]
    assert [t.id for t in busy.lookup_transfers([105, 100, 999])] == [105, 100]
    assert busy.lookup_accounts([]) == []


def test_large_user_data_round_trips(busy: LedgerService) -> None:
    [one, two] = busy.lookup_accounts([1, 2])
    assert one.user_data_128 == BIG_128
    assert two.user_data_64 == BIG_64
    [transfer] = busy.lookup_transfers([100])
    assert (transfer.user_data_128, transfer.user_data_64) == (BIG_128, BIG_64)


def test_transfers_are_in_timestamp_order_with_unique_timestamps(busy: LedgerService) -> None:
    transfers = all_transfers(busy)
    assert len(transfers) == 30
    timestamps = [t.timestamp for t in transfers]
    assert timestamps == sorted(set(timestamps))
    assert [t.id for t in transfers] == list(range(100, 130))


@pytest.mark.parametrize("limit", [1, 4, 7, 100])
def test_account_transfers_page_forwards(busy: LedgerService, limit: int) -> None:
    expected = of_account(busy, 1)
    pages: list[list[Transfer]] = []
    cursor = 0
    while True:
        page = busy.get_account_transfers(AccountFilter(1, timestamp_min=cursor, limit=limit))
        assert len(page) <= limit
        if not page:
            break
        pages.append(page)
        cursor = page[-1].timestamp + 1
    assert [t for page in pages for t in page] == expected
    assert all(len(page) == limit for page in pages[:-1])


@pytest.mark.parametrize("limit", [1, 5, 100])
def test_account_transfers_page_backwards(busy: LedgerService, limit: int) -> None:
    expected = list(reversed(of_account(busy, 2)))
    collected: list[Transfer] = []
    cursor = 0
    while True:
        page = busy.get_account_transfers(
            AccountFilter(2, timestamp_max=cursor, limit=limit, reversed=True)
        )
        if not page:
            break
        collected.extend(page)
        cursor = page[-1].timestamp - 1
    assert collected == expected


def test_account_transfers_by_side(busy: LedgerService) -> None:
    debits = busy.get_account_transfers(AccountFilter(1, credits=False))
    credits = busy.get_account_transfers(AccountFilter(1, debits=False))
    assert debits
    assert all(t.debit_account_id == 1 for t in debits)
    assert credits
    assert all(t.credit_account_id == 1 for t in credits)
    assert sorted(debits + credits, key=lambda t: t.timestamp) == of_account(busy, 1)
    assert busy.get_account_transfers(AccountFilter(1, debits=False, credits=False)) == []


def test_account_transfers_within_a_timestamp_range(busy: LedgerService) -> None:
    everything = of_account(busy, 1)
    low, high = everything[2].timestamp, everything[5].timestamp
    window = busy.get_account_transfers(AccountFilter(1, timestamp_min=low, timestamp_max=high))
    assert window == everything[2:6]


def test_query_transfers_ands_every_non_zero_field(busy: LedgerService) -> None:
    everything = all_transfers(busy)

    def matching(query: QueryFilter) -> list[Transfer]:
        return [
            t
            for t in everything
            if all(
                getattr(query, name) in (0, getattr(t, name))
                for name in ("user_data_128", "user_data_64", "user_data_32", "ledger", "code")
            )
        ]

    queries = [
        QueryFilter(ledger=2),
        QueryFilter(code=2),
        QueryFilter(user_data_32=1, code=1),
        QueryFilter(user_data_128=BIG_128),
        QueryFilter(user_data_64=BIG_64),
        QueryFilter(user_data_64=BIG_64, user_data_128=BIG_128, ledger=1),
        QueryFilter(ledger=3),
    ]
    for query in queries:
        assert busy.query_transfers(query) == matching(query), query
    assert (
        busy.query_transfers(QueryFilter(ledger=1, limit=3, reversed=True))
        == list(reversed(matching(QueryFilter(ledger=1))))[:3]
    )


def test_query_accounts(busy: LedgerService) -> None:
    assert [a.id for a in busy.query_accounts(QueryFilter(ledger=1))] == [1, 2, 3]
    assert [a.id for a in busy.query_accounts(QueryFilter(code=10))] == [1, 2, 4]
    assert [a.id for a in busy.query_accounts(QueryFilter(user_data_32=7, ledger=2))] == [4]
    assert [a.id for a in busy.query_accounts(QueryFilter(user_data_128=BIG_128))] == [1]
    assert [a.id for a in busy.query_accounts(QueryFilter(user_data_64=BIG_64))] == [2]
    assert [a.id for a in busy.query_accounts(QueryFilter(limit=2, reversed=True))] == [5, 4]
    first = busy.query_accounts(QueryFilter(limit=2))
    rest = busy.query_accounts(QueryFilter(timestamp_min=first[-1].timestamp + 1))
    assert [a.id for a in first + rest] == [1, 2, 3, 4, 5]


def test_balances_of_history_accounts_follow_every_transfer(busy: LedgerService) -> None:
    history = busy.get_account_balances(AccountFilter(1, limit=8189))
    transfers = of_account(busy, 1)
    assert [b.timestamp for b in history] == [t.timestamp for t in transfers]
    debits = credits = 0
    for balance, transfer in zip(history, transfers, strict=True):
        if transfer.debit_account_id == 1:
            debits += transfer.amount
        else:
            credits += transfer.amount
        assert (balance.debits_posted, balance.credits_posted) == (debits, credits)
    [account] = busy.lookup_accounts([1])
    assert (account.debits_posted, account.credits_posted) == (debits, credits)
    # Pages, as for transfers.
    first = busy.get_account_balances(AccountFilter(1, limit=5))
    rest = busy.get_account_balances(AccountFilter(1, timestamp_min=first[-1].timestamp + 1))
    assert first + rest == history
    newest = busy.get_account_balances(AccountFilter(1, limit=2, reversed=True))
    assert newest == list(reversed(history))[:2]


def test_accounts_without_history_have_no_balances(busy: LedgerService) -> None:
    assert busy.get_account_balances(AccountFilter(3)) == []


@pytest.mark.parametrize("account_id", [0, -1, 2**63, 2**64 + 1])
def test_ids_that_cannot_be_stored_are_not_found(busy: LedgerService, account_id: int) -> None:
    assert busy.lookup_accounts([account_id, 1]) == busy.lookup_accounts([1])
    assert busy.lookup_transfers([account_id]) == []
    assert busy.get_account_transfers(AccountFilter(account_id)) == []
    assert busy.get_account_balances(AccountFilter(account_id)) == []

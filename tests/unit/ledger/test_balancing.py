"""Balancing transfers move at most `amount`, clamped to what the account can give or take."""

from __future__ import annotations

import pytest

from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus as S
from hazina.ledger.service import LedgerService

F = TransferFlags
WALLET, SOURCE, SINK = 1, 2, 3


@pytest.fixture
def wallet(ledger: LedgerService) -> LedgerService:
    """A wallet that must not go overdrawn, holding 100 (posted) of which 30 are reserved."""
    accounts = [
        AccountRequest(WALLET, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits),
        AccountRequest(SOURCE, 1, 1),
        AccountRequest(SINK, 1, 1, flags=AccountFlags.credits_must_not_exceed_debits),
    ]
    assert ledger.create_accounts(accounts) == []
    funding = [
        TransferRequest(1, SOURCE, WALLET, 100, 1, 1),
        TransferRequest(2, WALLET, SOURCE, 30, 1, 1, F.pending),
        TransferRequest(3, SINK, SOURCE, 40, 1, 1),  # the sink may now take up to 40 credits
    ]
    assert ledger.create_transfers(funding) == []
    return ledger


def amount_of(ledger: LedgerService, transfer_id: int) -> int:
    [transfer] = ledger.lookup_transfers([transfer_id])
    return transfer.amount


def test_balancing_debit_sweeps_what_is_available(wallet: LedgerService) -> None:
    sweep = TransferRequest(10, WALLET, SOURCE, 10**12, 1, 1, F.balancing_debit)
    assert wallet.create_transfers([sweep]) == []
    assert amount_of(wallet, 10) == 70  # 100 credited, 30 reserved
    [account] = wallet.lookup_accounts([WALLET])
    assert account.debits_posted + account.debits_pending == account.credits_posted


def test_balancing_debit_smaller_than_available_moves_the_amount(wallet: LedgerService) -> None:
    sweep = TransferRequest(10, WALLET, SOURCE, 25, 1, 1, F.balancing_debit)
    assert wallet.create_transfers([sweep]) == []
    assert amount_of(wallet, 10) == 25


def test_balancing_credit_fills_what_is_owed(wallet: LedgerService) -> None:
    fill = TransferRequest(10, SOURCE, SINK, 10**12, 1, 1, F.balancing_credit)
    assert wallet.create_transfers([fill]) == []
    assert amount_of(wallet, 10) == 40


def test_both_balancing_flags_take_the_smaller(wallet: LedgerService) -> None:
    both = TransferRequest(10, WALLET, SINK, 10**12, 1, 1, F.balancing_debit | F.balancing_credit)
    assert wallet.create_transfers([both]) == []
    assert amount_of(wallet, 10) == 40  # the wallet has 70, the sink takes 40


def test_nothing_available_moves_zero(wallet: LedgerService) -> None:
    assert wallet.create_transfers([TransferRequest(9, WALLET, SOURCE, 70, 1, 1)]) == []
    sweep = TransferRequest(10, WALLET, SOURCE, 50, 1, 1, F.balancing_debit)
    assert wallet.create_transfers([sweep]) == []
    assert amount_of(wallet, 10) == 0


def test_balancing_with_amount_zero_is_allowed(wallet: LedgerService) -> None:
    sweep = TransferRequest(10, WALLET, SOURCE, 0, 1, 1, F.balancing_debit)
    assert wallet.create_transfers([sweep]) == []
    assert amount_of(wallet, 10) == 0


def test_pending_balancing_reserves_the_clamped_amount(wallet: LedgerService) -> None:
    hold = TransferRequest(10, WALLET, SOURCE, 500, 1, 1, F.balancing_debit | F.pending)
    assert wallet.create_transfers([hold]) == []
    assert amount_of(wallet, 10) == 70
    [account] = wallet.lookup_accounts([WALLET])
    assert account.debits_pending == 100


def test_resending_a_balancing_transfer_is_idempotent(wallet: LedgerService) -> None:
    sweep = TransferRequest(10, WALLET, SOURCE, 500, 1, 1, F.balancing_debit)
    assert wallet.create_transfers([sweep]) == []
    # The stored amount is the clamped 70: any request of at least 70 is the same transfer.
    assert wallet.create_transfers([sweep]) == [CreateResult(0, S.exists)]
    assert wallet.create_transfers([sweep._replace(amount=70)]) == [CreateResult(0, S.exists)]
    assert wallet.create_transfers([sweep._replace(amount=69)]) == [
        CreateResult(0, S.exists_with_different_amount)
    ]

"""Ledger records. Requests are unvalidated input; `Account` and `Transfer` are resolved records.

All are immutable named tuples: cheap to build in the hot path and directly usable as rows.
Amounts and balances are integers in minor units of the ledger's currency or asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from hazina.ledger.domain.results import CreateAccountStatus, CreateTransferStatus


class AccountRequest(NamedTuple):
    id: int
    ledger: int
    code: int
    flags: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timestamp: int = 0  # must be zero: the ledger assigns it


class Account(NamedTuple):
    id: int
    ledger: int
    code: int
    flags: int  # includes `closed` while the account is closed
    user_data_128: int
    user_data_64: int
    user_data_32: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    timestamp: int


class TransferRequest(NamedTuple):
    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: int
    code: int
    flags: int = 0
    pending_id: int = 0
    timeout: int = 0  # seconds, pending transfers only; 0 never expires
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timestamp: int = 0  # must be zero: the ledger assigns it


class Transfer(NamedTuple):
    """A committed transfer. For post/void, the accounts, ledger and code are the pending one's
    and `amount` is what was actually posted (or voided); for balancing, the clamped amount."""

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    pending_id: int
    user_data_128: int
    user_data_64: int
    user_data_32: int
    timeout: int
    ledger: int
    code: int
    flags: int
    timestamp: int


class PendingState(IntEnum):
    pending = 1
    posted = 2
    voided = 3
    expired = 4


class PendingStatus(NamedTuple):
    """The state of a pending transfer, kept beside it (transfers themselves never change)."""

    pending_id: int
    state: int  # a PendingState
    expires_at: int  # nanoseconds; 0 never expires


class AccountBalance(NamedTuple):
    """An account's balances right after one of its transfers (accounts with `history`)."""

    account_id: int
    timestamp: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


@dataclass(frozen=True, slots=True)
class CreateResult:
    """The outcome of one event that did not succeed: its index in the batch and its status."""

    index: int
    status: CreateAccountStatus | CreateTransferStatus


def chain_failure(results: list[CreateResult]) -> tuple[int, CreateTransferStatus]:
    """Why a linked chain was refused: the index and status of the first event that failed on
    its own (the others answer `linked_event_failed`)."""
    for result in results:
        status = CreateTransferStatus(result.status)
        if status is not CreateTransferStatus.linked_event_failed:
            return result.index, status
    raise ValueError("a refused chain has an event that failed on its own")


class AccountFilter(NamedTuple):
    """Transfers (or balances) of one account, by timestamp, with a cursor-friendly range."""

    account_id: int
    timestamp_min: int = 0
    timestamp_max: int = 0  # 0: no upper bound
    limit: int = 100
    debits: bool = True
    credits: bool = True
    reversed: bool = False


class QueryFilter(NamedTuple):
    """Accounts or transfers matching every non-zero field (an AND of equalities)."""

    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    ledger: int = 0
    code: int = 0
    timestamp_min: int = 0
    timestamp_max: int = 0
    limit: int = 100
    reversed: bool = False


class Expiry(NamedTuple):
    """A pending transfer voided by its timeout, at `timestamp`."""

    pending_id: int
    timestamp: int

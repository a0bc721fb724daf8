"""Account and transfer flags, as bit sets (TigerBeetle's layout, less `imported`)."""

from __future__ import annotations

from enum import IntFlag


class AccountFlags(IntFlag):
    none = 0
    linked = 1 << 0
    debits_must_not_exceed_credits = 1 << 1
    credits_must_not_exceed_debits = 1 << 2
    history = 1 << 3
    closed = 1 << 4


class TransferFlags(IntFlag):
    none = 0
    linked = 1 << 0
    pending = 1 << 1
    post_pending_transfer = 1 << 2
    void_pending_transfer = 1 << 3
    balancing_debit = 1 << 4
    balancing_credit = 1 << 5
    closing_debit = 1 << 6
    closing_credit = 1 << 7


account_flags_all = int(
    AccountFlags.linked
    | AccountFlags.debits_must_not_exceed_credits
    | AccountFlags.credits_must_not_exceed_debits
    | AccountFlags.history
    | AccountFlags.closed
)
transfer_flags_all = (1 << 8) - 1

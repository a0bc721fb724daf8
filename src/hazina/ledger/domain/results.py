"""Outcomes of creating accounts and transfers: one enum each, in precedence order.

When an event breaks several rules, the status reported is the first in this order, so every
status is reachable and the order is part of the contract (TigerBeetle `src/tigerbeetle.zig`).
Numbers are stable: new statuses are appended in meaning but never renumber old ones. Each status
is marked transient (it depends on the ledger's state and the same event may succeed later) or
not (the event itself is wrong and will always fail).
"""

from __future__ import annotations

from enum import IntEnum


class CreateAccountStatus(IntEnum):
    ok = 0
    linked_event_failed = 1
    linked_event_chain_open = 2
    timestamp_must_be_zero = 3
    reserved_flag = 4
    id_out_of_range = 5
    user_data_out_of_range = 6
    ledger_out_of_range = 7
    code_out_of_range = 8
    id_must_not_be_zero = 9
    id_must_not_be_int_max = 10
    exists_with_different_flags = 11
    exists_with_different_user_data_128 = 12
    exists_with_different_user_data_64 = 13
    exists_with_different_user_data_32 = 14
    exists_with_different_ledger = 15
    exists_with_different_code = 16
    exists = 17
    flags_are_mutually_exclusive = 18
    ledger_must_not_be_zero = 19
    code_must_not_be_zero = 20

    @property
    def transient(self) -> bool:
        return self is CreateAccountStatus.linked_event_failed


class CreateTransferStatus(IntEnum):
    ok = 0
    linked_event_failed = 1
    linked_event_chain_open = 2
    timestamp_must_be_zero = 3
    reserved_flag = 4
    id_out_of_range = 5
    debit_account_id_out_of_range = 6
    credit_account_id_out_of_range = 7
    pending_id_out_of_range = 8
    amount_must_not_be_negative = 9
    amount_out_of_range = 10
    user_data_out_of_range = 11
    timeout_out_of_range = 12
    ledger_out_of_range = 13
    code_out_of_range = 14
    id_must_not_be_zero = 15
    id_must_not_be_int_max = 16
    exists_with_different_flags = 17
    exists_with_different_pending_id = 18
    exists_with_different_timeout = 19
    exists_with_different_debit_account_id = 20
    exists_with_different_credit_account_id = 21
    exists_with_different_amount = 22
    exists_with_different_user_data_128 = 23
    exists_with_different_user_data_64 = 24
    exists_with_different_user_data_32 = 25
    exists_with_different_ledger = 26
    exists_with_different_code = 27
    exists = 28
    flags_are_mutually_exclusive = 29
    debit_account_id_must_not_be_zero = 30
    debit_account_id_must_not_be_int_max = 31
    credit_account_id_must_not_be_zero = 32
    credit_account_id_must_not_be_int_max = 33
    accounts_must_be_different = 34
    pending_id_must_be_zero = 35
    pending_id_must_not_be_zero = 36
    pending_id_must_not_be_int_max = 37
    pending_id_must_be_different = 38
    timeout_reserved_for_pending_transfer = 39
    closing_transfer_must_be_pending = 40
    amount_must_not_be_zero = 41
    ledger_must_not_be_zero = 42
    code_must_not_be_zero = 43
    debit_account_not_found = 44
    credit_account_not_found = 45
    accounts_must_have_the_same_ledger = 46
    transfer_must_have_the_same_ledger_as_accounts = 47
    pending_transfer_not_found = 48
    pending_transfer_not_pending = 49
    pending_transfer_has_different_debit_account_id = 50
    pending_transfer_has_different_credit_account_id = 51
    pending_transfer_has_different_ledger = 52
    pending_transfer_has_different_code = 53
    exceeds_pending_transfer_amount = 54
    pending_transfer_has_different_amount = 55
    pending_transfer_already_posted = 56
    pending_transfer_already_voided = 57
    pending_transfer_expired = 58
    debit_account_already_closed = 59
    credit_account_already_closed = 60
    overflows_debits_pending = 61
    overflows_credits_pending = 62
    overflows_debits_posted = 63
    overflows_credits_posted = 64
    overflows_debits = 65
    overflows_credits = 66
    overflows_timeout = 67
    exceeds_credits = 68
    exceeds_debits = 69

    @property
    def transient(self) -> bool:
        return self in _transient_transfer_statuses


_transient_transfer_statuses = frozenset(
    {
        CreateTransferStatus.linked_event_failed,
        CreateTransferStatus.debit_account_not_found,
        CreateTransferStatus.credit_account_not_found,
        CreateTransferStatus.pending_transfer_not_found,
        CreateTransferStatus.exceeds_credits,
        CreateTransferStatus.exceeds_debits,
        CreateTransferStatus.debit_account_already_closed,
        CreateTransferStatus.credit_account_already_closed,
        CreateTransferStatus.overflows_debits_pending,
        CreateTransferStatus.overflows_credits_pending,
        CreateTransferStatus.overflows_debits_posted,
        CreateTransferStatus.overflows_credits_posted,
        CreateTransferStatus.overflows_debits,
        CreateTransferStatus.overflows_credits,
    }
)

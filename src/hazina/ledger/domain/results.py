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
    id_already_failed = 29
    flags_are_mutually_exclusive = 30
    debit_account_id_must_not_be_zero = 31
    debit_account_id_must_not_be_int_max = 32
    credit_account_id_must_not_be_zero = 33
    credit_account_id_must_not_be_int_max = 34
    accounts_must_be_different = 35
    pending_id_must_be_zero = 36
    pending_id_must_not_be_zero = 37
    pending_id_must_not_be_int_max = 38
    pending_id_must_be_different = 39
    timeout_reserved_for_pending_transfer = 40
    closing_transfer_must_be_pending = 41
    amount_must_not_be_zero = 42
    ledger_must_not_be_zero = 43
    code_must_not_be_zero = 44
    debit_account_not_found = 45
    credit_account_not_found = 46
    accounts_must_have_the_same_ledger = 47
    transfer_must_have_the_same_ledger_as_accounts = 48
    pending_transfer_not_found = 49
    pending_transfer_not_pending = 50
    pending_transfer_has_different_debit_account_id = 51
    pending_transfer_has_different_credit_account_id = 52
    pending_transfer_has_different_ledger = 53
    pending_transfer_has_different_code = 54
    exceeds_pending_transfer_amount = 55
    pending_transfer_has_different_amount = 56
    pending_transfer_already_posted = 57
    pending_transfer_already_voided = 58
    pending_transfer_expired = 59
    debit_account_already_closed = 60
    credit_account_already_closed = 61
    overflows_debits_pending = 62
    overflows_credits_pending = 63
    overflows_debits_posted = 64
    overflows_credits_posted = 65
    overflows_debits = 66
    overflows_credits = 67
    overflows_timeout = 68
    exceeds_credits = 69
    exceeds_debits = 70

    @property
    def transient(self) -> bool:
        return self in _transient_transfer_statuses


# Failures that depend on the ledger's state: the id is remembered, and a retry with the same
# id reports `id_already_failed` instead of succeeding later (TigerBeetle 0.16), so that
# re-sending a batch never changes anything.
failure_remembered = frozenset(
    {
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

# Transient: the remembered failures, and a linked event failed only by its chain.
_transient_transfer_statuses = failure_remembered | {CreateTransferStatus.linked_event_failed}

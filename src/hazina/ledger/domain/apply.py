"""Apply a batch of account or transfer requests to ledger state: the pure heart of the ledger.

`apply_transfers` validates each event against every rule in precedence order before it
changes anything, then moves the balances. A linked chain is all-or-nothing: when one of its
events fails, the ones already applied are undone and every other event of the chain reports
`linked_event_failed`. The caller (the store) loads the state the batch needs, then persists
what the `BatchOutcome` lists, in one database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    ledger_amount_max,
    ledger_code_max,
    ledger_id_max,
    ledger_ledger_max,
    ledger_timeout_seconds_max,
    ledger_user_data_32_max,
    ledger_user_data_64_max,
    ledger_user_data_128_max,
)
from hazina.ledger.domain.flags import (
    AccountFlags,
    TransferFlags,
    account_flags_all,
    transfer_flags_all,
)
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountRequest,
    CreateResult,
    Expiry,
    PendingState,
    PendingStatus,
    Transfer,
    TransferRequest,
)
from hazina.ledger.domain.results import (
    CreateAccountStatus,
    CreateTransferStatus,
    failure_remembered,
)

S = CreateTransferStatus
A = CreateAccountStatus

_LINKED = int(TransferFlags.linked)
_PENDING = int(TransferFlags.pending)
_POST = int(TransferFlags.post_pending_transfer)
_VOID = int(TransferFlags.void_pending_transfer)
_BALANCING_DEBIT = int(TransferFlags.balancing_debit)
_BALANCING_CREDIT = int(TransferFlags.balancing_credit)
_CLOSING_DEBIT = int(TransferFlags.closing_debit)
_CLOSING_CREDIT = int(TransferFlags.closing_credit)
_TRANSFER_FLAGS_ALL = transfer_flags_all
_POST_OR_VOID = _POST | _VOID
_NOT_WITH_POST_OR_VOID = (
    _PENDING | _BALANCING_DEBIT | _BALANCING_CREDIT | _CLOSING_DEBIT | _CLOSING_CREDIT
)
_CLOSING = _CLOSING_DEBIT | _CLOSING_CREDIT

_DEBITS_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_CREDITS_LIMITED = int(AccountFlags.credits_must_not_exceed_debits)
_HISTORY = int(AccountFlags.history)
_CLOSED = int(AccountFlags.closed)
_ACCOUNT_LINKED = int(AccountFlags.linked)

_ID_MAX = ledger_id_max
_AMOUNT_MAX = ledger_amount_max
_NS_PER_SECOND = 1_000_000_000

_STATE_PENDING = int(PendingState.pending)
_STATE_POSTED = int(PendingState.posted)
_STATE_VOIDED = int(PendingState.voided)
_STATE_EXPIRED = int(PendingState.expired)


def hold_deadline(timestamp: int, timeout: int) -> int:
    """When a pending transfer made at `timestamp` with `timeout` seconds expires (0: never)."""
    return timestamp + timeout * _NS_PER_SECOND if timeout else 0


class AccountState:
    """An account's mutable balances during a batch. `flags` are the creation flags;
    `closed` is the current closed state (set at creation or by a closing transfer)."""

    __slots__ = (
        "closed",
        "code",
        "credits_pending",
        "credits_posted",
        "debits_pending",
        "debits_posted",
        "flags",
        "id",
        "ledger",
        "timestamp",
        "user_data_32",
        "user_data_64",
        "user_data_128",
    )

    def __init__(
        self,
        id: int,
        ledger: int,
        code: int,
        flags: int,
        user_data_128: int,
        user_data_64: int,
        user_data_32: int,
        debits_pending: int,
        debits_posted: int,
        credits_pending: int,
        credits_posted: int,
        timestamp: int,
        closed: bool,
    ) -> None:
        self.id = id
        self.ledger = ledger
        self.code = code
        self.flags = flags
        self.user_data_128 = user_data_128
        self.user_data_64 = user_data_64
        self.user_data_32 = user_data_32
        self.debits_pending = debits_pending
        self.debits_posted = debits_posted
        self.credits_pending = credits_pending
        self.credits_posted = credits_posted
        self.timestamp = timestamp
        self.closed = closed

    def to_account(self) -> Account:
        flags = (self.flags & ~_CLOSED) | (_CLOSED if self.closed else 0)
        return Account(
            self.id,
            self.ledger,
            self.code,
            flags,
            self.user_data_128,
            self.user_data_64,
            self.user_data_32,
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.timestamp,
        )

    def balance(self, timestamp: int) -> AccountBalance:
        return AccountBalance(
            self.id,
            timestamp,
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
        )

    def snapshot(self) -> tuple[int, int, int, int, bool]:
        return (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.closed,
        )

    def restore(self, snapshot: tuple[int, int, int, int, bool]) -> None:
        (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.closed,
        ) = snapshot


@dataclass(slots=True)
class LedgerState:
    """What a batch reads: the accounts, transfers and pending states it refers to.

    The store fills it with every record the batch names (missing keys mean "not found");
    applying a batch updates it in place so later events see earlier ones."""

    accounts: dict[int, AccountState] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)
    pending: dict[int, PendingStatus] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)  # ids whose earlier attempt failed


class FailedTransfer(NamedTuple):
    """A transfer id that failed for a reason of state: retries report `id_already_failed`."""

    id: int
    status: int
    timestamp: int


@dataclass(slots=True)
class BatchOutcome:
    """What a batch changed, for the store to persist."""

    results: list[CreateResult] = field(default_factory=list)
    accounts_created: list[AccountState] = field(default_factory=list)
    transfers_created: list[Transfer] = field(default_factory=list)
    accounts_changed: set[int] = field(default_factory=set)
    pending_changed: dict[int, PendingStatus] = field(default_factory=dict)
    balances: list[AccountBalance] = field(default_factory=list)
    expiries: list[Expiry] = field(default_factory=list)
    failed: list[FailedTransfer] = field(default_factory=list)


def _is_linked(flags: object, linked_bit: int) -> int:
    """The linked bit of well-typed flags; malformed flags (a bool, a float) link nothing."""
    if type(flags) is int:
        return flags & linked_bit
    if isinstance(flags, int) and not isinstance(flags, bool):
        return int(flags) & linked_bit
    return 0


# ---------------------------------------------------------------------------------------------
# Accounts


# Field rules in precedence order, as for transfers.
_ACCOUNT_FIELD_RULES: tuple[tuple[str, CreateAccountStatus, int], ...] = (
    ("timestamp", A.timestamp_must_be_zero, 0),
    ("flags", A.reserved_flag, account_flags_all),
    ("id", A.id_out_of_range, _ID_MAX),
    ("user_data_128", A.user_data_out_of_range, ledger_user_data_128_max),
    ("user_data_64", A.user_data_out_of_range, ledger_user_data_64_max),
    ("user_data_32", A.user_data_out_of_range, ledger_user_data_32_max),
    ("ledger", A.ledger_out_of_range, ledger_ledger_max),
    ("code", A.code_out_of_range, ledger_code_max),
)


def account_status(request: AccountRequest, existing: AccountState | None) -> CreateAccountStatus:
    """The status of creating one account, ignoring linked chains."""
    for name, field_status, maximum in _ACCOUNT_FIELD_RULES:
        value = getattr(request, name)
        if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
            return field_status
        if not 0 <= value <= maximum:
            return field_status
    if request.id == 0:
        return A.id_must_not_be_zero
    if request.id == _ID_MAX:
        return A.id_must_not_be_int_max
    if existing is not None:
        if existing.flags != request.flags:
            return A.exists_with_different_flags
        if existing.user_data_128 != request.user_data_128:
            return A.exists_with_different_user_data_128
        if existing.user_data_64 != request.user_data_64:
            return A.exists_with_different_user_data_64
        if existing.user_data_32 != request.user_data_32:
            return A.exists_with_different_user_data_32
        if existing.ledger != request.ledger:
            return A.exists_with_different_ledger
        if existing.code != request.code:
            return A.exists_with_different_code
        return A.exists
    if request.flags & _DEBITS_LIMITED and request.flags & _CREDITS_LIMITED:
        return A.flags_are_mutually_exclusive
    if request.ledger == 0:
        return A.ledger_must_not_be_zero
    if request.code == 0:
        return A.code_must_not_be_zero
    return A.ok


def apply_accounts(
    batch: Sequence[AccountRequest], state: LedgerState, timestamp_first: int
) -> BatchOutcome:
    """Create accounts; event `i` gets timestamp `timestamp_first + i`."""
    outcome = BatchOutcome()
    accounts = state.accounts
    chain_start: int | None = None
    chain_created: list[int] = []
    chain_failed = False
    count = len(batch)
    for index, request in enumerate(batch):
        linked = bool(_is_linked(request.flags, _ACCOUNT_LINKED))
        if linked and chain_start is None:
            chain_start, chain_created, chain_failed = index, [], False
        status: CreateAccountStatus
        if chain_start is not None and chain_failed:
            status = A.linked_event_failed
        elif linked and index == count - 1:
            status = A.linked_event_chain_open
        else:
            status = account_status(request, accounts.get(request.id))
        if status is A.ok:
            request = AccountRequest(*map(int, request))
            created = AccountState(
                request.id,
                request.ledger,
                request.code,
                request.flags,
                request.user_data_128,
                request.user_data_64,
                request.user_data_32,
                0,
                0,
                0,
                0,
                timestamp_first + index,
                bool(request.flags & _CLOSED),
            )
            accounts[request.id] = created
            outcome.accounts_created.append(created)
            if chain_start is not None:
                chain_created.append(request.id)
        else:
            if chain_start is not None and not chain_failed:
                chain_failed = True
                _fail_account_chain(outcome, state, chain_start, index, chain_created)
            outcome.results.append(CreateResult(index, status))
        if chain_start is not None and not linked:
            chain_start, chain_failed = None, False
    outcome.results.sort(key=lambda result: result.index)
    invariant(
        len(outcome.results) + len(outcome.accounts_created) == count,
        "every account event has exactly one outcome",
    )
    return outcome


def _fail_account_chain(
    outcome: BatchOutcome, state: LedgerState, start: int, failed_index: int, created: list[int]
) -> None:
    for account_id in created:
        del state.accounts[account_id]
    if created:
        undone = set(created)
        outcome.accounts_created = [a for a in outcome.accounts_created if a.id not in undone]
    for index in range(start, failed_index):
        outcome.results.append(CreateResult(index, A.linked_event_failed))


# ---------------------------------------------------------------------------------------------
# Transfers


def _exists_status(request: TransferRequest, existing: Transfer) -> CreateTransferStatus:
    flags = request.flags
    if existing.flags != flags:
        return S.exists_with_different_flags
    if existing.pending_id != request.pending_id:
        return S.exists_with_different_pending_id
    if existing.timeout != request.timeout:
        return S.exists_with_different_timeout
    post_or_void = flags & _POST_OR_VOID
    # A post or void may leave these zero: they were taken from the pending transfer.
    if existing.debit_account_id != request.debit_account_id and not (
        post_or_void and request.debit_account_id == 0
    ):
        return S.exists_with_different_debit_account_id
    if existing.credit_account_id != request.credit_account_id and not (
        post_or_void and request.credit_account_id == 0
    ):
        return S.exists_with_different_credit_account_id
    if flags & (_BALANCING_DEBIT | _BALANCING_CREDIT):
        # The stored amount is the clamped one: any request at least that large matches.
        if request.amount < existing.amount:
            return S.exists_with_different_amount
    elif post_or_void:
        if request.amount != 0 and request.amount != existing.amount:
            return S.exists_with_different_amount
    elif existing.amount != request.amount:
        return S.exists_with_different_amount
    if existing.user_data_128 != request.user_data_128:
        return S.exists_with_different_user_data_128
    if existing.user_data_64 != request.user_data_64:
        return S.exists_with_different_user_data_64
    if existing.user_data_32 != request.user_data_32:
        return S.exists_with_different_user_data_32
    if existing.ledger != request.ledger and not (post_or_void and request.ledger == 0):
        return S.exists_with_different_ledger
    if existing.code != request.code and not (post_or_void and request.code == 0):
        return S.exists_with_different_code
    return S.exists


# Field rules in precedence order: the field's status when it is not an integer or is outside
# [0, maximum]. A timestamp must be exactly zero.
_TRANSFER_FIELD_RULES: tuple[tuple[str, CreateTransferStatus, int], ...] = (
    ("timestamp", S.timestamp_must_be_zero, 0),
    ("flags", S.reserved_flag, _TRANSFER_FLAGS_ALL),
    ("id", S.id_out_of_range, _ID_MAX),
    ("debit_account_id", S.debit_account_id_out_of_range, _ID_MAX),
    ("credit_account_id", S.credit_account_id_out_of_range, _ID_MAX),
    ("pending_id", S.pending_id_out_of_range, _ID_MAX),
    ("amount", S.amount_out_of_range, _AMOUNT_MAX),
    ("user_data_128", S.user_data_out_of_range, ledger_user_data_128_max),
    ("user_data_64", S.user_data_out_of_range, ledger_user_data_64_max),
    ("user_data_32", S.user_data_out_of_range, ledger_user_data_32_max),
    ("timeout", S.timeout_out_of_range, ledger_timeout_seconds_max),
    ("ledger", S.ledger_out_of_range, ledger_ledger_max),
    ("code", S.code_out_of_range, ledger_code_max),
)


def _normalize_transfer(request: TransferRequest) -> TransferRequest | CreateTransferStatus:
    """Slow path for requests with a field that is not a plain int: check every field in
    precedence order; an int subclass (IntFlag, IntEnum) becomes a plain int, anything else (a
    float, a string, a bool) breaks its field's rule."""
    values: dict[str, int] = {}
    for name, status, maximum in _TRANSFER_FIELD_RULES:
        value = getattr(request, name)
        if type(value) is not int:
            if not isinstance(value, int) or isinstance(value, bool):
                return status
            value = values[name] = int(value)
        if name == "amount" and value < 0:
            return S.amount_must_not_be_negative
        if not 0 <= value <= maximum:
            return status
    return request._replace(**values)


class _Applier:
    """Applies one transfer at a time; keeps what a failing linked chain must undo."""

    __slots__ = ("chain_undo", "in_chain", "outcome", "state")

    def __init__(self, state: LedgerState, outcome: BatchOutcome) -> None:
        self.state = state
        self.outcome = outcome
        self.in_chain = False
        # Per applied event of the open chain: transfer id, account snapshots, pending before.
        self.chain_undo: list[
            tuple[
                int,
                AccountState,
                tuple[int, int, int, int, bool],
                AccountState,
                tuple[int, int, int, int, bool],
                int,
                PendingStatus | None,
                int,
            ]
        ] = []

    def apply(self, request: TransferRequest, timestamp: int) -> CreateTransferStatus:
        (
            transfer_id,
            debit_id,
            credit_id,
            amount,
            ledger,
            code,
            flags,
            pending_id,
            timeout,
            user_data_128,
            user_data_64,
            user_data_32,
            request_timestamp,
        ) = request
        if not (
            type(transfer_id) is int
            and type(debit_id) is int
            and type(credit_id) is int
            and type(amount) is int
            and type(ledger) is int
            and type(code) is int
            and type(flags) is int
            and type(pending_id) is int
            and type(timeout) is int
            and type(user_data_128) is int
            and type(user_data_64) is int
            and type(user_data_32) is int
            and type(request_timestamp) is int
        ):
            normalized = _normalize_transfer(request)
            if isinstance(normalized, CreateTransferStatus):
                return normalized
            return self.apply(normalized, timestamp)
        if request_timestamp != 0:
            return S.timestamp_must_be_zero
        if not 0 <= flags <= _TRANSFER_FLAGS_ALL:
            return S.reserved_flag
        if not 0 <= transfer_id <= _ID_MAX:
            return S.id_out_of_range
        if not 0 <= debit_id <= _ID_MAX:
            return S.debit_account_id_out_of_range
        if not 0 <= credit_id <= _ID_MAX:
            return S.credit_account_id_out_of_range
        if not 0 <= pending_id <= _ID_MAX:
            return S.pending_id_out_of_range
        if amount < 0:
            return S.amount_must_not_be_negative
        if amount > _AMOUNT_MAX:
            return S.amount_out_of_range
        if not (
            0 <= user_data_128 <= ledger_user_data_128_max
            and 0 <= user_data_64 <= ledger_user_data_64_max
            and 0 <= user_data_32 <= ledger_user_data_32_max
        ):
            return S.user_data_out_of_range
        if not 0 <= timeout <= ledger_timeout_seconds_max:
            return S.timeout_out_of_range
        if not 0 <= ledger <= ledger_ledger_max:
            return S.ledger_out_of_range
        if not 0 <= code <= ledger_code_max:
            return S.code_out_of_range
        if transfer_id == 0:
            return S.id_must_not_be_zero
        if transfer_id == _ID_MAX:
            return S.id_must_not_be_int_max
        state = self.state
        existing = state.transfers.get(transfer_id)
        if existing is not None:
            return _exists_status(request, existing)
        if transfer_id in state.failed:
            return S.id_already_failed

        post_or_void = flags & _POST_OR_VOID
        if post_or_void and (flags & _NOT_WITH_POST_OR_VOID or post_or_void == _POST_OR_VOID):
            return S.flags_are_mutually_exclusive
        if not post_or_void:
            if debit_id == 0:
                return S.debit_account_id_must_not_be_zero
            if debit_id == _ID_MAX:
                return S.debit_account_id_must_not_be_int_max
            if credit_id == 0:
                return S.credit_account_id_must_not_be_zero
            if credit_id == _ID_MAX:
                return S.credit_account_id_must_not_be_int_max
            if debit_id == credit_id:
                return S.accounts_must_be_different
            if pending_id != 0:
                return S.pending_id_must_be_zero
        else:
            if pending_id == 0:
                return S.pending_id_must_not_be_zero
            if pending_id == _ID_MAX:
                return S.pending_id_must_not_be_int_max
            if pending_id == transfer_id:
                return S.pending_id_must_be_different
        if timeout != 0 and not flags & _PENDING:
            return S.timeout_reserved_for_pending_transfer
        if flags & _CLOSING and not flags & _PENDING:
            return S.closing_transfer_must_be_pending
        if post_or_void:
            return self._post_or_void(request, timestamp)
        if amount == 0 and not flags & (_BALANCING_DEBIT | _BALANCING_CREDIT):
            return S.amount_must_not_be_zero
        if ledger == 0:
            return S.ledger_must_not_be_zero
        if code == 0:
            return S.code_must_not_be_zero

        accounts = state.accounts
        debit = accounts.get(debit_id)
        if debit is None:
            return S.debit_account_not_found
        credit = accounts.get(credit_id)
        if credit is None:
            return S.credit_account_not_found
        if debit.ledger != credit.ledger:
            return S.accounts_must_have_the_same_ledger
        if ledger != debit.ledger:
            return S.transfer_must_have_the_same_ledger_as_accounts
        if debit.closed:
            return S.debit_account_already_closed
        if credit.closed:
            return S.credit_account_already_closed

        if flags & _BALANCING_DEBIT:
            available = debit.credits_posted - debit.debits_posted - debit.debits_pending
            amount = min(amount, max(available, 0))
        if flags & _BALANCING_CREDIT:
            available = credit.debits_posted - credit.credits_posted - credit.credits_pending
            amount = min(amount, max(available, 0))

        pending = flags & _PENDING
        if pending:
            if debit.debits_pending + amount > _AMOUNT_MAX:
                return S.overflows_debits_pending
            if credit.credits_pending + amount > _AMOUNT_MAX:
                return S.overflows_credits_pending
        else:
            if debit.debits_posted + amount > _AMOUNT_MAX:
                return S.overflows_debits_posted
            if credit.credits_posted + amount > _AMOUNT_MAX:
                return S.overflows_credits_posted
        if debit.debits_pending + debit.debits_posted + amount > _AMOUNT_MAX:
            return S.overflows_debits
        if credit.credits_pending + credit.credits_posted + amount > _AMOUNT_MAX:
            return S.overflows_credits
        expires_at = hold_deadline(timestamp, timeout)
        if expires_at > _AMOUNT_MAX:
            return S.overflows_timeout
        if (
            debit.flags & _DEBITS_LIMITED
            and debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
        ):
            return S.exceeds_credits
        if (
            credit.flags & _CREDITS_LIMITED
            and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
        ):
            return S.exceeds_debits

        # Every rule holds: change state.
        if self.in_chain:
            self.chain_undo.append(
                (
                    transfer_id,
                    debit,
                    debit.snapshot(),
                    credit,
                    credit.snapshot(),
                    0,
                    None,
                    len(self.outcome.balances),
                )
            )
        if pending:
            debit.debits_pending += amount
            credit.credits_pending += amount
            status = PendingStatus(transfer_id, _STATE_PENDING, expires_at)
            state.pending[transfer_id] = status
            self.outcome.pending_changed[transfer_id] = status
            if flags & _CLOSING_DEBIT:
                debit.closed = True
            if flags & _CLOSING_CREDIT:
                credit.closed = True
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        transfer = Transfer(
            transfer_id,
            debit.id,
            credit.id,
            amount,
            0,
            user_data_128,
            user_data_64,
            user_data_32,
            timeout,
            ledger,
            code,
            flags,
            timestamp,
        )
        self._record(transfer, debit, credit)
        return S.ok

    def _post_or_void(self, request: TransferRequest, timestamp: int) -> CreateTransferStatus:
        state = self.state
        pending_transfer = state.transfers.get(request.pending_id)
        if pending_transfer is None:
            return S.pending_transfer_not_found
        if not pending_transfer.flags & _PENDING:
            return S.pending_transfer_not_pending
        if request.debit_account_id not in (0, pending_transfer.debit_account_id):
            return S.pending_transfer_has_different_debit_account_id
        if request.credit_account_id not in (0, pending_transfer.credit_account_id):
            return S.pending_transfer_has_different_credit_account_id
        if request.ledger not in (0, pending_transfer.ledger):
            return S.pending_transfer_has_different_ledger
        if request.code not in (0, pending_transfer.code):
            return S.pending_transfer_has_different_code
        posting = bool(request.flags & _POST)
        if posting:
            amount = request.amount or pending_transfer.amount
            if amount > pending_transfer.amount:
                return S.exceeds_pending_transfer_amount
        else:
            if request.amount not in (0, pending_transfer.amount):
                return S.pending_transfer_has_different_amount
            amount = pending_transfer.amount
        status = state.pending.get(request.pending_id)
        invariant(status is not None, "every pending transfer has a pending status")
        assert status is not None  # for the type checker; invariant above raises first
        if status.state == _STATE_POSTED:
            return S.pending_transfer_already_posted
        if status.state == _STATE_VOIDED:
            return S.pending_transfer_already_voided
        if status.state == _STATE_EXPIRED or (status.expires_at and status.expires_at <= timestamp):
            return S.pending_transfer_expired
        debit = state.accounts[pending_transfer.debit_account_id]
        credit = state.accounts[pending_transfer.credit_account_id]
        closing = pending_transfer.flags & _CLOSING
        if posting:
            # A closed account takes no new postings, except the one that closed it.
            if debit.closed and not pending_transfer.flags & _CLOSING_DEBIT:
                return S.debit_account_already_closed
            if credit.closed and not pending_transfer.flags & _CLOSING_CREDIT:
                return S.credit_account_already_closed
            if debit.debits_posted + amount > _AMOUNT_MAX:
                return S.overflows_debits_posted
            if credit.credits_posted + amount > _AMOUNT_MAX:
                return S.overflows_credits_posted
        invariant(
            debit.debits_pending >= pending_transfer.amount
            and credit.credits_pending >= pending_transfer.amount,
            "a pending transfer's amount is held in both accounts' pending balances",
        )
        if self.in_chain:
            self.chain_undo.append(
                (
                    request.id,
                    debit,
                    debit.snapshot(),
                    credit,
                    credit.snapshot(),
                    request.pending_id,
                    status,
                    len(self.outcome.balances),
                )
            )
        debit.debits_pending -= pending_transfer.amount
        credit.credits_pending -= pending_transfer.amount
        if posting:
            debit.debits_posted += amount
            credit.credits_posted += amount
            new_status = PendingStatus(request.pending_id, _STATE_POSTED, status.expires_at)
        else:
            new_status = PendingStatus(request.pending_id, _STATE_VOIDED, status.expires_at)
            if closing:  # voiding a closing transfer reopens the account it closed
                if pending_transfer.flags & _CLOSING_DEBIT:
                    debit.closed = False
                if pending_transfer.flags & _CLOSING_CREDIT:
                    credit.closed = False
        state.pending[request.pending_id] = new_status
        self.outcome.pending_changed[request.pending_id] = new_status
        transfer = Transfer(
            request.id,
            pending_transfer.debit_account_id,
            pending_transfer.credit_account_id,
            amount,
            request.pending_id,
            request.user_data_128,
            request.user_data_64,
            request.user_data_32,
            0,
            pending_transfer.ledger,
            pending_transfer.code,
            request.flags,
            timestamp,
        )
        self._record(transfer, debit, credit)
        return S.ok

    def _record(self, transfer: Transfer, debit: AccountState, credit: AccountState) -> None:
        outcome = self.outcome
        self.state.transfers[transfer.id] = transfer
        outcome.transfers_created.append(transfer)
        changed = outcome.accounts_changed
        changed.add(debit.id)
        changed.add(credit.id)
        if debit.flags & _HISTORY:
            outcome.balances.append(debit.balance(transfer.timestamp))
        if credit.flags & _HISTORY:
            outcome.balances.append(credit.balance(transfer.timestamp))

    def rollback_chain(self) -> None:
        """Undo every applied event of the open chain, newest first."""
        state = self.state
        outcome = self.outcome
        for entry in reversed(self.chain_undo):
            transfer_id, debit, debit_before, credit, credit_before, pending_id, status, n = entry
            debit.restore(debit_before)
            credit.restore(credit_before)
            del state.transfers[transfer_id]
            undone = outcome.transfers_created.pop()
            invariant(undone.id == transfer_id, "chain undo runs in reverse order")
            del outcome.balances[n:]
            if pending_id:  # a post or void: the pending transfer is pending again
                invariant(status is not None, "a post or void remembers the prior status")
                assert status is not None
                state.pending[pending_id] = status
                outcome.pending_changed[pending_id] = status
            elif undone.flags & _PENDING:  # a new pending transfer: forget it
                del state.pending[transfer_id]
                del outcome.pending_changed[transfer_id]
        self.chain_undo.clear()


def settled_chunks(
    batch: Sequence[TransferRequest], size: int, first: int | None = None
) -> list[tuple[int, int]]:
    """Split a batch into `[start, stop)` ranges of about `size` events, cutting only where no
    linked chain is open, so that each range applied on its own (with its events' timestamps
    and indexes offset by `start`) gives exactly what applying the whole batch gives, and the
    transfers a range creates are final once it is applied: no later chain can roll them back.
    A chain longer than a range stays whole. With `first`, the ranges start at about `first`
    events and double up to `size` (the first rows are ready to write sooner)."""
    invariant(size > 0, "chunks hold at least one event")
    invariant(first is None or first > 0, "chunks hold at least one event")
    count = len(batch)
    ranges: list[tuple[int, int]] = []
    start = 0
    step = size if first is None else min(first, size)
    index = step - 1
    while index < count - 1:
        while index < count - 1 and _is_linked(batch[index].flags, _LINKED):
            index += 1  # a chain is open after this event: cut after its last link
        ranges.append((start, index + 1))
        start = index + 1
        step = min(step * 2, size)
        index = start + step - 1
    if start < count:
        ranges.append((start, count))
    invariant(sum(stop - begin for begin, stop in ranges) == count, "ranges cover the batch")
    return ranges


def apply_transfers(
    batch: Sequence[TransferRequest], state: LedgerState, timestamp_first: int
) -> BatchOutcome:
    """Create transfers in order; event `i` gets timestamp `timestamp_first + i`.

    Only failures are listed in `results` (as TigerBeetle does): an index that is absent
    succeeded."""
    outcome = BatchOutcome()
    applier = _Applier(state, outcome)
    results = outcome.results
    count = len(batch)
    chain_start = -1
    chain_failed = False
    ok = S.ok
    for index in range(count):
        request = batch[index]
        flags = request.flags
        linked = _is_linked(flags, _LINKED)
        if linked and chain_start < 0:
            chain_start, chain_failed = index, False
            applier.in_chain = True
        if chain_start >= 0 and chain_failed:
            results.append(CreateResult(index, S.linked_event_failed))
        else:
            if linked and index == count - 1:
                status = S.linked_event_chain_open
            else:
                status = applier.apply(request, timestamp_first + index)
            if status is not ok:
                if status in failure_remembered:
                    outcome.failed.append(
                        FailedTransfer(request.id, int(status), timestamp_first + index)
                    )
                    state.failed.add(request.id)
                if chain_start >= 0:
                    chain_failed = True
                    applier.rollback_chain()
                    for earlier in range(chain_start, index):
                        results.append(CreateResult(earlier, S.linked_event_failed))
                results.append(CreateResult(index, status))
        if chain_start >= 0 and not linked:
            chain_start = -1
            applier.in_chain = False
            applier.chain_undo.clear()
    if len(results) > 1:
        results.sort(key=lambda result: result.index)
    invariant(
        len(results) + len(outcome.transfers_created) == count,
        "every transfer event has exactly one outcome",
    )
    return outcome


def expire_pending(
    due: Sequence[Transfer], state: LedgerState, timestamp_first: int
) -> BatchOutcome:
    """Void pending transfers whose timeout has passed, releasing their pending amounts.

    `due` are pending transfers whose status is still pending and whose expiry is at or before
    the commit time; `state` must hold their accounts and statuses."""
    outcome = BatchOutcome()
    for offset, transfer in enumerate(due):
        status = state.pending[transfer.id]
        invariant(status.state == _STATE_PENDING, "only pending transfers expire")
        debit = state.accounts[transfer.debit_account_id]
        credit = state.accounts[transfer.credit_account_id]
        invariant(
            debit.debits_pending >= transfer.amount and credit.credits_pending >= transfer.amount,
            "an expiring transfer's amount is held in both pending balances",
        )
        debit.debits_pending -= transfer.amount
        credit.credits_pending -= transfer.amount
        if transfer.flags & _CLOSING_DEBIT:
            debit.closed = False
        if transfer.flags & _CLOSING_CREDIT:
            credit.closed = False
        new_status = PendingStatus(transfer.id, _STATE_EXPIRED, status.expires_at)
        state.pending[transfer.id] = new_status
        outcome.pending_changed[transfer.id] = new_status
        timestamp = timestamp_first + offset
        outcome.expiries.append(Expiry(transfer.id, timestamp))
        outcome.accounts_changed.add(debit.id)
        outcome.accounts_changed.add(credit.id)
        if debit.flags & _HISTORY:
            outcome.balances.append(debit.balance(timestamp))
        if credit.flags & _HISTORY:
            outcome.balances.append(credit.balance(timestamp))
    return outcome

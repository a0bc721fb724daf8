"""A seeded ledger simulator with an auditor, in the spirit of TigerBeetle's VOPR.

From one seed, a workload generates thousands of operations: account batches (with linked
chains, repeats and conflicts), transfer batches (plain, linked chains, pending transfers with
timeouts, posts in full and in part, voids, balancing and closing transfers, and requests that
break a rule on purpose), clock advances that let pending transfers expire, explicit expiry
commits, repeats of earlier batches, and lookups. Each operation runs through one of two
`LedgerService`s over one real database (SQLite or PostgreSQL), as two processes would share
it, and storage faults are injected on the way:

- `commit_failure`: `before_commit_hook` raises, so the commit fails and leaves nothing;
- `connection_loss`: the connection dies before COMMIT. On SQLite the service and its store
  are thrown away and new ones are opened on the same file; on PostgreSQL the backend is killed
  with `pg_terminate_backend` from another connection and the store reconnects by itself;
- `restart`: between operations the service is closed and opened again.

After a failure the simulator sends the same batch again, and it must then behave exactly as if
the failure had never happened. A lost reply (the commit succeeded, the client never heard and
sends the batch again) is not invisible in the same way: the second send is a commit of its
own, which may void pending transfers that came due meanwhile. So lost replies belong to the
workload, which sends some batches twice in a row, and every run sends them alike.

The `Auditor` is an independent in-memory model of the ledger: it predicts every status of
every event (in the precedence order of the status enums), every record with its timestamp,
every balance, pending state and expiry, and is compared with the store after each operation,
together with the invariants (per ledger, debits equal credits; no account breaks its limit
flags). At the end `verify(store)` must hold.

Faults are drawn from a second random stream, so a run with faults and a run without them
execute the same workload: their final states, journal hash chain included, must be identical,
and so must two runs of the same seed (compared by `SimulationResult.digest`).

Standalone: `python -m tests.simulation.ledger_simulator --seed 7 --operations 20000`.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import (
    ledger_amount_max,
    pending_expiry_batch_max,
    query_limit_max,
)
from hazina.ledger.audit import verify
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountFilter,
    AccountRequest,
    CreateResult,
    PendingStatus,
    Transfer,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateAccountStatus as A
from hazina.ledger.domain.results import CreateTransferStatus as T
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore, StoreError
from hazina.ledger.store.sqlite import SqliteLedgerStore

# Flag bits, written out rather than imported: the auditor must not share the code it checks.
LINKED = 1
DEBITS_MUST_NOT_EXCEED_CREDITS = 2
CREDITS_MUST_NOT_EXCEED_DEBITS = 4
HISTORY = 8
CLOSED = 16
PENDING = 2
POST = 4
VOID = 8
BALANCING_DEBIT = 16
BALANCING_CREDIT = 32
CLOSING_DEBIT = 64
CLOSING_CREDIT = 128

STATE_PENDING = 1
STATE_POSTED = 2
STATE_VOIDED = 3
STATE_EXPIRED = 4

NS_PER_SECOND = 1_000_000_000
ID_MAX = 2**63 - 1
CLOCK_START_NS = 1_700_000_000_000_000_000

# Failures of state that the ledger remembers, so that a retry reports `id_already_failed`.
REMEMBERED = frozenset(
    {
        T.debit_account_not_found,
        T.credit_account_not_found,
        T.pending_transfer_not_found,
        T.exceeds_credits,
        T.exceeds_debits,
        T.debit_account_already_closed,
        T.credit_account_already_closed,
        T.overflows_debits_pending,
        T.overflows_credits_pending,
        T.overflows_debits_posted,
        T.overflows_credits_posted,
        T.overflows_debits,
        T.overflows_credits,
    }
)

# Workload limits.
LEDGERS = (1, 2, 3)
ACCOUNT_BATCH_SIZE_MAX = 6
TRANSFER_BATCH_SIZE_MAX = 24
CHAIN_LENGTH_MAX = 4
PENDING_TIMEOUT_SECONDS_MAX = 30
CLOCK_STEP_NS_MAX = 4 * NS_PER_SECOND
ACCOUNTS_MAX = 120
HISTORY_SENT_MAX = 64  # earlier batches kept for repeats
FULL_CHECK_EVERY_STEPS = 250
SERVICES = 2  # services sharing the database
PENDING_CANDIDATES_MAX = 512  # recent pending transfers that posts and voids choose from
LOST_REPLY_PROBABILITY = 0.05  # a write whose reply is lost, so it is sent again at once
OPEN_ACCOUNT_PREFERENCE = 0.95  # how often transfers avoid accounts known to be closed


class SimulationError(AssertionError):
    """The store and the auditor disagree, or an invariant does not hold."""


class InjectedCommitError(Exception):
    """Raised by `before_commit_hook`: the commit fails and nothing of it may remain."""


class InjectedConnectionLossError(Exception):
    """Raised by `before_commit_hook` on SQLite: the connection is gone before COMMIT."""


# -- the auditor ---------------------------------------------------------------------------------


class ModelAccount:
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

    def __init__(self, request: AccountRequest, timestamp: int) -> None:
        self.id = request.id
        self.ledger = request.ledger
        self.code = request.code
        self.flags = request.flags
        self.user_data_128 = request.user_data_128
        self.user_data_64 = request.user_data_64
        self.user_data_32 = request.user_data_32
        self.timestamp = timestamp
        self.debits_pending = 0
        self.debits_posted = 0
        self.credits_pending = 0
        self.credits_posted = 0
        self.closed = bool(request.flags & CLOSED)

    def balances(self) -> tuple[int, int, int, int, bool]:
        return (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.closed,
        )

    def set_balances(self, values: tuple[int, int, int, int, bool]) -> None:
        (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.closed,
        ) = values

    def record(self) -> Account:
        return Account(
            self.id,
            self.ledger,
            self.code,
            (self.flags & ~CLOSED) | (CLOSED if self.closed else 0),
            self.user_data_128,
            self.user_data_64,
            self.user_data_32,
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
            self.timestamp,
        )


@dataclass
class CommitPrediction:
    results: list[CreateResult]
    accounts_created: list[int]
    transfers_created: list[int]
    expired: list[int]
    timestamp_first: int


class Auditor:
    """An independent model of the ledger that predicts every outcome of every commit.

    A commit is stamped `max(now, last journalled timestamp + 1)`; pending transfers due at
    that time expire first (oldest expiry first), each taking one timestamp; then event `i` of
    the batch takes the next timestamp after those plus `i`, failed events included. Only a
    commit that creates something writes a journal entry, and so moves the last timestamp."""

    def __init__(self) -> None:
        self.accounts: dict[int, ModelAccount] = {}
        self.transfers: dict[int, Transfer] = {}
        self.pending: dict[int, PendingStatus] = {}
        self.failed: set[int] = set()
        self.history: dict[int, list[AccountBalance]] = {}
        self.by_account: dict[int, list[Transfer]] = {}  # in timestamp order
        self._expiries: list[tuple[int, int]] = []  # heap of (expires_at, pending id)
        self.last_timestamp = 0
        self.journal_entries = 0
        # Undo log of the chain being applied: callables that restore what an event changed.
        self._undo: list[Callable[[], object]] = []

    # -- commits ---------------------------------------------------------------------------

    def commit(
        self, kind: str, batch: Sequence[AccountRequest] | Sequence[TransferRequest], now: int
    ) -> CommitPrediction:
        timestamp_first = max(now, self.last_timestamp + 1)
        expired = self._expire(timestamp_first)
        timestamp = timestamp_first + len(expired)
        results: list[CreateResult] = []
        created_accounts: list[int] = []
        created_transfers: list[int] = []
        if kind == "accounts":
            results = self._run_batch(batch, timestamp, self._account_status, self._add_account, A)
            created_accounts = _succeeded(batch, results)
        elif kind == "transfers":
            results = self._run_batch(
                batch, timestamp, self._transfer_status, self._add_transfer, T
            )
            created_transfers = _succeeded(batch, results)
        if expired or created_accounts or created_transfers:
            self.last_timestamp = timestamp + len(batch) - 1
            self.journal_entries += 1
        return CommitPrediction(
            results, created_accounts, created_transfers, expired, timestamp_first
        )

    def _run_batch(
        self,
        batch: Sequence[Any],
        timestamp_first: int,
        status_of: Callable[[Any, int], Any],
        apply: Callable[[Any, int], None],
        statuses: Any,
    ) -> list[CreateResult]:
        results: list[CreateResult] = []
        count = len(batch)
        start = 0
        while start < count:
            end = start  # the chain runs to the first event without `linked`, or the batch end
            while end < count - 1 and batch[end].flags & LINKED:
                end += 1
            self._undo = []
            failure: tuple[int, Any] | None = None
            for index in range(start, end + 1):
                event = batch[index]
                if event.flags & LINKED and index == count - 1:
                    status = statuses.linked_event_chain_open
                else:
                    status = status_of(event, timestamp_first + index)
                if status != statuses.ok:
                    failure = (index, status)
                    if status in REMEMBERED:
                        self.failed.add(event.id)
                    break
                apply(event, timestamp_first + index)
            if failure is not None:
                for undo in reversed(self._undo):
                    undo()
                for index in range(start, end + 1):
                    status = failure[1] if index == failure[0] else statuses.linked_event_failed
                    results.append(CreateResult(index, status))
            self._undo = []
            start = end + 1
        return results

    # -- accounts ----------------------------------------------------------------------------

    def _account_status(self, r: AccountRequest, timestamp: int) -> A:
        if r.id == 0:
            return A.id_must_not_be_zero
        if r.id == ID_MAX:
            return A.id_must_not_be_int_max
        existing = self.accounts.get(r.id)
        if existing is not None:
            if existing.flags != r.flags:
                return A.exists_with_different_flags
            if existing.user_data_128 != r.user_data_128:
                return A.exists_with_different_user_data_128
            if existing.user_data_64 != r.user_data_64:
                return A.exists_with_different_user_data_64
            if existing.user_data_32 != r.user_data_32:
                return A.exists_with_different_user_data_32
            if existing.ledger != r.ledger:
                return A.exists_with_different_ledger
            if existing.code != r.code:
                return A.exists_with_different_code
            return A.exists
        both = DEBITS_MUST_NOT_EXCEED_CREDITS | CREDITS_MUST_NOT_EXCEED_DEBITS
        if r.flags & both == both:
            return A.flags_are_mutually_exclusive
        if r.ledger == 0:
            return A.ledger_must_not_be_zero
        if r.code == 0:
            return A.code_must_not_be_zero
        return A.ok

    def _add_account(self, r: AccountRequest, timestamp: int) -> None:
        self.accounts[r.id] = ModelAccount(r, timestamp)
        self._undo.append(lambda: self.accounts.pop(r.id))

    # -- transfers ---------------------------------------------------------------------------

    def _transfer_status(self, r: TransferRequest, timestamp: int) -> T:
        # The workload sends only values inside their fields' ranges and a zero timestamp.
        if r.id == 0:
            return T.id_must_not_be_zero
        if r.id == ID_MAX:
            return T.id_must_not_be_int_max
        existing = self.transfers.get(r.id)
        if existing is not None:
            return self._exists_status(r, existing)
        if r.id in self.failed:
            return T.id_already_failed
        post_or_void = r.flags & (POST | VOID)
        if post_or_void and (
            post_or_void == POST | VOID
            or r.flags & (PENDING | BALANCING_DEBIT | BALANCING_CREDIT | CLOSING_DEBIT)
            or r.flags & CLOSING_CREDIT
        ):
            return T.flags_are_mutually_exclusive
        if not post_or_void:
            if r.debit_account_id == 0:
                return T.debit_account_id_must_not_be_zero
            if r.credit_account_id == 0:
                return T.credit_account_id_must_not_be_zero
            if r.debit_account_id == r.credit_account_id:
                return T.accounts_must_be_different
            if r.pending_id != 0:
                return T.pending_id_must_be_zero
        else:
            if r.pending_id == 0:
                return T.pending_id_must_not_be_zero
            if r.pending_id == r.id:
                return T.pending_id_must_be_different
        if r.timeout != 0 and not r.flags & PENDING:
            return T.timeout_reserved_for_pending_transfer
        if r.flags & (CLOSING_DEBIT | CLOSING_CREDIT) and not r.flags & PENDING:
            return T.closing_transfer_must_be_pending
        if post_or_void:
            return self._post_or_void_status(r, timestamp)
        if r.amount == 0 and not r.flags & (BALANCING_DEBIT | BALANCING_CREDIT):
            return T.amount_must_not_be_zero
        if r.ledger == 0:
            return T.ledger_must_not_be_zero
        if r.code == 0:
            return T.code_must_not_be_zero
        debit = self.accounts.get(r.debit_account_id)
        if debit is None:
            return T.debit_account_not_found
        credit = self.accounts.get(r.credit_account_id)
        if credit is None:
            return T.credit_account_not_found
        if debit.ledger != credit.ledger:
            return T.accounts_must_have_the_same_ledger
        if r.ledger != debit.ledger:
            return T.transfer_must_have_the_same_ledger_as_accounts
        if debit.closed:
            return T.debit_account_already_closed
        if credit.closed:
            return T.credit_account_already_closed
        amount = self._clamped_amount(r)
        if r.flags & PENDING:
            if debit.debits_pending + amount > ledger_amount_max:
                return T.overflows_debits_pending
            if credit.credits_pending + amount > ledger_amount_max:
                return T.overflows_credits_pending
        else:
            if debit.debits_posted + amount > ledger_amount_max:
                return T.overflows_debits_posted
            if credit.credits_posted + amount > ledger_amount_max:
                return T.overflows_credits_posted
        if debit.debits_pending + debit.debits_posted + amount > ledger_amount_max:
            return T.overflows_debits
        if credit.credits_pending + credit.credits_posted + amount > ledger_amount_max:
            return T.overflows_credits
        if r.timeout and timestamp + r.timeout * NS_PER_SECOND > ledger_amount_max:
            return T.overflows_timeout
        if (
            debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS
            and debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
        ):
            return T.exceeds_credits
        if (
            credit.flags & CREDITS_MUST_NOT_EXCEED_DEBITS
            and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
        ):
            return T.exceeds_debits
        return T.ok

    @staticmethod
    def _exists_status(r: TransferRequest, e: Transfer) -> T:
        post_or_void = bool(r.flags & (POST | VOID))

        def differs(requested: int, stored: int, zero_allowed: bool = False) -> bool:
            # A post or void may leave a field zero: the pending transfer supplies it.
            return requested != stored and not (zero_allowed and post_or_void and requested == 0)

        if r.flags != e.flags:
            return T.exists_with_different_flags
        if r.pending_id != e.pending_id:
            return T.exists_with_different_pending_id
        if r.timeout != e.timeout:
            return T.exists_with_different_timeout
        if differs(r.debit_account_id, e.debit_account_id, True):
            return T.exists_with_different_debit_account_id
        if differs(r.credit_account_id, e.credit_account_id, True):
            return T.exists_with_different_credit_account_id
        if r.flags & (BALANCING_DEBIT | BALANCING_CREDIT):
            if r.amount < e.amount:  # the stored amount is the clamped one
                return T.exists_with_different_amount
        elif differs(r.amount, e.amount, True):
            return T.exists_with_different_amount
        if r.user_data_128 != e.user_data_128:
            return T.exists_with_different_user_data_128
        if r.user_data_64 != e.user_data_64:
            return T.exists_with_different_user_data_64
        if r.user_data_32 != e.user_data_32:
            return T.exists_with_different_user_data_32
        if differs(r.ledger, e.ledger, True):
            return T.exists_with_different_ledger
        if differs(r.code, e.code, True):
            return T.exists_with_different_code
        return T.exists

    def _post_or_void_status(self, r: TransferRequest, timestamp: int) -> T:
        p = self.transfers.get(r.pending_id)
        if p is None:
            return T.pending_transfer_not_found
        if not p.flags & PENDING:
            return T.pending_transfer_not_pending
        if r.debit_account_id not in (0, p.debit_account_id):
            return T.pending_transfer_has_different_debit_account_id
        if r.credit_account_id not in (0, p.credit_account_id):
            return T.pending_transfer_has_different_credit_account_id
        if r.ledger not in (0, p.ledger):
            return T.pending_transfer_has_different_ledger
        if r.code not in (0, p.code):
            return T.pending_transfer_has_different_code
        posting = bool(r.flags & POST)
        if posting and r.amount > p.amount:
            return T.exceeds_pending_transfer_amount
        if not posting and r.amount not in (0, p.amount):
            return T.pending_transfer_has_different_amount
        state = self.pending[r.pending_id]
        if state.state == STATE_POSTED:
            return T.pending_transfer_already_posted
        if state.state == STATE_VOIDED:
            return T.pending_transfer_already_voided
        if state.state == STATE_EXPIRED or 0 < state.expires_at <= timestamp:
            return T.pending_transfer_expired
        if posting:
            debit = self.accounts[p.debit_account_id]
            credit = self.accounts[p.credit_account_id]
            # The closing transfer itself may still be posted to the account it closed.
            if debit.closed and not p.flags & CLOSING_DEBIT:
                return T.debit_account_already_closed
            if credit.closed and not p.flags & CLOSING_CREDIT:
                return T.credit_account_already_closed
            amount = r.amount or p.amount
            if debit.debits_posted + amount > ledger_amount_max:
                return T.overflows_debits_posted
            if credit.credits_posted + amount > ledger_amount_max:
                return T.overflows_credits_posted
        return T.ok

    def _clamped_amount(self, r: TransferRequest) -> int:
        amount = r.amount
        if r.flags & BALANCING_DEBIT:
            d = self.accounts[r.debit_account_id]
            amount = min(amount, max(0, d.credits_posted - d.debits_posted - d.debits_pending))
        if r.flags & BALANCING_CREDIT:
            c = self.accounts[r.credit_account_id]
            amount = min(amount, max(0, c.debits_posted - c.credits_posted - c.credits_pending))
        return amount

    def _remember(self, account: ModelAccount) -> None:
        before = account.balances()
        self._undo.append(lambda: account.set_balances(before))

    def _set_pending(self, pending_id: int, status: PendingStatus) -> None:
        before = self.pending.get(pending_id)

        def undo() -> None:
            if before is None:
                del self.pending[pending_id]
            else:
                self.pending[pending_id] = before

        self._undo.append(undo)
        self.pending[pending_id] = status
        if status.state == STATE_PENDING and status.expires_at:
            heapq.heappush(self._expiries, (status.expires_at, pending_id))

    def _add_history(self, account: ModelAccount, timestamp: int) -> None:
        if not account.flags & HISTORY:
            return
        entries = self.history.setdefault(account.id, [])
        entries.append(
            AccountBalance(
                account.id,
                timestamp,
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
        )
        self._undo.append(entries.pop)

    def _add_transfer(self, r: TransferRequest, timestamp: int) -> None:
        if r.flags & (POST | VOID):
            p = self.transfers[r.pending_id]
            debit = self.accounts[p.debit_account_id]
            credit = self.accounts[p.credit_account_id]
            self._remember(debit)
            self._remember(credit)
            expires_at = self.pending[r.pending_id].expires_at
            debit.debits_pending -= p.amount
            credit.credits_pending -= p.amount
            if r.flags & POST:
                amount = r.amount or p.amount
                debit.debits_posted += amount
                credit.credits_posted += amount
                self._set_pending(r.pending_id, PendingStatus(p.id, STATE_POSTED, expires_at))
            else:
                amount = p.amount
                self._reopen(p)
                self._set_pending(r.pending_id, PendingStatus(p.id, STATE_VOIDED, expires_at))
            transfer = Transfer(
                r.id,
                p.debit_account_id,
                p.credit_account_id,
                amount,
                r.pending_id,
                r.user_data_128,
                r.user_data_64,
                r.user_data_32,
                0,
                p.ledger,
                p.code,
                r.flags,
                timestamp,
            )
        else:
            debit = self.accounts[r.debit_account_id]
            credit = self.accounts[r.credit_account_id]
            self._remember(debit)
            self._remember(credit)
            amount = self._clamped_amount(r)
            if r.flags & PENDING:
                debit.debits_pending += amount
                credit.credits_pending += amount
                expires_at = timestamp + r.timeout * NS_PER_SECOND if r.timeout else 0
                self._set_pending(r.id, PendingStatus(r.id, STATE_PENDING, expires_at))
                if r.flags & CLOSING_DEBIT:
                    debit.closed = True
                if r.flags & CLOSING_CREDIT:
                    credit.closed = True
            else:
                debit.debits_posted += amount
                credit.credits_posted += amount
            transfer = Transfer(
                r.id,
                r.debit_account_id,
                r.credit_account_id,
                amount,
                0,
                r.user_data_128,
                r.user_data_64,
                r.user_data_32,
                r.timeout,
                r.ledger,
                r.code,
                r.flags,
                timestamp,
            )
        self.transfers[r.id] = transfer
        self._undo.append(lambda: self.transfers.pop(r.id))
        for account_id in (transfer.debit_account_id, transfer.credit_account_id):
            of_account = self.by_account.setdefault(account_id, [])
            of_account.append(transfer)
            self._undo.append(of_account.pop)
        self._add_history(debit, timestamp)
        self._add_history(credit, timestamp)

    def _reopen(self, p: Transfer) -> None:
        if p.flags & CLOSING_DEBIT:
            self.accounts[p.debit_account_id].closed = False
        if p.flags & CLOSING_CREDIT:
            self.accounts[p.credit_account_id].closed = False

    def _is_due_entry(self, entry: tuple[int, int]) -> bool:
        """Whether a heap entry still stands for a pending transfer waiting to expire (entries
        of transfers that were posted, voided, expired or undone are left in the heap)."""
        expires_at, pending_id = entry
        status = self.pending.get(pending_id)
        return (
            status is not None and status.state == STATE_PENDING and status.expires_at == expires_at
        )

    def next_expiry(self) -> int | None:
        heap = self._expiries
        while heap and not self._is_due_entry(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _expire(self, now: int) -> list[int]:
        # Oldest expiry first, ties by id: the order in which the ledger voids them.
        due: list[tuple[int, int]] = []
        heap = self._expiries
        while heap and heap[0][0] <= now and len(due) < pending_expiry_batch_max:
            entry = heapq.heappop(heap)
            if self._is_due_entry(entry) and entry not in due:
                due.append(entry)
        expired = []
        for offset, (expires_at, pending_id) in enumerate(due):
            p = self.transfers[pending_id]
            debit = self.accounts[p.debit_account_id]
            credit = self.accounts[p.credit_account_id]
            debit.debits_pending -= p.amount
            credit.credits_pending -= p.amount
            self._reopen(p)
            self.pending[pending_id] = PendingStatus(pending_id, STATE_EXPIRED, expires_at)
            self._add_history(debit, now + offset)
            self._add_history(credit, now + offset)
            expired.append(pending_id)
        self._undo = []  # expiries are never undone
        return expired

    # -- views -----------------------------------------------------------------------------

    def account_records(self) -> list[Account]:
        return [self.accounts[i].record() for i in sorted(self.accounts)]

    def transfers_of(self, account_filter: AccountFilter) -> list[Transfer]:
        f = account_filter
        found = [
            t
            for t in self.by_account.get(f.account_id, [])
            if (
                (f.debits and t.debit_account_id == f.account_id)
                or (f.credits and t.credit_account_id == f.account_id)
            )
            and t.timestamp >= f.timestamp_min
            and (f.timestamp_max == 0 or t.timestamp <= f.timestamp_max)
        ]
        found.sort(key=lambda t: t.timestamp, reverse=f.reversed)
        return found[: f.limit]


# -- the workload --------------------------------------------------------------------------------


class Workload:
    """Random requests that mostly make sense for the ledger as the auditor sees it.

    It reads only the auditor's accounts, transfers and pending states, which a run with
    faults and a run without them share, so both draw the same requests."""

    def __init__(self, rng: random.Random, auditor: Auditor) -> None:
        self.rng = rng
        self.auditor = auditor
        self.next_account_id = 1
        self.next_transfer_id = 1
        self.sent_accounts: list[list[AccountRequest]] = []
        self.sent_transfers: list[list[TransferRequest]] = []
        self.requests: dict[int, TransferRequest] = {}  # every transfer request sent, by id
        self.request_ids: list[int] = []  # the keys of `requests`, to draw from
        self.pending_ids: list[int] = []  # the latest ids asked to be pending transfers

    # -- accounts ----------------------------------------------------------------------------

    def account_batch(self) -> list[AccountRequest]:
        rng = self.rng
        batch: list[AccountRequest] = []
        for _ in range(rng.randint(1, ACCOUNT_BATCH_SIZE_MAX)):
            roll = rng.random()
            if roll < 0.08 and self.auditor.accounts:  # an existing account, maybe changed
                existing = self.auditor.accounts[rng.choice(list(self.auditor.accounts))]
                request = AccountRequest(
                    existing.id,
                    existing.ledger,
                    existing.code,
                    existing.flags,
                    existing.user_data_128,
                    existing.user_data_64,
                    existing.user_data_32,
                )
                change = rng.randrange(4)
                if change == 1:
                    request = request._replace(flags=request.flags ^ HISTORY)
                elif change == 2:
                    request = request._replace(code=request.code + 1)
                elif change == 3:
                    request = request._replace(user_data_32=request.user_data_32 + 1)
                batch.append(request)
                continue
            flags = rng.choice(
                (
                    0,
                    0,
                    DEBITS_MUST_NOT_EXCEED_CREDITS,
                    DEBITS_MUST_NOT_EXCEED_CREDITS,
                    DEBITS_MUST_NOT_EXCEED_CREDITS | HISTORY,
                    CREDITS_MUST_NOT_EXCEED_DEBITS,
                    HISTORY,
                )
            )
            ledger = rng.choice(LEDGERS)
            if roll < 0.11:
                flags |= DEBITS_MUST_NOT_EXCEED_CREDITS | CREDITS_MUST_NOT_EXCEED_DEBITS
            elif roll < 0.13:
                ledger = 0
            elif roll < 0.15:
                flags |= CLOSED
            batch.append(
                AccountRequest(
                    self.next_account_id,
                    ledger,
                    rng.randint(1, 5),
                    flags,
                    user_data_128=rng.choice((0, rng.getrandbits(128))),
                    user_data_64=rng.choice((0, rng.getrandbits(64))),
                    user_data_32=rng.randrange(100),
                )
            )
            self.next_account_id += 1
        self._link_chains(batch)
        self.sent_accounts = [*self.sent_accounts, batch][-HISTORY_SENT_MAX:]
        return batch

    def _link_chains(self, batch: list[Any]) -> None:
        index = 0
        while index < len(batch):
            if self.rng.random() < 0.25:
                length = self.rng.randint(2, CHAIN_LENGTH_MAX)
                for inner in range(index, min(index + length - 1, len(batch))):
                    batch[inner] = batch[inner]._replace(flags=batch[inner].flags | LINKED)
                if self.rng.random() < 0.05 and index + length - 1 >= len(batch) - 1:
                    last = len(batch) - 1  # leave the chain open at the end of the batch
                    batch[last] = batch[last]._replace(flags=batch[last].flags | LINKED)
                index += length
            else:
                index += 1

    # -- transfers ---------------------------------------------------------------------------

    def _account_ids(self, ledger: int | None = None) -> list[int]:
        return [
            a.id for a in self.auditor.accounts.values() if ledger is None or a.ledger == ledger
        ]

    def _new_id(self) -> int:
        value = self.next_transfer_id
        self.next_transfer_id += 1
        return value

    def _pair(self) -> tuple[int, int, int] | None:
        """A debit account, a credit account and their ledger, mostly among open accounts."""
        rng = self.rng
        ledger = rng.choice(LEDGERS)
        open_only = rng.random() < OPEN_ACCOUNT_PREFERENCE
        ids = [
            a.id
            for a in self.auditor.accounts.values()
            if a.ledger == ledger and not (open_only and a.closed)
        ]
        if len(ids) < 2:
            return None
        debit, credit = rng.sample(ids, 2)
        return debit, credit, ledger

    def _funding_pair(self) -> tuple[int, int, int] | None:
        rng = self.rng
        ledger = rng.choice(LEDGERS)
        accounts = [
            a for a in self.auditor.accounts.values() if a.ledger == ledger and not a.closed
        ]
        sources = [a.id for a in accounts if not a.flags & DEBITS_MUST_NOT_EXCEED_CREDITS]
        sinks = [a.id for a in accounts if a.flags & DEBITS_MUST_NOT_EXCEED_CREDITS]
        if not sources or not sinks:
            return None
        return rng.choice(sources), rng.choice(sinks), ledger

    def _pending_ids(self, still_pending: bool) -> list[int]:
        pending = self.auditor.pending
        return [
            i
            for i in self.pending_ids
            if i in pending and (not still_pending or pending[i].state == STATE_PENDING)
        ]

    def transfer_batch(self) -> list[TransferRequest]:
        rng = self.rng
        batch: list[TransferRequest] = []
        size = rng.randint(1, TRANSFER_BATCH_SIZE_MAX)
        while len(batch) < size:
            events = self._events()
            if len(events) > 1 or rng.random() < 0.15:  # some chains of independent events
                extra = [self._events() for _ in range(rng.randint(0, 2))]
                events = events + [e for group in extra for e in group]
                events = [e._replace(flags=e.flags | LINKED) for e in events[:-1]] + events[-1:]
            batch.extend(events)
        if rng.random() < 0.02:  # a chain left open at the end of the batch
            batch[-1] = batch[-1]._replace(flags=batch[-1].flags | LINKED)
        for request in batch:
            if request.id not in self.requests:
                self.requests[request.id] = request
                self.request_ids.append(request.id)
            if request.flags & PENDING:
                self.pending_ids.append(request.id)
        del self.pending_ids[:-PENDING_CANDIDATES_MAX]
        self.sent_transfers = [*self.sent_transfers, batch][-HISTORY_SENT_MAX:]
        return batch

    def _events(self) -> list[TransferRequest]:
        rng = self.rng
        roll = rng.random()
        amount = rng.randint(1, 400)
        if roll < 0.25:
            pair = self._funding_pair()
            if pair is not None:
                debit, credit, ledger = pair
                return [TransferRequest(self._new_id(), debit, credit, amount * 3, ledger, 1)]
        if roll < 0.48:
            pair = self._pair()
            if pair is not None:
                debit, credit, ledger = pair
                return [TransferRequest(self._new_id(), debit, credit, amount, ledger, 2)]
        if roll < 0.62:  # hold, maybe with a timeout; sometimes settled in the same chain
            pair = self._pair()
            if pair is not None:
                debit, credit, ledger = pair
                timeout = rng.choice((0, 0, rng.randint(1, PENDING_TIMEOUT_SECONDS_MAX)))
                hold = TransferRequest(
                    self._new_id(), debit, credit, amount, ledger, 3, flags=PENDING, timeout=timeout
                )
                if rng.random() < 0.2:
                    flags = rng.choice((POST, VOID))
                    settle = TransferRequest(
                        self._new_id(), 0, 0, 0, 0, 0, flags=flags, pending_id=hold.id
                    )
                    return [hold._replace(flags=hold.flags | LINKED), settle]
                return [hold]
        if roll < 0.76:  # post or void an earlier hold
            candidates = self._pending_ids(still_pending=rng.random() < 0.85)
            if candidates:
                pending_id = rng.choice(candidates)
                held = self.auditor.transfers[pending_id].amount
                kind = rng.random()
                if kind < 0.35:
                    return [TransferRequest(self._new_id(), 0, 0, 0, 0, 0, POST, pending_id)]
                if kind < 0.55:  # a partial post, naming the accounts as the pending did
                    p = self.auditor.transfers[pending_id]
                    part = rng.randint(0, held)
                    return [
                        TransferRequest(
                            self._new_id(),
                            p.debit_account_id,
                            p.credit_account_id,
                            part,
                            p.ledger,
                            p.code,
                            POST,
                            pending_id,
                        )
                    ]
                if kind < 0.6:  # more than was held
                    return [TransferRequest(self._new_id(), 0, 0, held + 1, 0, 0, POST, pending_id)]
                if kind < 0.63:  # the wrong debit account
                    wrong = rng.choice(self._account_ids())
                    return [TransferRequest(self._new_id(), wrong, 0, 0, 0, 0, POST, pending_id)]
                if kind < 0.66:  # a void naming another amount
                    return [TransferRequest(self._new_id(), 0, 0, held + 1, 0, 0, VOID, pending_id)]
                return [TransferRequest(self._new_id(), 0, 0, 0, 0, 0, VOID, pending_id)]
        if roll < 0.81:  # balancing: take what is available, up to the amount
            pair = self._pair()
            if pair is not None:
                debit, credit, ledger = pair
                flags = rng.choice((BALANCING_DEBIT, BALANCING_CREDIT))
                if rng.random() < 0.2:
                    flags = BALANCING_DEBIT | BALANCING_CREDIT
                if rng.random() < 0.3:
                    flags |= PENDING
                big = rng.choice((amount, 10**9))
                return [TransferRequest(self._new_id(), debit, credit, big, ledger, 4, flags=flags)]
        if roll < 0.825:  # close an account with a pending transfer, often with a timeout
            pair = self._pair()
            if pair is not None:
                debit, credit, ledger = pair
                flags = PENDING | rng.choice((CLOSING_DEBIT, CLOSING_CREDIT))
                timeout = 0 if rng.random() < 0.2 else rng.randint(1, PENDING_TIMEOUT_SECONDS_MAX)
                return [
                    TransferRequest(
                        self._new_id(), debit, credit, 1, ledger, 5, flags=flags, timeout=timeout
                    )
                ]
        if roll < 0.9 and self.requests:  # an id used before: the same request, or changed
            earlier = self.requests[rng.choice(self.request_ids)]
            change = rng.randrange(4)
            if change == 1:
                earlier = earlier._replace(amount=earlier.amount + 1)
            elif change == 2:
                earlier = earlier._replace(user_data_64=earlier.user_data_64 + 1)
            elif change == 3:
                earlier = earlier._replace(flags=earlier.flags ^ PENDING)
            return [earlier._replace(flags=earlier.flags & ~LINKED)]
        return [self._broken()]

    def _broken(self) -> TransferRequest:
        """A request that breaks one rule (or names something that does not exist)."""
        rng = self.rng
        ids = self._account_ids() or [1]
        debit = rng.choice(ids)
        credit = rng.choice(ids)
        ledger = rng.choice(LEDGERS)
        amount = rng.randint(1, 100)
        new = self._new_id()
        choice = rng.randrange(12)
        if choice == 0:
            return TransferRequest(new, debit, 10**9 + new, amount, ledger, 6)  # no such account
        if choice == 1:
            return TransferRequest(new, 10**9 + new, credit, amount, ledger, 6)
        if choice == 2:
            return TransferRequest(new, debit, debit, amount, ledger, 6)  # the same account
        if choice == 3:
            return TransferRequest(new, debit, credit, amount, ledger, 6, timeout=5)
        if choice == 4:
            return TransferRequest(new, debit, credit, amount, ledger, 6, flags=CLOSING_DEBIT)
        if choice == 5:
            return TransferRequest(new, debit, credit, 0, ledger, 6)  # zero amount
        if choice == 6:
            return TransferRequest(new, 0, 0, 0, 0, 0, flags=POST | VOID, pending_id=1)
        if choice == 7:
            return TransferRequest(new, 0, 0, 0, 0, 0, flags=POST, pending_id=10**9 + new)
        if choice == 8:  # a plain transfer as the pending one
            target = 1
            for candidate in rng.sample(self.request_ids, min(5, len(self.request_ids))):
                transfer = self.auditor.transfers.get(candidate)
                if transfer is not None and not transfer.flags & PENDING:
                    target = candidate
                    break
            return TransferRequest(new, 0, 0, 0, 0, 0, flags=VOID, pending_id=target)
        if choice == 9:
            return TransferRequest(new, debit, credit, amount, 0, 6)  # ledger zero
        if choice == 10:
            return TransferRequest(new, debit, credit, amount, ledger, 0)  # code zero
        return TransferRequest(new, debit, credit, amount, ledger, 6, pending_id=7)

    def earlier_batch(self) -> tuple[str, list[Any]] | None:
        rng = self.rng
        if self.sent_transfers and rng.random() < 0.8:
            return "transfers", rng.choice(self.sent_transfers)
        if self.sent_accounts:
            return "accounts", rng.choice(self.sent_accounts)
        return None


# -- stores and faults ---------------------------------------------------------------------------


class Backend(Protocol):
    kind: str

    def open(self) -> LedgerStore: ...

    def break_connection_hook(self) -> Callable[[], None]:
        """A `before_commit_hook` that breaks the writer's connection before COMMIT."""
        ...

    reopen_after_connection_loss: bool

    def close(self) -> None: ...


SIMULATED_BUCKET_TRANSFERS = 5


class SqliteBackend:
    kind = "sqlite"
    reopen_after_connection_loss = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def open(self) -> LedgerStore:
        # Small statement-index buckets: the look-ups checked after every step cross many,
        # and injected failures must leave the bucket counts right.
        return SqliteLedgerStore(self.path, bucket_transfers=SIMULATED_BUCKET_TRANSFERS)

    def break_connection_hook(self) -> Callable[[], None]:
        def hook() -> None:
            raise InjectedConnectionLossError("the connection to the database is gone")

        return hook

    def close(self) -> None:
        pass


class PostgresBackend:
    """A PostgreSQL database; connection losses kill the writer's backend from outside."""

    kind = "postgres"
    reopen_after_connection_loss = False  # the store reconnects by itself
    backend_exit_timeout_s = 10.0

    def __init__(self, dsn: str) -> None:
        import psycopg

        self.dsn = dsn
        self._admin = psycopg.connect(dsn, autocommit=True)

    def open(self) -> LedgerStore:
        from hazina.ledger.store.postgres import PostgresLedgerStore

        return PostgresLedgerStore(self.dsn)

    def break_connection_hook(self) -> Callable[[], None]:
        admin = self._admin

        def hook() -> None:
            # The writer is the only session of this database inside a transaction: it holds
            # the write lock, and its writes travel with the COMMIT still to come (one round
            # trip), so it may be idle or still running them. Kill it and wait until it is
            # gone, so that the COMMIT cannot reach it.
            # (A group that did not read first sent BEGIN without waiting for it: the server
            # may still be starting the transaction, so look until it shows.)
            # (Only client sessions count: an autovacuum worker of this database also shows a
            # transaction while it runs.)
            deadline = time.monotonic() + self.backend_exit_timeout_s
            while True:
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    " AND backend_type = 'client backend'"
                ).fetchall()
                if len(rows) == 1:
                    break
                if len(rows) > 1 or time.monotonic() > deadline:
                    raise SimulationError(f"expected one writer in a transaction, found {rows}")
                time.sleep(0.001)
            pid = rows[0][0]
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + self.backend_exit_timeout_s
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                if time.monotonic() > deadline:
                    raise SimulationError(f"backend {pid} did not exit")
                time.sleep(0.002)

        return hook

    def close(self) -> None:
        self._admin.close()


@dataclass(frozen=True)
class FaultRates:
    """Probabilities per write (commit failures, connection losses) and per operation
    (restarts). Each fault is invisible to the ledger once the batch is sent again."""

    commit_failure: float = 0.04
    connection_loss: float = 0.03
    restart: float = 0.01


DEFAULT_FAULTS = FaultRates()
NO_FAULTS = FaultRates(0.0, 0.0, 0.0)


class _OneShot:
    """A `before_commit_hook` that acts on the first commit after it is armed, then never."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.fired = False

    def __call__(self) -> None:
        if not self.fired:
            self.fired = True
            self.action()


def _succeeded(batch: Sequence[Any], results: list[CreateResult]) -> list[int]:
    failed = {r.index for r in results}
    return [event.id for index, event in enumerate(batch) if index not in failed]


def _name(status: A | T | None) -> str:
    return "ok" if status is None else status.name


def _raise_commit_failure() -> None:
    raise InjectedCommitError("the disk said no")


# -- the simulator -------------------------------------------------------------------------------


@dataclass
class SimulationResult:
    seed: int
    operations: int
    digest: str
    stats: Counter[str] = field(default_factory=Counter)


class Simulator:
    def __init__(
        self,
        seed: int,
        backend: Backend,
        *,
        faults: FaultRates = DEFAULT_FAULTS,
    ) -> None:
        self.seed = seed
        self.backend = backend
        self.faults = faults
        self.rng = random.Random(seed)
        self.fault_rng = random.Random(f"faults:{seed}")
        self.clock = FixedClock(CLOCK_START_NS)
        self.auditor = Auditor()
        self.workload = Workload(self.rng, self.auditor)
        # Two services on one database, as two application processes would be: each write
        # goes to one of them, so each store must notice what the other committed.
        self.services = [LedgerService(backend.open(), self.clock) for _ in range(SERVICES)]
        self.current = 0
        self.stats: Counter[str] = Counter()
        self.step = 0

    # -- running ---------------------------------------------------------------------------

    def run(self, operations: int) -> SimulationResult:
        """Run `operations` steps, audit the whole store, close it, and digest the outcome."""
        try:
            self.advance(operations)
            self.audit(with_verify=True)
            digest = self.digest()
        finally:
            self.close()
        return SimulationResult(self.seed, self.step, digest, self.stats)

    def advance(self, operations: int) -> None:
        """Run `operations` more steps, checking the store against the auditor after each."""
        for _ in range(operations):
            self._operation()
            self._check_accounts()
            self.step += 1
            if self.step % FULL_CHECK_EVERY_STEPS == 0:
                self.audit(with_verify=False)

    @property
    def service(self) -> LedgerService:
        return self.services[self.current]

    def close(self) -> None:
        for service in self.services:
            service.close()

    def _operation(self) -> None:
        rng = self.rng
        if self.fault_rng.random() < self.faults.restart:
            self.stats["restart"] += 1
            self._reopen()
        accounts = len(self.auditor.accounts)
        weights = {
            "accounts": 6.0 if accounts < 12 else (1.0 if accounts < ACCOUNTS_MAX else 0.0),
            "transfers": 10.0 if accounts >= 2 else 0.0,
            "advance": 2.5,
            "expire": 0.4,
            "repeat": 0.8,
            "lookup": 1.0,
        }
        names = list(weights)
        operation = rng.choices(names, [weights[n] for n in names])[0]
        self.stats[operation] += 1
        if operation == "accounts":
            self._write("accounts", self.workload.account_batch())
        elif operation == "transfers":
            self._write("transfers", self.workload.transfer_batch())
        elif operation == "advance":
            self._advance_clock()
        elif operation == "expire":
            self._write("expire", [])
        elif operation == "repeat":
            earlier = self.workload.earlier_batch()
            if earlier is not None:
                self._write(*earlier)
        else:
            self._lookups()

    def _advance_clock(self) -> None:
        rng = self.rng
        now = self.clock.now_ns()
        due = self.auditor.next_expiry()
        if due is not None and due > now and rng.random() < 0.3:
            # Land right at an expiry: the edge where a post and a timeout meet.
            target = due + rng.randint(-2, 1)
            self.clock.advance_ns(max(0, target - now))
        else:
            self.clock.advance_ns(rng.randint(0, CLOCK_STEP_NS_MAX))

    def _call(
        self, kind: str, batch: Sequence[AccountRequest] | Sequence[TransferRequest]
    ) -> list[CreateResult]:
        if kind == "accounts":
            return self.service.create_accounts(batch)  # type: ignore[arg-type]
        if kind == "transfers":
            return self.service.create_transfers(batch)  # type: ignore[arg-type]
        self.service.expire_pending_transfers()
        return []

    def _write(
        self, kind: str, batch: Sequence[AccountRequest] | Sequence[TransferRequest]
    ) -> None:
        self.current = self.rng.randrange(len(self.services))
        resend = self.rng.random() < LOST_REPLY_PROBABILITY
        draw = self.fault_rng.random()
        rates = self.faults
        if draw < rates.commit_failure:
            self._fail_commit(kind, batch, _raise_commit_failure, "commit_failure")
        elif draw < rates.commit_failure + rates.connection_loss:
            self._fail_commit(kind, batch, self.backend.break_connection_hook(), "connection_loss")
        results = self._call(kind, batch)
        self._expect(kind, batch, results)
        if resend:  # the reply was lost: the client sends the same batch again
            self.stats["lost_reply"] += 1
            results = self._call(kind, batch)
            self._expect(kind, batch, results)

    def _fail_commit(
        self,
        kind: str,
        batch: Sequence[AccountRequest] | Sequence[TransferRequest],
        action: Callable[[], None],
        name: str,
    ) -> None:
        store: Any = self.service.store
        hook = _OneShot(action)
        store.before_commit_hook = hook
        try:
            results = self._call(kind, batch)
        except (InjectedCommitError, InjectedConnectionLossError, StoreError):
            self.stats[name] += 1
        else:
            # A transient failure the service retried by itself: the retry committed.
            self._fail(hook.fired, f"{name}: the fault never fired")
            self.stats[f"{name}_absorbed"] += 1
            self._expect(kind, batch, results)
            return
        finally:
            store.before_commit_hook = None
        self._fail(hook.fired, f"{name}: the call failed, but not through the injected fault")
        if name == "connection_loss" and self.backend.reopen_after_connection_loss:
            self._reopen()
        # Nothing of the failed commit may remain: the state is the auditor's.
        self._check_accounts()

    def _reopen(self) -> None:
        self.service.close()
        self.services[self.current] = LedgerService(self.backend.open(), self.clock)

    # -- comparing -------------------------------------------------------------------------

    def _fail(self, condition: bool, message: str) -> None:
        if not condition:
            raise SimulationError(f"seed {self.seed}, step {self.step}: {message}")

    def _expect(
        self,
        kind: str,
        batch: Sequence[AccountRequest] | Sequence[TransferRequest],
        results: list[CreateResult],
    ) -> None:
        prediction = self.auditor.commit(kind, batch, self.clock.now_ns())
        if results != prediction.results:
            actual = {r.index: r.status for r in results}
            expected = {r.index: r.status for r in prediction.results}
            differences = [
                f"#{index} {batch[index]}: expected {_name(expected.get(index))},"
                f" got {_name(actual.get(index))}"
                for index in range(len(batch))
                if actual.get(index) != expected.get(index)
            ]
            self._fail(False, f"{kind} results differ:\n  " + "\n  ".join(differences[:8]))
        self.stats["expired"] += len(prediction.expired)
        self.stats["accounts_created"] += len(prediction.accounts_created)
        self.stats["transfers_created"] += len(prediction.transfers_created)
        for result in prediction.results:
            self.stats[f"{kind}:{result.status.name}"] += 1
        if prediction.accounts_created:
            stored = self.service.lookup_accounts(prediction.accounts_created)
            expected_accounts = [
                self.auditor.accounts[i].record() for i in prediction.accounts_created
            ]
            self._fail(
                stored == expected_accounts,
                f"created accounts differ: {stored} != {expected_accounts}",
            )
        if prediction.transfers_created:
            stored_transfers = self.service.lookup_transfers(prediction.transfers_created)
            expected_transfers = [self.auditor.transfers[i] for i in prediction.transfers_created]
            self._fail(
                stored_transfers == expected_transfers,
                f"created transfers differ: {stored_transfers} != {expected_transfers}",
            )
        touched = prediction.expired + [
            t.pending_id or t.id
            for t in (self.auditor.transfers[i] for i in prediction.transfers_created)
            if t.flags & (PENDING | POST | VOID)
        ]
        if touched:
            stored_pending = self.service.lookup_pending(touched)
            self._fail(
                stored_pending == [self.auditor.pending[i] for i in touched],
                f"pending states differ for {touched}: {stored_pending}",
            )

    def _lookups(self) -> None:
        rng = self.rng
        auditor = self.auditor
        account_ids = rng.sample(sorted(auditor.accounts), min(5, len(auditor.accounts)))
        account_ids.append(10**12 + self.step)  # one that does not exist
        self._fail(
            self.service.lookup_accounts(account_ids)
            == [auditor.accounts[i].record() for i in account_ids if i in auditor.accounts],
            f"lookup_accounts({account_ids}) differs",
        )
        known = self.workload.request_ids
        transfer_ids = rng.sample(known, min(8, len(known)))
        self._fail(
            self.service.lookup_transfers(transfer_ids)
            == [auditor.transfers[i] for i in transfer_ids if i in auditor.transfers],
            f"lookup_transfers({transfer_ids}) differs",
        )
        if account_ids[:-1]:
            account_filter = AccountFilter(
                rng.choice(account_ids[:-1]),
                limit=rng.randint(1, 20),
                debits=rng.random() < 0.8,
                credits=rng.random() < 0.8,
                reversed=rng.random() < 0.5,
            )
            self._fail(
                self.service.get_account_transfers(account_filter)
                == auditor.transfers_of(account_filter),
                f"get_account_transfers({account_filter}) differs",
            )
        historic = sorted(auditor.history)
        if historic:
            account_id = rng.choice(historic)
            balances = self.service.get_account_balances(
                AccountFilter(account_id, limit=query_limit_max)
            )
            self._fail(
                balances == auditor.history[account_id][:query_limit_max],
                f"get_account_balances({account_id}) differs",
            )

    def _check_accounts(self) -> None:
        """After every step: the invariants, and every account as the auditor has it."""
        accounts = self.service.store.all_accounts()
        totals: dict[int, list[int]] = {}
        for a in accounts:
            total = totals.setdefault(a.ledger, [0, 0, 0, 0])
            total[0] += a.debits_pending
            total[1] += a.debits_posted
            total[2] += a.credits_pending
            total[3] += a.credits_posted
            if a.flags & DEBITS_MUST_NOT_EXCEED_CREDITS:
                self._fail(
                    a.debits_pending + a.debits_posted <= a.credits_posted,
                    f"account {a.id} has more debits than credits: {a}",
                )
            if a.flags & CREDITS_MUST_NOT_EXCEED_DEBITS:
                self._fail(
                    a.credits_pending + a.credits_posted <= a.debits_posted,
                    f"account {a.id} has more credits than debits: {a}",
                )
        for ledger, (debits_pending, debits_posted, credits_pending, credits_posted) in sorted(
            totals.items()
        ):
            self._fail(
                debits_posted == credits_posted and debits_pending == credits_pending,
                f"ledger {ledger} does not balance: {totals[ledger]}",
            )
        expected = self.auditor.account_records()
        if accounts != expected:
            by_id = {a.id: a for a in accounts}
            differences = [
                f"{by_id.get(e.id)} != {e}" for e in expected if by_id.get(e.id) != e
            ] + [f"unexpected {a}" for a in accounts if a.id not in self.auditor.accounts]
            self._fail(False, "accounts differ:\n  " + "\n  ".join(differences[:5]))

    def audit(self, *, with_verify: bool) -> None:
        """Compare the whole store with the auditor: pending states, every transfer, the
        number of journal entries; with `with_verify`, also run `verify(store)`."""
        store = self.service.store
        self._fail(
            store.pending_states() == self.auditor.pending,
            "pending states differ",
        )
        stored = [t for page in store.iterate_transfers(query_limit_max) for t in page]
        expected = sorted(self.auditor.transfers.values(), key=lambda t: t.timestamp)
        self._fail(stored == expected, "transfers differ")
        journal = store.journal(0, query_limit_max)
        self._fail(
            len(journal) == min(self.auditor.journal_entries, query_limit_max),
            f"{len(journal)} journal entries, expected {self.auditor.journal_entries}",
        )
        if with_verify:
            report = verify(store)
            self._fail(report.ok, f"verify: {report.problems}")
            self._fail(report.transfers == len(self.auditor.transfers), "verify saw too few")

    def digest(self) -> str:
        """A hash of everything the store holds that a client can read back."""
        store = self.service.store
        h = hashlib.sha256()
        for account in store.all_accounts():
            h.update(repr(tuple(account)).encode())
            if account.flags & HISTORY:
                for balance in store.get_account_balances(
                    AccountFilter(account.id, limit=query_limit_max)
                ):
                    h.update(repr(tuple(balance)).encode())
        for page in store.iterate_transfers(query_limit_max):
            for transfer in page:
                h.update(repr(tuple(transfer)).encode())
        for pending_id, status in sorted(store.pending_states().items()):
            h.update(repr((pending_id, *status)).encode())
        sequence = 0
        while True:
            entries = store.journal(sequence, query_limit_max)
            if not entries:
                break
            for entry in entries:
                h.update(repr(tuple(entry)).encode())
            sequence = entries[-1].sequence
        return h.hexdigest()


def simulate(
    seed: int,
    operations: int,
    backend: Backend,
    faults: FaultRates = DEFAULT_FAULTS,
) -> SimulationResult:
    return Simulator(seed, backend, faults=faults).run(operations)


# -- standalone ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulation.ledger_simulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed")
    parser.add_argument("--operations", type=int, default=5_000)
    parser.add_argument(
        "--postgres",
        metavar="DSN",
        nargs=2,
        default=None,
        help="two empty PostgreSQL databases (faulty run, clean twin) instead of SQLite files",
    )
    parser.add_argument("--no-twin", action="store_true", help="skip the run without faults")
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.randrange(2**32)
    print(f"seed {seed}, {arguments.operations} operations", flush=True)

    def run(index: int, faults: FaultRates) -> SimulationResult:
        started = time.perf_counter()
        backend: Backend
        with tempfile.TemporaryDirectory(prefix="hazina-simulation-") as directory:
            if arguments.postgres:
                backend = PostgresBackend(arguments.postgres[index])
            else:
                backend = SqliteBackend(Path(directory) / "ledger.sqlite3")
            try:
                result = simulate(seed, arguments.operations, backend, faults)
            finally:
                backend.close()
        elapsed = time.perf_counter() - started
        label = "with faults" if faults != NO_FAULTS else "without faults"
        print(f"{label}: digest {result.digest[:16]} in {elapsed:.1f} s", flush=True)
        return result

    try:
        faulty = run(0, FaultRates())
        print(", ".join(f"{k} {v}" for k, v in sorted(faulty.stats.items())), flush=True)
        if not arguments.no_twin:
            clean = run(1, NO_FAULTS)
            if clean.digest != faulty.digest:
                print("FAIL: the run with faults ended in another state than the clean run")
                return 1
    except SimulationError as failure:
        print(f"FAIL: {failure}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

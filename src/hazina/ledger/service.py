"""The ledger service: batches in, statuses out, with group commit.

Callers on any thread hand their batch to one committer thread. The committer takes every
request waiting at that moment (up to `group_commit_requests_max`), applies them one after
another in arrival order inside a single database transaction, appends one journal entry, and
commits once. Each caller gets exactly the results it would have had alone, because its batch is
applied to the state left by the batches before it, as if they had been sent one by one. A
failed commit fails every caller in the group and leaves nothing behind; retrying is safe, since
transfer ids are idempotency keys.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from hazina.kernel.clock import Clock
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    account_batch_size_max,
    group_commit_requests_max,
    pending_expiry_batch_max,
    serialization_retries_max,
    serialization_retry_backoff_ms,
    transfer_batch_size_max,
)
from hazina.ledger.domain.apply import (
    BatchOutcome,
    LedgerState,
    apply_accounts,
    apply_transfers,
    expire_pending,
)
from hazina.ledger.domain.journal import (
    ACCOUNT,
    EXPIRY,
    TRANSFER,
    AccountRecord,
    Run,
    chain,
    merge_runs,
    payload_hash,
)
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountFilter,
    AccountRequest,
    CreateResult,
    PendingStatus,
    QueryFilter,
    Transfer,
    TransferRequest,
)
from hazina.ledger.store.base import LedgerStore, TransientStoreError


class BatchTooLargeError(ValueError):
    """A request carried more events than the named limit allows. Nothing was applied."""

    code = "batch_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"batch of {size} events exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


@dataclass(slots=True)
class _Request:
    kind: str  # "accounts" | "transfers" | "expire"
    batch: Sequence[AccountRequest] | Sequence[TransferRequest]
    future: Future[list[CreateResult]]


_STOP = object()


class LedgerService:
    """Create and look up accounts and transfers. Thread-safe; one committer thread."""

    def __init__(self, store: LedgerStore, clock: Clock) -> None:
        self.store = store
        self._clock = clock
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.commits = 0  # database transactions committed, for group-commit measurements

    # -- writes --------------------------------------------------------------------------------

    def create_accounts(self, batch: Sequence[AccountRequest]) -> list[CreateResult]:
        if len(batch) > account_batch_size_max:
            raise BatchTooLargeError(len(batch), account_batch_size_max)
        return self._submit("accounts", batch)

    def create_transfers(self, batch: Sequence[TransferRequest]) -> list[CreateResult]:
        if len(batch) > transfer_batch_size_max:
            raise BatchTooLargeError(len(batch), transfer_batch_size_max)
        return self._submit("transfers", batch)

    def expire_pending_transfers(self) -> None:
        """Commit once so that pending transfers past their timeout are voided now.

        Every write also does this first; call it when no writes are coming."""
        self._submit("expire", [])

    def _submit(
        self, kind: str, batch: Sequence[AccountRequest] | Sequence[TransferRequest]
    ) -> list[CreateResult]:
        if self._closed:
            raise RuntimeError("the ledger service is closed")
        self._ensure_committer()
        future: Future[list[CreateResult]] = Future()
        self._queue.put(_Request(kind, batch, future))
        return future.result()

    def _ensure_committer(self) -> None:
        if self._committer is not None:
            return
        with self._start_lock:
            if self._committer is None:
                thread = threading.Thread(
                    target=self._run_committer, name="ledger-committer", daemon=True
                )
                thread.start()
                self._committer = thread

    def _run_committer(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < group_commit_requests_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                group.append(more)
            requests = [r for r in group if isinstance(r, _Request)]
            try:
                results = self._commit_with_retries(requests)
            except BaseException as error:  # every caller of the group learns of the failure
                for request in requests:
                    request.future.set_exception(error)
            else:
                for request, result in zip(requests, results, strict=True):
                    request.future.set_result(result)
            if stop:
                return

    def _commit_with_retries(self, requests: list[_Request]) -> list[list[CreateResult]]:
        attempt = 0
        while True:
            try:
                return self._commit(requests)
            except TransientStoreError:
                attempt += 1
                if attempt > serialization_retries_max:
                    raise
                time.sleep(serialization_retry_backoff_ms * attempt / 1000)

    def _commit(self, requests: list[_Request]) -> list[list[CreateResult]]:
        results: list[list[CreateResult]] = []
        with self.store.write() as transaction:
            sequence, last_timestamp, previous_hash = transaction.head()
            timestamp = max(self._clock.now_ns(), last_timestamp + 1)
            timestamp_first = timestamp
            state = LedgerState()
            total = BatchOutcome()
            segments: list[Run] = []

            due = transaction.due_expiries(timestamp, pending_expiry_batch_max)
            if due:
                accounts = {t.debit_account_id for t in due} | {t.credit_account_id for t in due}
                transaction.load(state, accounts, {t.id for t in due})
                expired = expire_pending(due, state, timestamp)
                timestamp += len(due)
                _merge(total, expired)
                segments.append((EXPIRY, expired.expiries))

            for request in requests:
                if request.kind == "accounts":
                    account_batch: Sequence[AccountRequest] = request.batch  # type: ignore[assignment]
                    transaction.load(state, {_key(r.id) for r in account_batch}, set())
                    outcome = apply_accounts(account_batch, state, timestamp)
                    segments.append(
                        (
                            ACCOUNT,
                            [
                                AccountRecord(
                                    a.id,
                                    a.ledger,
                                    a.code,
                                    a.flags,
                                    a.user_data_128,
                                    a.user_data_64,
                                    a.user_data_32,
                                    a.timestamp,
                                )
                                for a in outcome.accounts_created
                            ],
                        )
                    )
                elif request.kind == "transfers":
                    transfer_batch: Sequence[TransferRequest] = request.batch  # type: ignore[assignment]
                    account_ids, transfer_ids = _referenced_ids(transfer_batch)
                    transaction.load(state, account_ids, transfer_ids)
                    outcome = apply_transfers(transfer_batch, state, timestamp)
                    segments.append((TRANSFER, outcome.transfers_created))
                else:
                    outcome = BatchOutcome()
                timestamp += len(request.batch)
                _merge(total, outcome)
                results.append(outcome.results)

            transaction.persist(total, state)
            runs = merge_runs(segments)
            if runs:
                entry = chain(
                    previous_hash,
                    sequence + 1,
                    timestamp_first,
                    timestamp - 1,
                    sum(len(records) for _, records in runs),
                    payload_hash(runs),
                )
                transaction.append_journal(entry)
            transaction.commit()
        self.commits += 1
        invariant(len(results) == len(requests), "one result list per request")
        return results

    # -- reads ---------------------------------------------------------------------------------

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        return self.store.lookup_accounts(ids)

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        return self.store.lookup_transfers(ids)

    def lookup_pending(self, ids: Sequence[int]) -> list[PendingStatus]:
        return self.store.lookup_pending(ids)

    def get_account_transfers(self, account_filter: AccountFilter) -> list[Transfer]:
        return self.store.get_account_transfers(account_filter)

    def get_account_balances(self, account_filter: AccountFilter) -> list[AccountBalance]:
        return self.store.get_account_balances(account_filter)

    def query_accounts(self, query: QueryFilter) -> list[Account]:
        return self.store.query_accounts(query)

    def query_transfers(self, query: QueryFilter) -> list[Transfer]:
        return self.store.query_transfers(query)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._committer is not None:
            self._queue.put(_STOP)
            self._committer.join()
        self.store.close()


def _referenced_ids(batch: Sequence[TransferRequest]) -> tuple[set[int], set[int]]:
    """The account and transfer ids a batch names, to load before applying it."""
    try:
        account_ids = {r.debit_account_id for r in batch}
        account_ids.update([r.credit_account_id for r in batch])
        transfer_ids = {r.id for r in batch}
        transfer_ids.update([r.pending_id for r in batch if r.pending_id])
    except TypeError:  # an unhashable id: the domain will refuse it, look up what is valid
        account_ids = {_key(r.debit_account_id) for r in batch}
        account_ids.update(_key(r.credit_account_id) for r in batch)
        transfer_ids = {_key(r.id) for r in batch}
        transfer_ids.update(_key(r.pending_id) for r in batch if r.pending_id)
    return account_ids, transfer_ids


def _key(value: object) -> int:
    """An id as a lookup key; malformed ids (caught later by the domain) look up nothing."""
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return 0


def _merge(total: BatchOutcome, outcome: BatchOutcome) -> None:
    total.accounts_created.extend(outcome.accounts_created)
    total.transfers_created.extend(outcome.transfers_created)
    total.accounts_changed |= outcome.accounts_changed
    total.pending_changed.update(outcome.pending_changed)
    total.balances.extend(outcome.balances)
    total.expiries.extend(outcome.expiries)
    total.failed.extend(outcome.failed)

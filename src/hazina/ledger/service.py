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

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hazina.kernel import loop_bridge
from hazina.kernel.clock import Clock
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    account_batch_size_max,
    group_commit_linger_us,
    group_commit_requests_max,
    pending_expiry_batch_max,
    serialization_retries_max,
    serialization_retry_backoff_ms,
    transfer_apply_chunk_first_max,
    transfer_apply_chunk_max,
    transfer_batch_size_max,
)
from hazina.ledger.domain.apply import (
    BatchOutcome,
    LedgerState,
    apply_accounts,
    apply_transfers,
    expire_pending,
    settled_chunks,
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
from hazina.ledger.store.base import (
    LedgerStore,
    SqlSession,
    StaleReadError,
    TransientStoreError,
    WriteTransaction,
)

T = TypeVar("T")


class BatchTooLargeError(ValueError):
    """A request carried more events than the named limit allows. Nothing was applied."""

    code = "batch_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"batch of {size} events exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


class _Reply:
    """One caller's answer from the committer: a lock the caller blocks on until it is set.

    Lighter than `concurrent.futures.Future` (no condition variable, waiter list or callbacks):
    with single-transfer callers, waking them is a part of every group's cycle."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self._value: Any = None
        self._error: BaseException | None = None

    def set_result(self, value: Any) -> None:
        self._value = value
        self._done.release()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._done.release()

    def result(self) -> Any:
        self._done.acquire()
        if self._error is not None:
            raise self._error
        return self._value


class _LoopReply:
    """One caller's answer when the caller is work run on an event loop
    (`kernel.loop_bridge`): the committer settles the caller's future on that loop."""

    __slots__ = ("_future", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        self._loop = loop
        self._future = future

    def set_result(self, value: Any) -> None:
        self._settle(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(None, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        # A loop that has closed (its server stopped) has no caller left to answer; the
        # committer goes on with the next group.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_settle_future, self._future, value, error)


def _settle_future(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


@dataclass(slots=True)
class _Request:
    kind: str  # "accounts" | "transfers" | "expire" | "unit"
    batch: Sequence[AccountRequest] | Sequence[TransferRequest]
    future: _Reply | _LoopReply
    work: Callable[[LedgerUnit], Any] | None = None
    enqueued_at: float = field(default_factory=time.monotonic)


class _UnitFailedError(Exception):
    """A unit of work raised: its group is rolled back and retried without it."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


_STOP = object()


class LedgerService:
    """Create and look up accounts and transfers. Thread-safe; one committer thread."""

    def __init__(
        self,
        store: LedgerStore,
        clock: Clock,
        *,
        apply_chunk_size: int = transfer_apply_chunk_max,
        apply_chunk_first: int | None = transfer_apply_chunk_first_max,
    ) -> None:
        """`apply_chunk_size`: events applied before their transfers are handed to the store
        (tests lower it to cut every batch into many chunks). `apply_chunk_first`: a batch's
        first chunk, doubled up to `apply_chunk_size` (None: every chunk full size)."""
        invariant(apply_chunk_size > 0, "a chunk holds at least one event")
        invariant(apply_chunk_first is None or apply_chunk_first > 0, "a chunk holds an event")
        self.store = store
        self._clock = clock
        self._apply_chunks = (apply_chunk_size, apply_chunk_first)
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.commits = 0  # database transactions committed, for group-commit measurements
        self._last_group_size = 0  # callers in the last group, and when they were answered
        self._released_at = 0.0

    # -- writes --------------------------------------------------------------------------------

    def create_accounts(self, batch: Sequence[AccountRequest]) -> list[CreateResult]:
        if len(batch) > account_batch_size_max:
            raise BatchTooLargeError(len(batch), account_batch_size_max)
        results: list[CreateResult] = self._submit("accounts", batch)
        return results

    def create_transfers(self, batch: Sequence[TransferRequest]) -> list[CreateResult]:
        if len(batch) > transfer_batch_size_max:
            raise BatchTooLargeError(len(batch), transfer_batch_size_max)
        results: list[CreateResult] = self._submit("transfers", batch)
        return results

    def expire_pending_transfers(self) -> None:
        """Commit once so that pending transfers past their timeout are voided now.

        Every write also does this first; call it when no writes are coming."""
        self._submit("expire", [])

    def run(self, work: Callable[[LedgerUnit], T]) -> T:
        """Run `work` on the committer thread, inside the database transaction of its group.

        `work` sees the ledger as the requests before it in the group left it, may create
        accounts and transfers, and may read and write other contexts' tables through
        `unit.sql` in the same transaction: a payment's postings, its record, its idempotency
        key and its outbox event commit together or not at all. Work runs one at a time, so
        what it reads cannot change before it commits. It must be quick, must not block, and
        may run more than once (a group is retried after a transient failure): keep side
        effects inside `unit`. If it raises, nothing it did is kept, the exception reaches
        the caller, and the rest of its group is committed without it.
        """
        result: T = self._submit("unit", [], work)
        return result

    def _submit(
        self,
        kind: str,
        batch: Sequence[AccountRequest] | Sequence[TransferRequest],
        work: Callable[[LedgerUnit], Any] | None = None,
    ) -> Any:
        if self._closed:
            raise RuntimeError("the ledger service is closed")
        self._ensure_committer()
        loop = loop_bridge.running_loop()
        if loop is not None:  # an endpoint run on the event loop: suspend it, not the loop
            future: asyncio.Future[Any] = loop.create_future()
            self._queue.put(_Request(kind, batch, _LoopReply(loop, future), work))
            return loop_bridge.wait(future)
        reply = _Reply()
        self._queue.put(_Request(kind, batch, reply, work))
        return reply.result()

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
            group, stop = self._gather(self._queue.get())
            requests = [r for r in group if isinstance(r, _Request)]
            while requests:
                try:
                    results = self._commit_with_retries(requests)
                except _UnitFailedError as failure:  # that caller alone fails; retry the rest
                    requests.pop(failure.index).future.set_exception(failure.error)
                    continue
                except BaseException as error:  # every caller of the group learns of it
                    for request in requests:
                        request.future.set_exception(error)
                else:
                    for request, result in zip(requests, results, strict=True):
                        request.future.set_result(result)
                break
            self._last_group_size = len(group)
            self._released_at = time.monotonic()
            if stop:
                return

    def _gather(self, first: _Request | object) -> tuple[list[_Request | object], bool]:
        """The group: `first`, what waits behind it, and, when callers take turns, those who
        are about to come back.

        Callers of the last group were answered moments ago and are sending again; requests
        that queued while it committed belong to callers who were not in it. If both kinds
        are about (more than one caller), linger a little for the group to hold them all:
        two cohorts taking turns at commit become one group that shares one fsync."""
        if first is _STOP:
            return [], True
        group: list[_Request | object] = [first]
        stop = False
        linger_until = time.monotonic() + group_commit_linger_us / 1e6
        released_at = self._released_at
        # Requests that queued while the last group committed: their callers were not in it.
        others = int(isinstance(first, _Request) and first.enqueued_at < released_at)
        while len(group) < group_commit_requests_max:
            more: _Request | object
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                target = min(self._last_group_size + others, group_commit_requests_max)
                if self._last_group_size < 2 or len(group) >= target:
                    break
                wait_s = linger_until - time.monotonic()
                if wait_s <= 0:
                    break
                try:
                    more = self._queue.get(timeout=wait_s)
                except queue.Empty:
                    break
            if more is _STOP:
                stop = True
                break
            group.append(more)
            if isinstance(more, _Request) and more.enqueued_at < released_at:
                others += 1
        return group, stop

    def _commit_with_retries(self, requests: list[_Request]) -> list[Any]:
        attempt = 0
        while True:
            try:
                return self._commit(requests)
            except TransientStoreError as error:
                attempt += 1
                if attempt > serialization_retries_max:
                    raise
                if not isinstance(error, StaleReadError):  # that one reads first next time
                    time.sleep(serialization_retry_backoff_ms * attempt / 1000)

    def _commit(self, requests: list[_Request]) -> list[Any]:
        results: list[Any] = []
        with self.store.write() as transaction:
            batches: list[Sequence[TransferRequest]] = [
                r.batch  # type: ignore[misc]
                for r in requests
                if r.kind == "transfers"
            ]
            # Only new transfers (no other kind of request, no post or void of a pending
            # transfer): the store may trust its cache instead of reading first.
            all_new = len(batches) == len(requests) and not any(
                r.pending_id for batch in batches for r in batch
            )
            group = _Group(
                transaction,
                self._clock,
                batches,
                self._apply_chunks,
                all_new,
                load_per_chunk=self.store.reads_in_process,
            )
            for index, request in enumerate(requests):
                if request.kind == "accounts":
                    results.append(group.create_accounts(request.batch))  # type: ignore[arg-type]
                elif request.kind == "transfers":
                    results.append(group.create_transfers(request.batch))  # type: ignore[arg-type]
                elif request.kind == "unit":
                    work = request.work
                    invariant(work is not None, "a unit request carries its work")
                    try:
                        result = work(LedgerUnit(group))  # type: ignore[misc]
                        # Its writes that were sent without waiting answer now, so that an
                        # error is this unit's, not the next one's.
                        transaction.sql.flush()
                        results.append(result)
                    except TransientStoreError:
                        raise
                    except Exception as error:
                        raise _UnitFailedError(index, error) from error
                else:
                    results.append([])
            group.finish()
            transaction.commit()
        self.commits += 1
        invariant(len(results) == len(requests), "one result per request")
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


class _Group:
    """One database transaction: the requests of a group applied one after another."""

    def __init__(
        self,
        transaction: WriteTransaction,
        clock: Clock,
        batches: Sequence[Sequence[TransferRequest]] = (),
        apply_chunks: tuple[int, int | None] = (transfer_apply_chunk_max, None),
        all_new: bool = False,
        *,
        load_per_chunk: bool = False,
    ) -> None:
        """`load_per_chunk`: the store reads in process, so each chunk of a batch loads its
        own ids right before it is applied; else the group's ids are named to `open` and
        loaded once (one round trip)."""
        self.transaction = transaction
        self._load_per_chunk = load_per_chunk
        self._apply_chunks = apply_chunks  # (size, first)
        now_ns = clock.now_ns()
        # Ids looked up once for the whole group, where a look-up costs a round trip: found
        # ones are in `state`, the others did not exist when the transaction began (the
        # writer lock keeps it so). In process, each chunk loads its own ids as it is applied.
        self._preloaded_accounts: set[int] = set()
        self._preloaded_transfers: set[int] = set()
        # The ids of a group's only batch are what it references: no need to recompute them.
        self._preloaded_batch: Sequence[TransferRequest] | None = None
        for batch in () if load_per_chunk else batches:
            account_ids, transfer_ids = _referenced_ids(batch)
            if len(batches) == 1:
                self._preloaded_batch = batch
                self._preloaded_accounts = account_ids
                self._preloaded_transfers = transfer_ids
                break
            self._preloaded_accounts |= account_ids
            self._preloaded_transfers |= transfer_ids
        self._sequence, last_timestamp, self._previous_hash, due = transaction.open(
            now_ns,
            pending_expiry_batch_max,
            self._preloaded_transfers,
            self._preloaded_accounts,
            all_new,
        )
        self.timestamp = max(now_ns, last_timestamp + 1)
        self._timestamp_first = self.timestamp
        self.state = LedgerState()
        self._total = BatchOutcome()
        self._segments: list[Run] = []
        invariant(len(due) <= pending_expiry_batch_max, "expiries come in bounded batches")
        if due:
            accounts = {t.debit_account_id for t in due} | {t.credit_account_id for t in due}
            transaction.load(self.state, accounts, {t.id for t in due})
            expired = expire_pending(due, self.state, self.timestamp)
            self.timestamp += len(due)
            _merge(self._total, expired)
            self._segments.append((EXPIRY, expired.expiries))
        if self._preloaded_transfers:
            transaction.load(
                self.state, set(self._preloaded_accounts), set(self._preloaded_transfers)
            )

    def create_accounts(self, batch: Sequence[AccountRequest]) -> list[CreateResult]:
        self.transaction.load(self.state, {_key(r.id) for r in batch}, set())
        outcome = apply_accounts(batch, self.state, self.timestamp)
        self._segments.append(
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
        self.timestamp += len(batch)
        _merge(self._total, outcome)
        return outcome.results

    def create_transfers(self, batch: Sequence[TransferRequest]) -> list[CreateResult]:
        load_chunks = False
        if self._preloaded_batch is batch:
            self._preloaded_batch = None  # loaded whole in __init__: nothing more to load
        elif self._load_per_chunk:
            load_chunks = True  # the first chunk is applied (and written) sooner
        else:
            account_ids, transfer_ids = _referenced_ids(batch)
            if self._preloaded_transfers:
                account_ids -= self._preloaded_accounts
                transfer_ids -= self._preloaded_transfers
            self.transaction.load(self.state, account_ids, transfer_ids)
        results: list[CreateResult] = []
        created: list[Transfer] = []
        # Applied a chunk at a time: each chunk's transfers are final once it is applied, so
        # the store may start writing them while the next chunk is applied.
        for start, stop in settled_chunks(batch, *self._apply_chunks):
            chunk = batch if (start, stop) == (0, len(batch)) else batch[start:stop]
            if load_chunks:
                self.transaction.load(self.state, *_referenced_ids(chunk))
            outcome = apply_transfers(chunk, self.state, self.timestamp + start)
            if start:
                outcome.results = [CreateResult(r.index + start, r.status) for r in outcome.results]
            results.extend(outcome.results)
            created.extend(outcome.transfers_created)
            _merge(self._total, outcome)
            if outcome.transfers_created:
                self.transaction.write_transfers(outcome.transfers_created, len(batch))
        self._segments.append((TRANSFER, created))
        self.timestamp += len(batch)
        invariant(len(results) + len(created) == len(batch), "every transfer event has one outcome")
        return results

    def accounts(self, ids: Sequence[int]) -> dict[int, Account]:
        self.transaction.load(self.state, {_key(i) for i in ids}, set())
        found: dict[int, Account] = {}
        for account_id in ids:
            account = self.state.accounts.get(account_id)
            if account is not None:
                found[account_id] = account.to_account()
        return found

    def finish(self) -> None:
        """Persist everything the group did and append its journal entry.

        The entry is hashed after `persist` has handed over the writes: on SQLite a large
        group's writer thread then updates the accounts (multi-row statements, which run
        without the GIL) while this thread hashes (in pieces, so the writer gets the GIL
        between its statements)."""
        self.transaction.persist(self._total, self.state)
        runs = merge_runs(self._segments)
        if runs:
            self.transaction.append_journal(
                chain(
                    self._previous_hash,
                    self._sequence + 1,
                    self._timestamp_first,
                    self.timestamp - 1,
                    sum(len(records) for _, records in runs),
                    payload_hash(runs),
                )
            )


class LedgerUnit:
    """What a unit of work (`LedgerService.run`) may do inside its group's transaction."""

    __slots__ = ("_group",)

    def __init__(self, group: _Group) -> None:
        self._group = group

    @property
    def sql(self) -> SqlSession:
        """The group's own database transaction, for other contexts' tables."""
        return self._group.transaction.sql

    @property
    def now_ns(self) -> int:
        """The ledger timestamp the next event will get: a clock reading, strictly rising."""
        return self._group.timestamp

    def create_accounts(self, batch: Sequence[AccountRequest]) -> list[CreateResult]:
        if len(batch) > account_batch_size_max:
            raise BatchTooLargeError(len(batch), account_batch_size_max)
        return self._group.create_accounts(batch)

    def create_transfers(self, batch: Sequence[TransferRequest]) -> list[CreateResult]:
        if len(batch) > transfer_batch_size_max:
            raise BatchTooLargeError(len(batch), transfer_batch_size_max)
        return self._group.create_transfers(batch)

    def lookup_accounts(self, ids: Sequence[int]) -> dict[int, Account]:
        """The named accounts as they stand now, inside the transaction; missing ids absent."""
        return self._group.accounts(ids)


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

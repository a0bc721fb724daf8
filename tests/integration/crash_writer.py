"""A ledger writer that `test_crash_safety.py` kills with SIGKILL and starts again.

Run as a script (`python tests/integration/crash_writer.py --store sqlite --database PATH
--seed N --batches M`). It opens the store named by `--store` and `--database` (a SQLite path
or a PostgreSQL DSN), creates the accounts, then
streams batches of transfers through `LedgerService` from `--start` to `--batches`, one thread
per lane so that batches of different lanes share group commits. After each `create_transfers`
returns, it writes one line to stdout, flushed:

    accounts                      the accounts exist (created now or already)
    ack <batch> <results>         batch committed; results are `index:status` pairs or `-`
    done                          every batch is acknowledged

Everything a batch contains is a pure function of (seed, batch number), so the test can
rebuild the requests and replay them in a reference ledger. Lanes own disjoint accounts and
batch `b` belongs to lane `b % lanes`, so the outcome of a batch depends only on the batches of
its own lane before it: the order in which lanes interleave does not change any result. A
restarted writer re-sends batches it may already have sent, which idempotency makes harmless.

Pending transfers time out after a day (or never), far beyond a test's lifetime, so results
do not depend on the wall clock.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
from collections.abc import Sequence

from hazina.kernel.clock import SystemClock
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, TransferRequest
from hazina.ledger.domain.results import CreateAccountStatus
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore

LANES = 3
LEDGERS = (1, 2)
USERS_PER_LEDGER = 4
EVENTS_PER_BATCH_MAX = 900  # transfer ids are (batch + 1) * 1000 + slot
HOLD_SLOT_FIRST = 900  # slots 900.. are the batch's pending holds
HOLD_TIMEOUT_SECONDS = 86_400

_LINKED = int(TransferFlags.linked)
_PENDING = int(TransferFlags.pending)
_POST = int(TransferFlags.post_pending_transfer)
_VOID = int(TransferFlags.void_pending_transfer)
_BALANCING_DEBIT = int(TransferFlags.balancing_debit)

# Account roles within a lane and ledger: offset of the id from the block's base.
ISSUER = 1  # no limits: the source of funds
FEES = 2  # no limits: collects fees
RESERVE = 3  # credits_must_not_exceed_debits: lends, and repayments may not exceed loans
USER_FIRST = 10  # debits_must_not_exceed_credits: cannot be overdrawn


def open_store(kind: str, location: str) -> LedgerStore:
    """`sqlite` with a file path (synchronous=FULL, the store's default), or `postgres` with a
    DSN (key=value or URI)."""
    if kind == "sqlite":
        return SqliteLedgerStore(location)
    if kind == "postgres":
        from hazina.ledger.store.postgres import PostgresLedgerStore

        return PostgresLedgerStore(location)
    raise ValueError(f"unknown store kind {kind!r}")


def block_base(lane: int, ledger: int) -> int:
    return (lane + 1) * 10_000 + ledger * 100


def lane_of(batch: int, lanes: int = LANES) -> int:
    return batch % lanes


def account_requests(lanes: int = LANES) -> list[AccountRequest]:
    requests: list[AccountRequest] = []
    for lane in range(lanes):
        for ledger in LEDGERS:
            base = block_base(lane, ledger)
            requests.append(AccountRequest(base + ISSUER, ledger, 1))
            requests.append(AccountRequest(base + FEES, ledger, 2, flags=int(AccountFlags.history)))
            requests.append(
                AccountRequest(
                    base + RESERVE,
                    ledger,
                    3,
                    flags=int(AccountFlags.credits_must_not_exceed_debits),
                )
            )
            for user in range(USERS_PER_LEDGER):
                flags = int(AccountFlags.debits_must_not_exceed_credits)
                if user == 0:
                    flags |= int(AccountFlags.history)
                requests.append(AccountRequest(base + USER_FIRST + user, ledger, 4, flags=flags))
    return requests


def transfer_id(batch: int, slot: int) -> int:
    return (batch + 1) * 1000 + slot


def _rng(seed: int, batch: int, part: str) -> random.Random:
    # A string seed is hashed with SHA-512: stable across processes and Python runs.
    return random.Random(f"crash-writer:{seed}:{batch}:{part}")


def holds(seed: int, batch: int, lanes: int = LANES) -> list[TransferRequest]:
    """The pending transfers batch `batch` places (resolved by the lane's next batch)."""
    rng = _rng(seed, batch, "holds")
    lane = lane_of(batch, lanes)
    result = []
    for index in range(rng.randint(1, 4)):
        ledger = rng.choice(LEDGERS)
        base = block_base(lane, ledger)
        debit, credit = rng.sample(range(USERS_PER_LEDGER), 2)
        result.append(
            TransferRequest(
                transfer_id(batch, HOLD_SLOT_FIRST + index),
                base + USER_FIRST + debit,
                base + USER_FIRST + credit,
                rng.randint(1, 300),
                ledger,
                20,
                flags=_PENDING,
                timeout=rng.choice((0, HOLD_TIMEOUT_SECONDS)),
            )
        )
    return result


def batch_transfers(seed: int, batch: int, lanes: int = LANES) -> list[TransferRequest]:
    """The transfers of batch `batch`: plain payments, linked chains, holds, posts and voids."""
    rng = _rng(seed, batch, "main")
    lane = lane_of(batch, lanes)
    events: list[TransferRequest] = []

    def next_id() -> int:
        return transfer_id(batch, len(events))

    def user(base: int) -> int:
        return base + USER_FIRST + rng.randrange(USERS_PER_LEDGER)

    def plain(debit: int, credit: int, amount: int, ledger: int, code: int, flags: int = 0) -> None:
        events.append(TransferRequest(next_id(), debit, credit, amount, ledger, code, flags=flags))

    # Resolve the holds of this lane's previous batch: post in full, post in part, or void.
    previous = batch - lanes
    resolutions: list[TransferRequest] = []
    if previous >= 0:
        for hold in holds(seed, previous, lanes):
            choice = rng.random()
            if choice < 0.4:
                resolutions.append(
                    TransferRequest(0, 0, 0, 0, 0, 0, flags=_POST, pending_id=hold.id)
                )
            elif choice < 0.6:
                amount = rng.randint(1, hold.amount)
                resolutions.append(
                    TransferRequest(0, 0, 0, amount, 0, 0, flags=_POST, pending_id=hold.id)
                )
            elif choice < 0.9:
                resolutions.append(
                    TransferRequest(0, 0, 0, 0, 0, 0, flags=_VOID, pending_id=hold.id)
                )
            # else: leave it pending for ever

    for _ in range(rng.randint(8, 30)):
        ledger = rng.choice(LEDGERS)
        base = block_base(lane, ledger)
        kind = rng.random()
        if kind < 0.25:  # fund a user from the issuer
            plain(base + ISSUER, user(base), rng.randint(100, 1_000), ledger, 10)
        elif kind < 0.5:  # pay another user: may exceed the payer's credits
            debit = user(base)
            credit = user(base)
            if credit == debit:
                credit = base + FEES
            plain(debit, credit, rng.randint(1, 600), ledger, 11)
        elif kind < 0.65:  # payment plus fee, all or nothing
            debit = user(base)
            credit = base + USER_FIRST + (debit - base - USER_FIRST + 1) % USERS_PER_LEDGER
            plain(debit, credit, rng.randint(1, 500), ledger, 12, flags=_LINKED)
            plain(debit, base + FEES, rng.randint(1, 50), ledger, 13)
        elif kind < 0.72:  # a loan from the reserve
            plain(base + RESERVE, user(base), rng.randint(1, 300), ledger, 14)
        elif kind < 0.8:  # a repayment: may exceed what the reserve lent
            plain(user(base), base + RESERVE, rng.randint(1, 400), ledger, 15)
        elif kind < 0.88:  # hold and settle inside one chain, with a fee
            debit = user(base)
            credit = base + USER_FIRST + (debit - base - USER_FIRST + 2) % USERS_PER_LEDGER
            hold_id = next_id()
            amount = rng.randint(1, 400)
            events.append(
                TransferRequest(
                    hold_id, debit, credit, amount, ledger, 16, flags=_PENDING | _LINKED
                )
            )
            events.append(
                TransferRequest(
                    next_id(),
                    0,
                    0,
                    rng.randint(1, amount),
                    0,
                    0,
                    flags=_POST | _LINKED,
                    pending_id=hold_id,
                )
            )
            plain(debit, base + FEES, rng.randint(1, 20), ledger, 13)
        elif kind < 0.93:  # sweep what a user holds back to the issuer (clamped amount)
            plain(user(base), base + ISSUER, 10**9, ledger, 17, flags=_BALANCING_DEBIT)
        elif resolutions:  # a resolution of the previous batch's holds
            events.append(resolutions.pop()._replace(id=next_id()))
        else:  # a chain doomed to fail: its last leg overdraws the reserve's limit
            plain(base + ISSUER, user(base), rng.randint(1, 100), ledger, 18, flags=_LINKED)
            plain(user(base), base + RESERVE, 10**12, ledger, 18)
    events.extend(r._replace(id=next_id()) for r in resolutions)
    if len(events) >= EVENTS_PER_BATCH_MAX:
        raise AssertionError("a batch outgrew its id range")
    # Holds go last, so this batch's own events cannot post them.
    events.extend(holds(seed, batch, lanes))
    return events


def encode_results(results: Sequence[CreateResult]) -> str:
    if not results:
        return "-"
    return ",".join(f"{r.index}:{int(r.status)}" for r in results)


def decode_results(text: str) -> dict[int, int]:
    """`index:status` pairs as a dict; the indices that are absent succeeded."""
    if text == "-":
        return {}
    pairs = (item.split(":") for item in text.split(","))
    return {int(index): int(status) for index, status in pairs}


class _Output:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--database", required=True, help="SQLite path or PostgreSQL DSN")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--start", type=int, default=0, help="first batch to send")
    parser.add_argument("--batches", type=int, required=True, help="send batches below this")
    parser.add_argument("--lanes", type=int, default=LANES)
    arguments = parser.parse_args(argv)

    output = _Output()
    service = LedgerService(open_store(arguments.store, arguments.database), SystemClock())
    try:
        results = service.create_accounts(account_requests(arguments.lanes))
        statuses = {r.status for r in results}
        if statuses not in (set(), {CreateAccountStatus.exists}) or len(results) not in (
            0,
            len(account_requests(arguments.lanes)),
        ):
            print(f"accounts half created: {results}", file=sys.stderr)
            return 2
        output.line("accounts")

        failures: list[BaseException] = []

        def run_lane(lane: int) -> None:
            try:
                for batch in range(arguments.start, arguments.batches):
                    if lane_of(batch, arguments.lanes) != lane:
                        continue
                    batch_results = service.create_transfers(
                        batch_transfers(arguments.seed, batch, arguments.lanes)
                    )
                    output.line(f"ack {batch} {encode_results(batch_results)}")
            except BaseException as error:
                failures.append(error)
                raise

        threads = [
            threading.Thread(target=run_lane, args=(lane,), name=f"lane-{lane}")
            for lane in range(arguments.lanes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            return 3
        output.line("done")
        return 0
    finally:
        service.close()


if __name__ == "__main__":
    sys.exit(main())

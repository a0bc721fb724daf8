"""The ledger auditor: re-derive everything the journal and the balances claim, from scratch.

`verify(store)` walks the journal in order and recomputes each entry's payload hash from the
records stored in its timestamp range and its chained hash from the previous entry, so any edit,
insertion or deletion of a journalled record, or of a journal entry, breaks the chain at a
reported place; the entries' record counts must also add up to every record stored, so a record
slipped in outside every entry's time range is found too. It then replays every transfer and
expiry in time order to recompute each account's four balance counters, closed state, each
pending transfer's state and the balance history of `history` accounts, and compares them with
what the store holds (catching balances edited around the application). On SQLite it also checks
the statement indexes' buckets (`SqliteLedgerStore.index_problems`).

What the database alone cannot show is its newest entries removed together with their records
and the balances they moved: the chain that is left is whole. The report's `head` (the newest
entry's sequence and hash), kept somewhere else, closes that gap: `verify(store,
expected_head=...)` checks that the chain still passes through it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hazina.kernel.limits import query_limit_max
from hazina.ledger.domain.apply import hold_deadline
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.journal import (
    AccountRecord,
    chain,
    genesis_hash,
    payload_hash,
    runs_in_timestamp_order,
)
from hazina.ledger.domain.model import Account, Expiry, PendingState, Transfer
from hazina.ledger.store.base import LedgerStore
from hazina.ledger.store.sqlite import SqliteLedgerStore

_PENDING = int(TransferFlags.pending)
_POST = int(TransferFlags.post_pending_transfer)
_VOID = int(TransferFlags.void_pending_transfer)
_CLOSING_DEBIT = int(TransferFlags.closing_debit)
_CLOSING_CREDIT = int(TransferFlags.closing_credit)
_TIMESTAMP_MAX = (1 << 63) - 1
_HISTORY = int(AccountFlags.history)
_CHECKSUM_MASK = (1 << 64) - 1


@dataclass
class VerifyReport:
    journal_entries: int = 0
    records: int = 0
    transfers: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)
    head: JournalHead | None = None  # the newest entry verified

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_break(self) -> str | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True, slots=True)
class JournalHead:
    """A journal entry's sequence and hash, as `verify` reports the newest: kept outside the
    database (a ticket, a log, another system), it proves later that the ledger up to it was
    neither rewritten nor cut back, which the database alone cannot show."""

    sequence: int
    hash: bytes

    def __str__(self) -> str:
        return f"{self.sequence}:{self.hash.hex()}"

    @classmethod
    def parse(cls, text: str) -> JournalHead:
        """`SEQUENCE:HEX`, as `str()` writes it; ValueError otherwise."""
        sequence, _, digest = text.strip().partition(":")
        try:
            if sequence.isdigit() and int(sequence) >= 1 and len(digest) == 64:
                return cls(int(sequence), bytes.fromhex(digest))
        except ValueError:
            pass
        raise ValueError(f"a journal head is SEQUENCE:64-HEX-DIGITS, not {text!r}")


def verify(
    store: LedgerStore, *, problems_max: int = 20, expected_head: JournalHead | None = None
) -> VerifyReport:
    """Everything the module docstring says; with `expected_head` (a head reported earlier),
    also that the chain still passes through it."""
    report = VerifyReport()
    covered = _verify_journal(store, report, expected_head)
    if covered is not None:
        _verify_coverage(store, report, covered)
    _verify_balances(store, report)
    if isinstance(store, SqliteLedgerStore):
        report.problems += store.index_problems()
    del report.problems[problems_max:]
    return report


def _verify_journal(
    store: LedgerStore, report: VerifyReport, expected_head: JournalHead | None
) -> int | None:
    """Walk the chain: the newest timestamp it covers (0 for an empty journal), or None at its
    first break (reported)."""
    previous = genesis_hash
    covered = 0
    expected_sequence = 1
    while True:
        entries = store.journal(expected_sequence - 1, query_limit_max)
        if not entries:
            if expected_head is not None and expected_head.sequence >= expected_sequence:
                report.problems.append(
                    f"the journal ends at entry {expected_sequence - 1}, before the expected"
                    f" head {expected_head.sequence} (entries were removed)"
                )
                return None
            return covered
        for entry in entries:
            where = f"journal entry {entry.sequence}"
            if entry.sequence != expected_sequence:
                report.problems.append(
                    f"{where}: expected sequence {expected_sequence} (an entry is missing)"
                )
                return None
            if entry.previous_hash != previous:
                report.problems.append(f"{where}: does not chain to the entry before it")
                return None
            accounts, transfers, expiries = store.records_between(
                entry.timestamp_first, entry.timestamp_last
            )
            runs = runs_in_timestamp_order(accounts, transfers, expiries)
            count = sum(len(records) for _, records in runs)
            if count != entry.record_count:
                report.problems.append(
                    f"{where}: holds {count} records in its time range,"
                    f" the journal says {entry.record_count}"
                )
                return None
            recomputed = chain(
                previous,
                entry.sequence,
                entry.timestamp_first,
                entry.timestamp_last,
                entry.record_count,
                payload_hash(runs),
            )
            if recomputed.payload_hash != entry.payload_hash:
                report.problems.append(f"{where}: its records were changed (payload hash differs)")
                return None
            if recomputed.hash != entry.hash:
                report.problems.append(f"{where}: its header was changed (hash differs)")
                return None
            if (
                expected_head is not None
                and entry.sequence == expected_head.sequence
                and entry.hash != expected_head.hash
            ):
                report.problems.append(f"{where}: is not the expected head (it was rewritten)")
                return None
            previous = entry.hash
            report.head = JournalHead(entry.sequence, entry.hash)
            covered = entry.timestamp_last
            report.journal_entries += 1
            report.records += entry.record_count
            expected_sequence += 1


def _verify_coverage(store: LedgerStore, report: VerifyReport, covered: int) -> None:
    """Every stored record lies in some entry's time range: the entries' record counts add up
    to what is stored. A record slipped in between two entries, or after the last one, is in
    no entry's range, so the chain alone would not see it (nor would the balances, were they
    edited to match)."""
    stored = store.record_count()
    if stored == report.records:
        return
    accounts, transfers, expiries = store.records_between(covered + 1, _TIMESTAMP_MAX)
    after = [
        *(f"account {a.id}" for a in accounts),
        *(f"transfer {t.id}" for t in transfers),
        *(f"expiry of {e.pending_id}" for e in expiries),
    ]
    where = f"; after the last entry: {', '.join(after[:5])}" if after else ""
    report.problems.append(
        f"{stored} records are stored but the journal covers {report.records}"
        f" (records outside every entry's time range{where})"
    )


def _events(store: LedgerStore) -> Iterator[Transfer | Expiry]:
    """Every transfer and expiry, in timestamp order (as they were applied)."""
    expiries = store.expiries()
    position = 0
    for batch in store.iterate_transfers(query_limit_max):
        for transfer in batch:
            while position < len(expiries) and expiries[position].timestamp < transfer.timestamp:
                yield expiries[position]
                position += 1
            yield transfer
    yield from expiries[position:]


def _verify_balances(store: LedgerStore, report: VerifyReport) -> None:
    """Replay transfers and expiries in time order: each account's counters, each pending
    transfer's state, and the balance history of `history` accounts (a row after each of their
    transfers and expiries), against what is stored."""
    # [debits_pending, debits_posted, credits_pending, credits_posted]
    expected: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    pending: dict[int, tuple[int, int, int, int]] = {}  # id -> amount, debit, credit, flags
    resolved: dict[int, PendingState] = {}  # pending id -> its state after a post, void or expiry
    deadlines: dict[int, int] = {}  # pending id -> when its timeout voids it (0: never)
    records = store.account_records()
    with_history = {a.id for a in records if a.flags & _HISTORY}
    history = _History()
    transfer_count = 0
    for event in _events(store):
        if isinstance(event, Expiry):
            held = pending.get(event.pending_id)
            deadline = deadlines.get(event.pending_id, 0)
            if held is None or event.pending_id in resolved:
                report.problems.append(
                    f"expiry of {event.pending_id} at {event.timestamp}: not a pending transfer"
                    " still held then"
                )
                continue
            if not 0 < deadline <= event.timestamp:
                report.problems.append(
                    f"expiry of {event.pending_id} at {event.timestamp}: its timeout"
                    + (f" is not due until {deadline}" if deadline else " is none")
                )
                continue
            resolved[event.pending_id] = PendingState.expired
            debit_id, credit_id, timestamp = held[1], held[2], event.timestamp
            debit, credit = expected[debit_id], expected[credit_id]
            debit[0] -= held[0]
            credit[2] -= held[0]
        else:
            t = event
            transfer_count += 1
            debit_id, credit_id, timestamp = t.debit_account_id, t.credit_account_id, t.timestamp
            debit, credit = expected[debit_id], expected[credit_id]
            if t.flags & _PENDING:
                debit[0] += t.amount
                credit[2] += t.amount
                pending[t.id] = (t.amount, t.debit_account_id, t.credit_account_id, t.flags)
                deadlines[t.id] = hold_deadline(t.timestamp, t.timeout)
            elif t.flags & (_POST | _VOID):
                held = pending.get(t.pending_id)
                if held is None:
                    report.problems.append(
                        f"transfer {t.id} resolves {t.pending_id}, which is not an earlier"
                        " pending transfer"
                    )
                    continue
                done = resolved.get(t.pending_id)
                deadline = deadlines[t.pending_id]
                if done is not None or 0 < deadline <= t.timestamp:
                    when = f"already {done.name}" if done is not None else "after it expired"
                    report.problems.append(f"transfer {t.id} resolves {t.pending_id} {when}")
                    continue
                debit[0] -= held[0]
                credit[2] -= held[0]
                if t.flags & _POST:
                    debit[1] += t.amount
                    credit[3] += t.amount
                    resolved[t.pending_id] = PendingState.posted
                else:
                    resolved[t.pending_id] = PendingState.voided
            else:
                debit[1] += t.amount
                credit[3] += t.amount
        if debit_id in with_history:
            history.add(debit_id, timestamp, debit)
        if credit_id in with_history:
            history.add(credit_id, timestamp, credit)
    report.transfers = transfer_count

    states = store.pending_states()
    for pending_id in sorted(states.keys() - pending.keys()):
        report.problems.append(f"pending state of {pending_id}, which is not a pending transfer")
    for pending_id in pending:
        want = resolved.get(pending_id, PendingState.pending)
        stored = states.get(pending_id)
        if stored is None or stored.state != want:
            have = "missing" if stored is None else PendingState(stored.state).name
            report.problems.append(
                f"pending transfer {pending_id}: state is {have}, transfers imply {want.name}"
            )
        elif stored.expires_at != deadlines[pending_id]:
            report.problems.append(
                f"pending transfer {pending_id}: expires at {stored.expires_at}, its timeout"
                f" implies {deadlines[pending_id]}"
            )

    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    accounts = store.all_accounts()
    report.accounts = len(accounts)
    known = set()
    for account in accounts:
        known.add(account.id)
        want_balances = expected.get(account.id, [0, 0, 0, 0])
        have_balances = [
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        ]
        if have_balances != want_balances:
            report.problems.append(
                f"account {account.id}: balances {have_balances} but transfers imply"
                f" {want_balances} (debits pending, debits posted, credits pending, credits"
                " posted)"
            )
        total = totals[account.ledger]
        for index in range(4):
            total[index] += have_balances[index]
    for account_id in expected.keys() - known:
        report.problems.append(f"transfers refer to account {account_id}, which does not exist")
    for ledger, (debits_pending, debits_posted, credits_pending, credits_posted) in sorted(
        totals.items()
    ):
        if debits_posted != credits_posted or debits_pending != credits_pending:
            report.problems.append(
                f"ledger {ledger}: debits {debits_posted}/{debits_pending} (posted/pending)"
                f" differ from credits {credits_posted}/{credits_pending}"
            )
    _verify_closed(report, records, accounts, pending, resolved)
    _verify_history(store, report, history)


class _History:
    """Balance-history rows summed up per account: how many, and a checksum of their values
    (a sum of each row's hash, so rows compare in any order and memory stays one entry per
    account)."""

    __slots__ = ("accounts",)

    def __init__(self) -> None:
        self.accounts: dict[int, list[int]] = {}  # account -> [rows, checksum]

    def add(self, account_id: int, timestamp: int, balances: Sequence[int]) -> None:
        row = (account_id, timestamp, *balances)
        digest = int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=8).digest())
        summary = self.accounts.setdefault(account_id, [0, 0])
        summary[0] += 1
        summary[1] = (summary[1] + digest) & _CHECKSUM_MASK


def _verify_history(store: LedgerStore, report: VerifyReport, expected: _History) -> None:
    stored = _History()
    for batch in store.iterate_balances(query_limit_max):
        for row in batch:
            stored.add(row.account_id, row.timestamp, row[2:])
    for account_id in sorted(expected.accounts.keys() | stored.accounts.keys()):
        want = expected.accounts.get(account_id, [0, 0])
        have = stored.accounts.get(account_id, [0, 0])
        if want != have:
            report.problems.append(
                f"account {account_id}: its balance history ({have[0]} rows) is not what its"
                f" transfers and expiries imply ({want[0]} rows)"
            )


def _verify_closed(
    report: VerifyReport,
    records: list[AccountRecord],
    accounts: list[Account],
    pending: dict[int, tuple[int, int, int, int]],
    resolved: dict[int, PendingState],
) -> None:
    closing: set[int] = set()
    for pending_id, (_, debit_id, credit_id, flags) in pending.items():
        if resolved.get(pending_id, PendingState.pending) in (
            PendingState.pending,
            PendingState.posted,
        ):
            if flags & _CLOSING_DEBIT:
                closing.add(debit_id)
            if flags & _CLOSING_CREDIT:
                closing.add(credit_id)
    closed_flag = int(AccountFlags.closed)
    created_closed = {a.id for a in records if a.flags & closed_flag}
    for account in accounts:
        want = account.id in created_closed or account.id in closing
        have = bool(account.flags & closed_flag)
        if want != have:
            report.problems.append(
                f"account {account.id}: closed is {have}, its transfers imply {want}"
            )

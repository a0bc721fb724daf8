"""Properties of the ledger over random sequences of batches, checked against the independent
reference model in `tests/reference_ledger.py`.

Batches mix plain, pending, post, void (full and partial), balancing and closing transfers,
linked chains, limit flags and huge amounts, on a small id space so that ids collide and
`exists`, `id_already_failed` and friends happen. After every step:

- the real ledger's per-event results, accounts, transfers, pending states and balance history
  equal the reference model's;
- per ledger, debits equal credits, posted and pending alike (money is conserved);
- no account breaks its flags, and no counter leaves its range;
- re-sending a batch changes nothing: every event of it fails, and the state stays as it was;
- on the stores, after each example, `verify(store)` re-derives the same books (journal chain,
  balances, pending states, closed flags and balance history) from the records.

They run against the pure domain (`apply_*` on a `LedgerState`) with many examples, and against
each real store through the service with fewer.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import ledger_amount_max
from hazina.ledger.audit import verify
from hazina.ledger.domain.apply import LedgerState, apply_accounts, apply_transfers, expire_pending
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountFilter,
    AccountRequest,
    CreateResult,
    PendingState,
    PendingStatus,
    Transfer,
    TransferRequest,
)
from hazina.ledger.service import LedgerService
from tests.reference_ledger import ReferenceLedger

AF = AccountFlags
TF = TransferFlags
NS_PER_SECOND = 1_000_000_000
START_NS = 1_700_000_000 * NS_PER_SECOND
ACCOUNT_ID_TOP = 7  # ids 1..6 are created up front; 7 never exists
TRANSFER_ID_TOP = 40
HOLD_ID_TOP = 8  # pending transfers mostly take ids 1..6, which posts and voids name
MAX = ledger_amount_max


class Step(NamedTuple):
    kind: str  # "accounts" | "transfers" | "resend" | "expire"
    batch: tuple[Any, ...]
    gap_seconds: int  # how far the clock moves before the step


# -- strategies ----------------------------------------------------------------------------------
# Built once, at import: building strategies inside draws is what makes generation slow.


def sometimes(rate: int) -> st.SearchStrategy[bool]:
    """True about once in `rate` draws (shrinking towards False)."""
    return st.integers(0, rate - 1).map(lambda n: n == rate // 2)


@st.composite
def mostly(
    draw: st.DrawFn,
    usual: st.SearchStrategy[int],
    rare: st.SearchStrategy[int],
    is_rare: st.SearchStrategy[bool],
) -> int:
    """`usual`, but `rare` when `is_rare` says so."""
    return draw(rare) if draw(is_rare) else draw(usual)


booleans = st.booleans()
one_in_4, one_in_5, one_in_7, one_in_8, one_in_10, one_in_20 = (
    sometimes(rate) for rate in (4, 5, 7, 8, 10, 20)
)
small_amounts = st.integers(1, 60)
huge_amounts = st.sampled_from([MAX, MAX - 1, MAX // 2 + 1]) | st.integers(MAX - 60, MAX)
amounts = mostly(small_amounts, huge_amounts, one_in_10)
gaps = st.sampled_from([1, 1, 1, 2, 3, 6])
ledgers = mostly(st.just(1), st.sampled_from([2, 0]), one_in_8)
codes = mostly(st.just(1), st.sampled_from([2, 0]), one_in_10)
user_data = mostly(st.just(0), st.just(1), one_in_10)
# Mostly accounts that exist; now and then none (0) or one that does not exist (7).
account_ids = mostly(
    st.integers(1, ACCOUNT_ID_TOP - 1), st.sampled_from([0, ACCOUNT_ID_TOP]), one_in_10
)
transfer_ids = st.integers(1, TRANSFER_ID_TOP)
hold_ids = st.integers(1, HOLD_ID_TOP)
other_ids = st.integers(HOLD_ID_TOP + 1, TRANSFER_ID_TOP)
limit_flags = st.sampled_from(
    [0, 0, 0, 0, AF.debits_must_not_exceed_credits, AF.credits_must_not_exceed_debits]
)
any_account_flags = st.sampled_from(
    [
        0,
        0,
        0,
        AF.debits_must_not_exceed_credits,
        AF.debits_must_not_exceed_credits,
        AF.credits_must_not_exceed_debits,
        AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits,
        AF.closed,
    ]
)
transfer_kinds = st.sampled_from(
    ["plain"] * 3 + ["pending"] * 3 + ["post", "void", "balancing", "closing", "any_flags"]
)
pending_timeouts = st.sampled_from([0, 0, 0, 1, 3, 0, 10, 0, 0])
balancing_flags = st.sampled_from(
    [TF.balancing_debit, TF.balancing_credit, TF.balancing_debit | TF.balancing_credit]
)
closing_flags = st.sampled_from(
    [TF.closing_debit, TF.closing_credit, TF.closing_debit | TF.closing_credit]
)
hold_places = st.integers(1, 3)
post_amounts = mostly(st.just(0), small_amounts, booleans)
closing_amounts = st.integers(0, 5)
closing_timeouts = st.sampled_from([0, 1, 3])
all_flags = st.integers(0, 255)
rare_timeouts = st.sampled_from([0, 0, 1])
step_kinds = st.sampled_from(["transfers"] * 6 + ["accounts", "resend", "expire"])
opening_ledgers = st.sampled_from([1, 2])
new_account_ids = st.integers(0, ACCOUNT_ID_TOP + 1)


@st.composite
def account_flags(draw: st.DrawFn) -> int:
    flags = int(draw(any_account_flags))
    if draw(booleans):
        flags |= AF.history
    if draw(one_in_5):
        flags |= AF.linked
    return flags


@st.composite
def account_requests(draw: st.DrawFn) -> AccountRequest:
    return AccountRequest(
        id=draw(new_account_ids),
        ledger=draw(ledgers),
        code=draw(codes),
        flags=draw(account_flags()),
        user_data_32=draw(user_data),
    )


@st.composite
def opening_accounts(draw: st.DrawFn) -> tuple[AccountRequest, ...]:
    """Accounts 1..6, valid and most on ledger 1, so that transfers have somewhere to go."""
    return tuple(
        AccountRequest(
            id=account_id,
            ledger=1 if account_id <= 5 else draw(opening_ledgers),
            code=1,
            flags=int(draw(limit_flags) | (AF.history if draw(booleans) else 0)),
        )
        for account_id in range(1, ACCOUNT_ID_TOP)
    )


@st.composite
def transfer_requests(draw: st.DrawFn) -> TransferRequest:
    """One transfer. Posts and voids mostly name a pending transfer by its place among those
    still pending when the batch runs (`pending_id` -1 is the newest; see `name_holds`)."""
    kind = draw(transfer_kinds)
    flags = 0
    timeout = 0
    debit = draw(account_ids)
    credit = draw(account_ids)
    if credit == debit and not draw(one_in_4):
        credit = debit % (ACCOUNT_ID_TOP - 1) + 1
    amount = draw(amounts)
    ledger = draw(ledgers)
    code = draw(codes)
    pending_id = 0
    holds = kind in ("pending", "closing") or (kind == "balancing" and draw(booleans))
    if kind == "pending":
        flags = TF.pending
        timeout = draw(pending_timeouts)
    elif kind in ("post", "void"):
        flags = TF.post_pending_transfer if kind == "post" else TF.void_pending_transfer
        if draw(one_in_4):
            pending_id = draw(transfer_ids) if draw(one_in_8) else draw(hold_ids)
        else:
            pending_id = -draw(hold_places)
        if draw(booleans):  # leave the fields the pending transfer supplies zero
            debit = credit = ledger = code = 0
        amount = draw(post_amounts)
    elif kind == "balancing":
        flags = draw(balancing_flags) | (TF.pending if holds else 0)
    elif kind == "closing":
        flags = TF.pending | draw(closing_flags)
        timeout = draw(closing_timeouts)
        amount = draw(closing_amounts)
    elif kind == "any_flags":  # any combination of flags, most of them wrong
        flags = draw(all_flags)
        pending_id = draw(transfer_ids) if draw(booleans) else 0
        timeout = draw(rare_timeouts)
    if draw(one_in_7):
        flags |= TF.linked
    return TransferRequest(
        id=0 if draw(one_in_20) else draw(hold_ids if holds else other_ids),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        ledger=ledger,
        code=code,
        flags=int(flags),
        pending_id=pending_id,
        timeout=timeout,
        user_data_32=draw(user_data),
    )


transfer_batches = st.lists(transfer_requests(), min_size=1, max_size=8).map(tuple)
account_batches = st.lists(account_requests(), min_size=1, max_size=4).map(tuple)


@st.composite
def steps(draw: st.DrawFn, max_steps: int) -> list[Step]:
    result = [Step("accounts", draw(opening_accounts()), 1)]
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(step_kinds)
        batch: tuple[Any, ...] = ()
        if kind == "transfers":
            batch = draw(transfer_batches)
        elif kind == "accounts":
            batch = draw(account_batches)
        result.append(Step(kind, batch, draw(gaps)))
    return result


# -- the two systems under test, behind one small interface --------------------------------------


class Snapshot(NamedTuple):
    accounts: dict[int, Account]
    transfers: dict[int, Transfer]
    pending: dict[int, PendingStatus]
    balances: list[AccountBalance]


class DomainLedger:
    """The pure domain, driven the way the service drives it: expire what is due, then apply."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self.balances: list[AccountBalance] = []
        self.next_timestamp = 0  # timestamps are never reused once something was recorded

    def run(self, kind: str, batch: tuple[Any, ...], now: int) -> list[CreateResult]:
        state = self.state
        start = max(now, self.next_timestamp)
        due = sorted(
            (p.expires_at, p.pending_id)
            for p in state.pending.values()
            if p.state == PendingState.pending and 0 < p.expires_at <= start
        )
        expired = expire_pending([state.transfers[i] for _, i in due], state, start)
        self.balances.extend(expired.balances)
        timestamp = start + len(due)
        if kind == "accounts":
            outcome = apply_accounts(batch, state, timestamp)
        elif kind == "transfers":
            outcome = apply_transfers(batch, state, timestamp)
        else:
            outcome = apply_transfers([], state, timestamp)
        self.balances.extend(outcome.balances)
        if due or outcome.accounts_created or outcome.transfers_created:
            self.next_timestamp = timestamp + len(batch)
        return outcome.results

    def snapshot(self) -> Snapshot:
        state = self.state
        return Snapshot(
            {i: a.to_account() for i, a in state.accounts.items()},
            dict(state.transfers),
            dict(state.pending),
            sorted(self.balances),
        )


class ServiceLedger:
    """A real store behind the service. Examples share one database, so each example works on
    its own ids and ledgers (shifted by an offset) and looks up only those."""

    def __init__(self, service: LedgerService, clock: FixedClock, offset: int) -> None:
        self.service = service
        self.clock = clock
        self.id_offset = offset * 1_000
        self.ledger_offset = offset * 10

    def shift_account(self, a: AccountRequest) -> AccountRequest:
        return a._replace(id=self._id(a.id), ledger=self._ledger(a.ledger))

    def shift_transfer(self, t: TransferRequest) -> TransferRequest:
        return t._replace(
            id=self._id(t.id),
            debit_account_id=self._id(t.debit_account_id),
            credit_account_id=self._id(t.credit_account_id),
            pending_id=self._id(t.pending_id),
            ledger=self._ledger(t.ledger),
        )

    def _id(self, value: int) -> int:
        return value + self.id_offset if value > 0 else value

    def _ledger(self, value: int) -> int:
        return value + self.ledger_offset if value > 0 else value

    def run(self, kind: str, batch: tuple[Any, ...], now: int) -> list[CreateResult]:
        assert self.clock.now_ns() == now
        if kind == "accounts":
            return self.service.create_accounts(batch)
        if kind == "transfers":
            return self.service.create_transfers(batch)
        self.service.expire_pending_transfers()
        return []

    def snapshot(self) -> Snapshot:
        service = self.service
        account_ids = [self._id(i) for i in range(1, ACCOUNT_ID_TOP + 2)]
        transfer_ids = [self._id(i) for i in range(1, TRANSFER_ID_TOP + 1)]
        balances = [
            balance
            for account_id in account_ids
            for balance in service.get_account_balances(AccountFilter(account_id, limit=8189))
        ]
        return Snapshot(
            {a.id: a for a in service.lookup_accounts(account_ids)},
            {t.id: t for t in service.lookup_transfers(transfer_ids)},
            {p.pending_id: p for p in service.lookup_pending(transfer_ids)},
            sorted(balances),
        )


def reference_snapshot(reference: ReferenceLedger) -> Snapshot:
    return Snapshot(
        reference.account_records(),
        reference.transfer_records(),
        reference.pending_records(),
        sorted(reference.balance_records()),
    )


# -- the properties ------------------------------------------------------------------------------


def check_conservation_and_flags(accounts: dict[int, Account]) -> None:
    totals: dict[int, list[int]] = {}
    for a in accounts.values():
        counters = (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        assert all(0 <= c <= MAX for c in counters), a
        assert a.debits_pending + a.debits_posted <= MAX, a
        assert a.credits_pending + a.credits_posted <= MAX, a
        if a.flags & AF.debits_must_not_exceed_credits:
            assert a.debits_pending + a.debits_posted <= a.credits_posted, a
        if a.flags & AF.credits_must_not_exceed_debits:
            assert a.credits_pending + a.credits_posted <= a.debits_posted, a
        sums = totals.setdefault(a.ledger, [0, 0, 0, 0])
        for index, counter in enumerate(counters):
            sums[index] += counter
    for ledger, (debits_pending, debits_posted, credits_pending, credits_posted) in totals.items():
        assert debits_posted == credits_posted, f"ledger {ledger} posted does not balance"
        assert debits_pending == credits_pending, f"ledger {ledger} pending does not balance"


def name_holds(batch: tuple[TransferRequest, ...], reference: ReferenceLedger) -> tuple[Any, ...]:
    """Give posts and voids with `pending_id` -k the k-th newest transfer still pending (in the
    reference, or created earlier in the batch), else the k-th newest pending transfer that has
    been settled (so `already_posted` and friends come up), else one that does not exist."""
    states = reference.pending
    settled = sorted(i for i in states if states[i]["state"] != PendingState.pending)
    live = sorted(i for i in states if states[i]["state"] == PendingState.pending)
    named = []
    for event in batch:
        if event.pending_id < 0:
            place = -event.pending_id
            candidates = live or settled or [TRANSFER_ID_TOP + 1]
            event = event._replace(pending_id=candidates[-min(place, len(candidates))])
        if event.flags & TF.pending and event.id not in live:
            live.append(event.id)
        named.append(event)
    return tuple(named)


def run_and_compare(
    system: DomainLedger | ServiceLedger,
    clock: FixedClock,
    plan: list[Step],
    shift: ServiceLedger | None = None,
) -> None:
    reference = ReferenceLedger()
    last_batch: tuple[str, tuple[Any, ...]] | None = None
    for step in plan:
        clock.advance_seconds(step.gap_seconds)
        now = clock.now_ns()
        kind, batch = step.kind, step.batch
        if shift is not None and kind == "accounts":
            batch = tuple(map(shift.shift_account, batch))
        if shift is not None and kind == "transfers":
            batch = tuple(map(shift.shift_transfer, batch))
        resending = kind == "resend"
        if resending:
            if last_batch is None:
                continue
            kind, batch = last_batch
            # Expiry is the clock's doing, not the batch's: let it happen first.
            system.run("expire", (), now)
            expired = reference.expire(now)
            before = system.snapshot()
            now_batch = now + expired
        else:
            now_batch = now + reference.expire(now)
        if kind == "transfers" and not resending:
            batch = name_holds(batch, reference)

        results = system.run(kind, batch, now)
        if kind == "accounts":
            expected = reference.create_accounts(batch, now_batch)
        elif kind == "transfers":
            expected = reference.create_transfers(batch, now_batch)
        else:
            expected = []

        assert results == expected, f"results of {kind} {batch}"
        after = system.snapshot()
        assert after == reference_snapshot(reference)
        check_conservation_and_flags(after.accounts)
        if resending:
            assert [r.index for r in results] == list(range(len(batch))), "an event succeeded"
            assert after == before, "re-sending a batch changed something"
        if kind in ("accounts", "transfers"):
            last_batch = (kind, batch)


# Pinned examples: bugs found by these properties.
ACCOUNT_CHAIN_THEN_LONE_EVENT = [
    Step("accounts", (AccountRequest(1, 1, 1), AccountRequest(2, 1, 1)), 1),
    Step(
        "accounts",
        (
            AccountRequest(3, 1, 1, flags=AF.linked),
            AccountRequest(4, 0, 1),  # fails: ledger zero, and so does its chain
            AccountRequest(5, 1, 1),  # outside the chain: must be created
        ),
        1,
    ),
]


@settings(max_examples=400, deadline=None)
@given(plan=steps(max_steps=10))
@example(plan=ACCOUNT_CHAIN_THEN_LONE_EVENT)
def test_domain_matches_the_reference_and_keeps_the_books(plan: list[Step]) -> None:
    clock = FixedClock(START_NS)
    run_and_compare(DomainLedger(), clock, plan)


_examples = itertools.count(1)  # examples share a database: each gets its own ids


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=steps(max_steps=6))
@example(plan=ACCOUNT_CHAIN_THEN_LONE_EVENT)
def test_stores_match_the_reference_and_keep_the_books(
    ledger: LedgerService, clock: FixedClock, plan: list[Step]
) -> None:
    system = ServiceLedger(ledger, clock, next(_examples))
    try:
        run_and_compare(system, clock, plan, shift=system)
    finally:
        # Leave nothing due for the next example: its reference knows nothing of these.
        clock.advance_seconds(10**6)
        ledger.expire_pending_transfers()
    # The auditor re-derives the same books from the journal, the transfers and the expiries
    # (balance history included), over every example so far.
    report = verify(ledger.store)
    assert report.ok, report.problems

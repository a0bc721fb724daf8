"""Drive a running platform with the simulated economy, through its real payments service.

The driver registers the population as parties (each with its wallet, KYC tier, codes and
phone numbers) and then replays every simulated day through `PaymentsService`: cash-in and
cash-out at agents, P2P by phone number (a voucher when the number has no wallet), merchant
and bill payments, bank transfers out (then settled by the bank) and in, agents' float
purchases. So every transaction is validated, priced, limited and posted by the platform
itself; a refusal (`PaymentError`) is counted by its code, never fatal. The platform sees
what a payment request carries and nothing more: the labels stay in the simulation.

Throughput: the payments service commits in groups (the ledger's group commit), so the driver
keeps up to `lanes` payments in flight from worker threads. Only payments that touch different
customers and agents run together, so each wallet still sees its payments in simulated order.
With a `FixedClock` (what `hazina simulate` passes), the driver moves the platform's clock to
each group's simulated time, so records, daily limits and voucher expiry follow simulated
days, and runs the housekeeping (expired vouchers, timed-out bank transfers) at each day's end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.clock import FixedClock
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import simulator_driver_lanes
from hazina.payments.domain.chart import PartyKind as PlatformPartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import PaymentError
from hazina.payments.records import IssuedVoucher, PaymentTransaction
from hazina.payments.service import PaymentsService
from hazina.sim import population as population_module
from hazina.sim.behaviour import merchant_terminals_max, nanoseconds_per_day
from hazina.sim.events import Kind
from hazina.sim.generator import Day
from hazina.sim.population import Population

succeeded = "ok"
voucher_issued = "voucher"
held_for_review = "held"  # risk control held the payment for an analyst: accepted, not final
accepted = (succeeded, voucher_issued, held_for_review)
_phone_first = 12_000_000  # +2547 12 000 000: the demo's first customer
_phone_block = 1_000_000


@dataclass(frozen=True, slots=True)
class DayResult:
    """What the platform made of one day's events, row by row: the outcome (`ok`, `voucher`,
    `held` or a refusal code) and the fee the platform charged (0 when refused)."""

    outcomes: list[str]
    fees: NDArray[np.int64]


@dataclass(slots=True)
class DriveSummary:
    """Totals of a drive, for the command line and the demo."""

    parties: int = 0
    events: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # succeeded, by Hazina kind
    held: Counter[str] = field(default_factory=Counter)  # held by risk control, by kind
    refused: Counter[str] = field(default_factory=Counter)  # by PaymentError code
    labelled: Counter[str] = field(default_factory=Counter)  # fraud / laundering: ok, held, refused
    vouchers_refunded: int = 0
    bank_transfers_failed: int = 0

    def outcomes(self) -> Counter[str]:
        """Succeeded transactions by kind, and refusals as `refused:<code>`."""
        combined: Counter[str] = Counter(self.by_kind)
        for kind, count in self.held.items():
            combined[f"held:{kind}"] += count
        for code, count in self.refused.items():
            combined[f"refused:{code}"] += count
        return combined

    def add(self, day: Day, result: DayResult) -> None:
        events = day.events
        self.events += len(events)
        kinds = events.kind.tolist()
        fraud = events.is_fraud.tolist()
        laundering = events.is_laundering.tolist()
        for index, outcome in enumerate(result.outcomes):
            ok = outcome in accepted
            if outcome == held_for_review:
                self.held[Kind(kinds[index]).name] += 1
            elif ok:
                name = voucher_issued if outcome == voucher_issued else Kind(kinds[index]).name
                self.by_kind[name] += 1
            else:
                self.refused[outcome] += 1
            label = "fraud" if fraud[index] else "laundering" if laundering[index] else None
            if label is not None:
                verdict = "held" if outcome == held_for_review else "ok" if ok else "refused"
                self.labelled[f"{label} {verdict}"] += 1


class Driver:
    """Registers a population on a platform and replays simulated days through it."""

    def __init__(
        self,
        payments: PaymentsService,
        population: Population,
        currency_code: str,
        *,
        clock: FixedClock | None = None,
        lanes: int = simulator_driver_lanes,
    ) -> None:
        invariant(1 <= lanes <= simulator_driver_lanes, "lanes within limits")
        self._payments = payments
        self._population = population
        self._currency = currency_code
        self._clock = clock
        self._lanes = lanes
        self._wallet = np.full(population.parties, -1, dtype=np.int64)
        self._block = 0
        self._executor = ThreadPoolExecutor(lanes) if lanes > 1 else None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()

    # -- names, phones and codes -------------------------------------------------------------

    def phone(self, party: int) -> str:
        """The phone number of a customer or of an unregistered recipient."""
        population = self._population
        invariant(
            party < population.customers
            or population.first_unregistered <= party < population.operator,
            "customers and unregistered recipients have phone numbers",
        )
        offset = (
            party
            if party < population.customers
            else (population.customers + party - population.first_unregistered)
        )
        return f"+2547{_phone_first + self._block * self._block_size() + offset:08d}"

    def _block_size(self) -> int:
        population = self._population
        people = population.customers + population.unregistered
        return -(-people // _phone_block) * _phone_block

    def code(self, party: int) -> str | None:
        population = self._population
        prefix = "" if self._block == 0 else f"S{self._block}-"
        if population.first_merchant <= party < population.first_agent:
            index = party - population.first_merchant + 1
            return f"{prefix}M{index:0{max(3, len(str(population.merchants)))}d}"
        if population.first_agent <= party < population.first_biller:
            index = party - population.first_agent + 1
            return f"{prefix}AG{index:0{max(3, len(str(population.agents)))}d}"
        if population.first_biller <= party < population.first_bank:
            return prefix + population_module.billers[party - population.first_biller][1]
        if population.first_bank <= party < population.first_unregistered:
            return prefix + population_module.banks[party - population.first_bank][1]
        return None

    def _free_block(self) -> int:
        """The first numbering block whose phone numbers and codes nobody uses yet (a second
        simulation into the same database gets fresh ones)."""
        first_agent = self._population.first_agent
        for block in range(64):
            self._block = block
            if not self._taken(phone=self.phone(0)) and not self._taken(
                code=self.code(first_agent)
            ):
                return block
        raise RuntimeError("no free block of phone numbers and codes")

    def _taken(self, *, phone: str | None = None, code: str | None = None) -> bool:
        try:
            self._payments.find_party(phone=phone, code=code)
        except PaymentError:
            return False
        return True

    # -- registration ------------------------------------------------------------------------

    def register(self, on_progress: Callable[[int], None] | None = None) -> int:
        """Register every party but the operator and the unregistered phones; returns how many."""
        population = self._population
        self._free_block()
        parties = list(range(population.first_unregistered))
        self._for_all(parties, self._register_one, on_progress)
        invariant(bool(np.all(self._wallet[: population.first_unregistered] > 0)), "all wallets")
        return len(parties)

    def _register_one(self, party: int) -> str:
        population = self._population
        payments = self._payments
        currencies = [self._currency]
        if party < population.customers:
            created = payments.register_party(
                PlatformPartyKind.customer,
                population_module.customer_name(population, party),
                currencies,
                phone=self.phone(party),
                kyc_tier=KycTier(int(population.kyc_tier[party])),
            )
        elif party < population.first_agent:
            _, category_code = population_module.merchant_category(population, party)
            created = payments.register_party(
                PlatformPartyKind.merchant,
                population_module.merchant_name(population, party),
                currencies,
                code=self.code(party),
                details={"merchant_category_code": category_code, "city": "Nairobi"},
            )
        elif party < population.first_biller:
            created = payments.register_party(
                PlatformPartyKind.agent,
                f"Agent {party - population.first_agent + 1:02d}",
                currencies,
                code=self.code(party),
            )
        elif party < population.first_bank:
            name = population_module.billers[party - population.first_biller][0]
            created = payments.register_party(
                PlatformPartyKind.biller, name, currencies, code=self.code(party)
            )
        else:
            name = population_module.banks[party - population.first_bank][0]
            created = payments.register_party(
                PlatformPartyKind.bank, name, currencies, code=self.code(party)
            )
        self._wallet[party] = payments.wallet_of(created.id, self._currency).id
        return succeeded

    # -- replay ------------------------------------------------------------------------------

    def run_day(self, day: Day, on_progress: Callable[[int], None] | None = None) -> DayResult:
        """Replay one day; returns each event's outcome and fee."""
        events = day.events
        size = len(events)
        outcomes = [""] * size
        fees = np.zeros(size, dtype=np.int64)
        rows = _Rows(
            events.kind.tolist(),
            events.amount.tolist(),
            events.source.tolist(),
            events.destination.tolist(),
            events.terminal.tolist(),
            events.time_ns.tolist(),
        )

        def apply(index: int) -> None:
            outcome, fee = self._apply(rows, index)
            outcomes[index] = outcome
            fees[index] = fee

        for window in self._windows(rows):
            if self._clock is not None:
                self._advance_to(rows.time_ns[window[0]])
            self._run(window, apply)
            if on_progress is not None:
                on_progress(len(window))
        if self._clock is not None:
            self._advance_to(day.start_ns + nanoseconds_per_day - 1)
        invariant(all(outcome for outcome in outcomes), "every event has an outcome")
        return DayResult(outcomes, fees)

    def housekeeping(self) -> tuple[int, int]:
        """Refund expired vouchers and fail timed-out bank transfers, as the server does."""
        refunded = self._payments.refund_expired_vouchers()
        failed = self._payments.fail_expired_bank_transfers()
        return refunded, failed

    def _advance_to(self, time_ns: int) -> None:
        clock = self._clock
        invariant(clock is not None, "only a fixed clock is moved")
        if clock is not None and time_ns > clock.now_ns():
            clock.advance_ns(time_ns - clock.now_ns())

    def _windows(self, rows: _Rows) -> Iterable[list[int]]:
        """Consecutive events that touch different customers and agents, up to `lanes`."""
        population = self._population
        first_agent, first_biller = population.first_agent, population.first_biller
        customers = population.customers
        window: list[int] = []
        busy: set[int] = set()
        for index in range(len(rows.kind)):
            touched = [
                party
                for party in (rows.source[index], rows.destination[index])
                if party < customers or first_agent <= party < first_biller
            ]
            if len(window) >= self._lanes or any(party in busy for party in touched):
                yield window
                window, busy = [], set()
            window.append(index)
            busy.update(touched)
        if window:
            yield window

    def _run(self, indices: list[int], work: Callable[[int], object]) -> None:
        if self._executor is None or len(indices) == 1:
            for index in indices:
                work(index)
            return
        for future in [self._executor.submit(work, index) for index in indices]:
            future.result()

    def _for_all(
        self,
        items: list[int],
        work: Callable[[int], object],
        on_progress: Callable[[int], None] | None,
    ) -> None:
        for start in range(0, len(items), self._lanes):
            chunk = items[start : start + self._lanes]
            self._run(chunk, work)
            if on_progress is not None:
                on_progress(len(chunk))

    def _apply(self, rows: _Rows, index: int) -> tuple[str, int]:
        payments = self._payments
        wallet = self._wallet
        currency_code = self._currency
        kind = Kind(rows.kind[index])
        amount = rows.amount[index]
        source = rows.source[index]
        destination = rows.destination[index]
        outcome = succeeded
        try:
            transaction: PaymentTransaction
            if kind is Kind.cash_in:
                transaction = payments.cash_in(
                    int(wallet[source]), int(wallet[destination]), amount, currency_code
                )
            elif kind is Kind.cash_out:
                transaction = payments.cash_out(
                    int(wallet[source]), int(wallet[destination]), amount, currency_code
                )
            elif kind is Kind.p2p:
                sent = payments.send_p2p(
                    int(wallet[source]), self.phone(destination), amount, currency_code
                )
                if isinstance(sent, IssuedVoucher):
                    transaction, outcome = sent.transaction, voucher_issued
                else:
                    transaction = sent
            elif kind is Kind.merchant:
                till = rows.terminal[index] % merchant_terminals_max + 1
                transaction = payments.pay_merchant(
                    int(wallet[source]),
                    int(wallet[destination]),
                    amount,
                    currency_code,
                    reference=f"till {till}",
                )
            elif kind is Kind.bill:
                transaction = payments.pay_bill(
                    int(wallet[source]),
                    int(wallet[destination]),
                    f"ACC{source:08d}",
                    amount,
                    currency_code,
                )
            elif kind is Kind.bank_out:
                held = payments.send_to_bank(
                    int(wallet[source]),
                    int(wallet[destination]),
                    f"{source:012d}",
                    amount,
                    currency_code,
                )
                transaction = held
                if held.status == "pending":  # else risk control holds it for an analyst
                    transaction = payments.settle_bank_transfer(held.id, succeeded=True)
            elif kind is Kind.bank_in:
                transaction = payments.receive_from_bank(
                    int(wallet[source]),
                    int(wallet[destination]),
                    amount,
                    currency_code,
                    f"CR{rows.time_ns[index] // 1_000_000_000}-{destination}",
                )
            else:
                invariant(kind is Kind.float_purchase, f"every kind is driven: {kind}")
                transaction = payments.purchase_float(
                    int(wallet[destination]), amount, "e-float against a trust-account deposit"
                )
        except PaymentError as error:
            return error.code, 0
        if transaction.status == "held":
            outcome = held_for_review
        return outcome, transaction.fee


@dataclass(frozen=True, slots=True)
class _Rows:
    """A day's columns as Python lists: the driver reads them one event at a time."""

    kind: list[int]
    amount: list[int]
    source: list[int]
    destination: list[int]
    terminal: list[int]
    time_ns: list[int]


def drive(
    payments: PaymentsService,
    days: Iterable[Day],
    population: Population,
    currency_code: str,
    *,
    clock: FixedClock | None = None,
    lanes: int = simulator_driver_lanes,
    on_registered: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_day: Callable[[Day, DayResult], None] | None = None,
) -> DriveSummary:
    """Register the population and replay `days` through the platform. `on_registered` and
    `on_progress` are told how many parties, then events, were just done."""
    driver = Driver(payments, population, currency_code, clock=clock, lanes=lanes)
    summary = DriveSummary()
    try:
        summary.parties = driver.register(on_registered)
        for day in days:
            result = driver.run_day(day, on_progress)
            summary.add(day, result)
            if on_day is not None:
                on_day(day, result)
            if clock is not None:
                refunded, failed = driver.housekeeping()
                summary.vouchers_refunded += refunded
                summary.bank_transfers_failed += failed
    finally:
        driver.close()
    invariant(summary.events == sum(summary.outcomes().values()), "every event is counted once")
    return summary

"""The day-by-day generator: a seeded population living through simulated days.

Each day is built as whole numpy arrays, never a Python loop per transaction:

1. Agents whose e-float runs low buy more; salaried customers on their payday get their salary
   from their bank; on the first day every customer deposits an opening balance.
2. Fraud and laundering episodes start at their rates (`typologies`); their scripted, labelled
   events are kept for the day they fall on.
3. Every customer draws today's number of transactions (Poisson: activity x weekday), each a
   PaySim type from the customer's segment mix and a Hazina kind and counterparty (home agent,
   local shops, the address book, billers, the home bank). Amounts per type are drawn from the
   calibrated distribution and handed out by rank: the customers with more money (or, for
   deposits, the better off) get the larger amounts, with noise. Times follow the intraday
   profile.
4. Affordability: customers know their balance, their KYC limits and the product minimums, and
   do not try what would fail. Within the day, in time order, a transaction that would take a
   wallet below zero (or below what a planned episode needs), break a per-transaction, daily or
   monthly limit, or push a balance over its maximum is dropped; agents only pay out float they
   have. Dropping one can make another affordable, so this runs in passes, each dropping the
   first failing transaction of every wallet (`simulator_affordability_passes`; the last pass
   drops all that still fail). Scripted events are never dropped.
5. Balances, month-to-date outflows and agent floats move by what was kept, fees included (as
   customers estimate them: never less than the tariff charges).

The types that get dropped more (big transfers and cash-outs) are proposed a little more often
on later days, by their running drop ratio, so the kept mix stays on PaySim's.

Nothing here reads a clock, the disk or global randomness: the same configuration gives the
same events, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    simulator_affordability_passes,
    simulator_customers_max,
    simulator_days_max,
)
from hazina.sim import behaviour, calibration, typologies
from hazina.sim.behaviour import Segment, nanoseconds_per_day
from hazina.sim.events import (
    EventBatch,
    Flow,
    FraudScenario,
    Kind,
    LaunderingTypology,
    PaysimType,
    ScriptedEvent,
    concatenate,
    make_batch,
    none_code,
    scripted_batch,
)
from hazina.sim.population import Population, build_population

default_start_ns = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * 1_000_000_000  # a Monday

_stream_population = 0
_stream_day = 1
_stream_episodes = 2
_boost_max = 1.5
_outflow_score_noise = 0.8
_deposit_score_noise = 0.8
_amount_bins = 20
_salary_transfer_min = 100_00  # less than KES 100 of room: the salary stays in the bank
_steering_exponent = 1.0  # how strongly deposits follow a balance below its comfortable level
_steering_max = 5.0
_cash_in_share_max = 0.8


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    customers: int = 10_000
    days: int = 30
    seed: int = 7
    start_ns: int = default_start_ns  # midnight UTC of the first day
    episode_rate_scale: float = 1.0  # multiplies every fraud and laundering episode rate
    currency: str = behaviour.KES

    def __post_init__(self) -> None:
        invariant(1 <= self.days <= simulator_days_max, "days within limits")
        invariant(1 <= self.customers <= simulator_customers_max, "customers within limits")
        invariant(self.start_ns % nanoseconds_per_day == 0, "a simulation starts at midnight UTC")
        invariant(self.episode_rate_scale >= 0, "episode rates are not negative")
        invariant(self.currency == behaviour.KES, "the simulator's economy is calibrated in KES")


@dataclass(frozen=True, slots=True)
class Day:
    """One simulated day's events, in time order."""

    index: int
    start_ns: int
    events: EventBatch


@dataclass(slots=True)
class _Ledger:
    """The generator's own view of the money: customer balances (fees as estimated), agents'
    float, and month-to-date outflow per customer."""

    balance: NDArray[np.int64]  # customers, then agents
    month_outflow: NDArray[np.int64]
    month: tuple[int, int] = (0, 0)


@dataclass(slots=True)
class Statistics:
    """What the generator did, for summaries and the drop-ratio boost."""

    proposed: NDArray[np.int64] = field(default_factory=lambda: np.zeros(5, dtype=np.int64))
    kept: NDArray[np.int64] = field(default_factory=lambda: np.zeros(5, dtype=np.int64))
    # The same by amount: [PaySim type, equal-probability bin of the target distribution].
    proposed_bins: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((5, _amount_bins), dtype=np.int64)
    )
    kept_bins: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros((5, _amount_bins), dtype=np.int64)
    )
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)


class Simulation:
    """A seeded economy. Iterate `days()` once for the whole run."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.population: Population = build_population(
            config.customers, self._rng(_stream_population)
        )
        population = self.population
        self._ledger = _Ledger(
            np.zeros(population.customers + population.agents, dtype=np.int64),
            np.zeros(population.customers, dtype=np.int64),
        )
        self._pending: dict[int, list[EventBatch]] = {}
        self._next_device = int(population.device.max()) + 1 if population.customers else 1
        self._next_episode = 0
        self.statistics = Statistics()
        self._hour_weights = behaviour.utc_hour_weights()
        self._started = False

    def _rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.config.seed, *stream]))

    @property
    def horizon_end_ns(self) -> int:
        return self.config.start_ns + self.config.days * nanoseconds_per_day

    def days(self) -> Iterator[Day]:
        invariant(not self._started, "a simulation runs once")
        self._started = True
        for index in range(self.config.days):
            yield self._day(index)

    # -- one day -----------------------------------------------------------------------------

    def _day(self, index: int) -> Day:
        population = self.population
        start = self.config.start_ns + index * nanoseconds_per_day
        moment = datetime.fromtimestamp(start // 1_000_000_000, tz=UTC)
        if (moment.year, moment.month) != self._ledger.month:
            self._ledger.month = (moment.year, moment.month)
            self._ledger.month_outflow[:] = 0
        rng = self._rng(_stream_day, index)
        self._plan_episodes(index, start)
        reserved = self._reserved(index)
        scripted = concatenate(self._pending.pop(index, []))
        batches: list[EventBatch] = []
        if index == 0:
            batches.append(self._opening(rng, start))
        batches.append(self._salaries(rng, start, moment.day))
        batches.append(scripted)
        planned = concatenate(batches)
        batches = [self._float_purchases(start, planned), planned]
        spendable = self._ledger.balance[: population.customers].copy()
        funding = (planned.flow != Flow.activity) & (planned.destination < population.customers)
        np.add.at(spendable, planned.destination[funding], planned.amount[funding])
        batches.append(self._activity(rng, start, moment.weekday(), spendable))
        events = concatenate(batches)
        keep = self._affordable(events, reserved)
        kept = events.take(keep)
        order = np.lexsort((np.arange(len(kept)), kept.time_ns))
        kept = kept.take(order.astype(np.int64))
        self._post(kept)
        self._count(events, keep)
        invariant(bool(np.all(np.diff(kept.time_ns) >= 0)), "a day's events are in time order")
        invariant(bool(np.all(kept.amount > 0)), "every event moves money")
        return Day(index, start, kept)

    def _opening(self, rng: np.random.Generator, start: int) -> EventBatch:
        """Opening balances: salaried customers from their bank, others at their agent."""
        population = self.population
        customers = np.arange(population.customers, dtype=np.int64)
        salaried = population.segment == Segment.salaried
        times = start + rng.integers(0, 3 * 3_600 * 1_000_000_000, population.customers)
        source = np.where(salaried, population.home_bank, population.home_agent)
        return make_batch(
            time_ns=times,
            kind=np.where(salaried, Kind.bank_in, Kind.cash_in).astype(np.int8),
            flow=Flow.opening,
            amount=population.opening_balance,
            source=source,
            destination=customers,
            agent=np.where(salaried, none_code, population.home_agent),
            protected=True,
        )

    def _salaries(self, rng: np.random.Generator, start: int, day_of_month: int) -> EventBatch:
        """Payday: the salary arrives in the bank and the customer moves it to the wallet, as
        much of it as fits well under the tier's maximum balance (the rest stays in the bank)."""
        population = self.population
        customers = population.customers
        maximum = np.array([t.max_balance for t in behaviour.tier_limits], dtype=np.int64)
        room = maximum[population.kyc_tier] * 85 // 100 - self._ledger.balance[:customers]
        amount = np.minimum(population.salary, room) // 1_000 * 1_000  # whole KES 10
        paid = np.flatnonzero(
            (population.payday == day_of_month) & (amount >= _salary_transfer_min)
        ).astype(np.int64)
        invariant(bool(np.all(amount[paid] <= population.salary[paid])), "never above salary")
        times = behaviour.times_in_day(rng, start, len(paid), _salary_hours())
        return make_batch(
            time_ns=times,
            kind=Kind.bank_in,
            flow=Flow.income,
            amount=amount[paid],
            source=population.home_bank[paid],
            destination=paid,
            protected=True,
        )

    def _float_purchases(self, start: int, planned: EventBatch) -> EventBatch:
        """Agents below the low-water mark top up to the target, plus what planned deposits
        (opening balances, scripted cash-ins) will take from them today."""
        population = self.population
        float_now = self._ledger.balance[population.customers :]
        agent_deposits = planned.kind == Kind.cash_in
        needed = np.zeros(population.agents, dtype=np.int64)
        np.add.at(
            needed,
            planned.source[agent_deposits] - population.first_agent,
            planned.amount[agent_deposits],
        )
        low = (float_now < behaviour.agent_float_low_water) | (
            float_now - needed < behaviour.agent_float_low_water
        )
        buying = np.flatnonzero(low).astype(np.int64)
        amounts = behaviour.agent_float_target + needed[buying] - float_now[buying]
        buying, amounts = buying[amounts > 0], amounts[amounts > 0]
        return make_batch(
            time_ns=start + buying,  # the first thing each day, in agent order
            kind=Kind.float_purchase,
            flow=Flow.float,
            amount=amounts.astype(np.int64),
            source=np.full(len(buying), population.operator, dtype=np.int64),
            destination=population.first_agent + buying,
            agent=population.first_agent + buying,
            protected=True,
        )

    def _plan_episodes(self, index: int, start: int) -> None:
        """Start today's episodes; file their events under the days they fall on."""
        population = self.population
        rng = self._rng(_stream_episodes, index)
        context = typologies.EpisodeContext(
            rng,
            population,
            start,
            self.horizon_end_ns,
            self._ledger.balance[: population.customers],
            self._next_device,
        )
        scale = self.config.episode_rate_scale * population.customers / 10_000
        plans: list[tuple[str, typologies.Script, FraudScenario | None, LaunderingTypology | None]]
        plans = []
        for scenario, rate in typologies.fraud_rates.items():
            script = typologies.fraud_scripts[scenario]
            count = rng.poisson(rate * scale)
            plans.extend((scenario.name, script, scenario, None) for _ in range(count))
        for typology, rate in typologies.laundering_rates.items():
            script = typologies.laundering_scripts[typology]
            count = rng.poisson(rate * scale)
            plans.extend((typology.name, script, None, typology) for _ in range(count))
        for name, script, planned_scenario, planned_typology in plans:
            events = script(context)
            events = typologies.fit_to_horizon(events, self.horizon_end_ns)
            if not events:
                continue
            self._file(events, self._next_episode, planned_scenario, planned_typology)
            self._next_episode += 1
            self.statistics.episodes[name] = self.statistics.episodes.get(name, 0) + 1
        self._next_device = context.next_device

    def _file(
        self,
        events: list[ScriptedEvent],
        episode: int,
        scenario: FraudScenario | None,
        typology: LaunderingTypology | None,
    ) -> None:
        batch = scripted_batch(events, episode, fraud=scenario, laundering=typology)
        days = (batch.time_ns - self.config.start_ns) // nanoseconds_per_day
        for day in np.unique(days):
            self._pending.setdefault(int(day), []).append(batch.take(days == day))

    def _reserved(self, index: int) -> NDArray[np.int64]:
        """What planned episodes will still take from each customer, today and later: money
        that ordinary spending leaves alone."""
        population = self.population
        reserved = np.zeros(population.customers, dtype=np.int64)
        planned = [b for day, bs in self._pending.items() if day >= index for b in bs]
        for batch in planned:
            paying = batch.source < population.customers
            costs = batch.amount + behaviour.fee_estimates_by_kind(batch.kind, batch.amount)
            np.add.at(reserved, batch.source[paying], costs[paying])
        return reserved

    def _activity(
        self,
        rng: np.random.Generator,
        start: int,
        weekday: int,
        spendable: NDArray[np.int64],
    ) -> EventBatch:
        """Today's ordinary transactions. `spendable` is each customer's balance with today's
        salary or opening deposit in it."""
        population = self.population
        boost = np.ones(len(PaysimType))
        proposed, kept = self.statistics.proposed, self.statistics.kept
        seen = kept > 0
        boost[seen] = np.clip(proposed[seen] / kept[seen], 1.0, _boost_max)
        cash_in_share = self._cash_in_shares(spendable)
        others = population.mixes[0].copy()
        others[PaysimType.CASH_IN] = 0.0
        others = others / others.sum() * boost
        other_weight = float(others.sum())
        cash_in_weight = cash_in_share * boost[PaysimType.CASH_IN]
        weight = cash_in_weight + (1.0 - cash_in_share) * other_weight
        factor = behaviour.weekday_factors[weekday]
        counts = rng.poisson(population.activity * factor * weight)
        customer = np.repeat(np.arange(population.customers, dtype=np.int64), counts)
        size = len(customer)
        draws = rng.random(size) * weight[customer]
        deposit_draw = draws < cash_in_weight[customer]
        other_draw = (draws - cash_in_weight[customer]) / (1.0 - cash_in_share[customer])
        other_cumulative = np.cumsum(others)[:-1]
        paysim_type = np.searchsorted(other_cumulative, other_draw, side="right").astype(np.int8)
        paysim_type = np.minimum(paysim_type, len(PaysimType) - 1).astype(np.int8)
        paysim_type[deposit_draw] = PaysimType.CASH_IN
        kind = np.empty(size, dtype=np.int8)
        counterparty = np.empty(size, dtype=np.int64)
        terminal = np.full(size, none_code, dtype=np.int64)
        agent = np.full(size, none_code, dtype=np.int64)
        choice = rng.random(size)

        cash = (paysim_type == PaysimType.CASH_IN) | (paysim_type == PaysimType.CASH_OUT)
        any_agent = population.first_agent + rng.integers(0, population.agents, size)
        at_agent = np.where(
            choice < behaviour.home_agent_share, population.home_agent[customer], any_agent
        )
        kind[paysim_type == PaysimType.CASH_IN] = Kind.cash_in
        kind[paysim_type == PaysimType.CASH_OUT] = Kind.cash_out
        counterparty[cash] = at_agent[cash]
        agent[cash] = at_agent[cash]

        debit = paysim_type == PaysimType.DEBIT
        direct = population.direct_debit_billers()
        kind[debit] = Kind.bill
        counterparty[debit] = direct[rng.integers(0, len(direct), size)[debit]]

        payment = paysim_type == PaysimType.PAYMENT
        bill = payment & (choice < behaviour.bill_share_of_payments)
        utilities = population.utility_billers()
        kind[bill] = Kind.bill
        counterparty[bill] = utilities[rng.integers(0, len(utilities), size)[bill]]
        shop = payment & ~bill
        merchant = self._merchants(rng, customer)
        kind[shop] = Kind.merchant
        counterparty[shop] = merchant[shop]
        till = rng.integers(0, behaviour.merchant_terminals_max, size)
        terminal[shop] = merchant[shop] * behaviour.merchant_terminals_max + till[shop]

        transfer = paysim_type == PaysimType.TRANSFER
        banked = population.home_bank[customer] >= 0
        to_bank = transfer & banked & (choice < behaviour.bank_share_of_transfers_banked)
        kind[to_bank] = Kind.bank_out
        counterparty[to_bank] = population.home_bank[customer][to_bank]
        p2p = transfer & ~to_bank
        kind[p2p] = Kind.p2p
        counterparty[p2p] = self._recipients(rng, customer)[p2p]

        amount = self._amounts(rng, customer, paysim_type, kind, spendable)
        deposit = kind == Kind.cash_in
        source = np.where(deposit, counterparty, customer)
        destination = np.where(deposit, customer, counterparty)
        device = np.where(deposit, none_code, population.device[customer])
        times = behaviour.times_in_day(rng, start, size, self._hour_weights)
        batch = make_batch(
            time_ns=times,
            paysim_type=paysim_type,
            kind=kind,
            flow=Flow.activity,
            amount=amount,
            source=source,
            destination=destination,
            device=device,
            agent=agent,
            terminal=terminal,
        )
        return batch

    def _cash_in_shares(self, spendable: NDArray[np.int64]) -> NDArray[np.float64]:
        """Each customer's chance that a transaction is a deposit: the segment's share, higher
        below the customer's comfortable balance (the opening one) and lower above it,
        normalised so that each segment's expected share is unchanged."""
        population = self.population
        target = population.opening_balance.astype(np.float64)
        ratio = target / np.maximum(spendable.astype(np.float64), 100.0)
        steer = np.clip(ratio**_steering_exponent, 1 / _steering_max, _steering_max)
        shares = np.empty(population.customers)
        for segment in Segment:
            members = population.segment == segment
            if not members.any():
                continue
            weights = population.activity[members]
            mean = float((steer[members] * weights).sum() / max(weights.sum(), 1e-12))
            base = population.mixes[segment, PaysimType.CASH_IN]
            shares[members] = np.minimum(base * steer[members] / mean, _cash_in_share_max)
        return shares

    def _merchants(
        self, rng: np.random.Generator, customer: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """A shop of the customer's community (merchant m serves community m mod communities),
        or a popular one anywhere."""
        population = self.population
        size = len(customer)
        communities = population.communities
        community = population.community[customer]
        local_count = (population.merchants - community + communities - 1) // communities
        local = community + (rng.random(size) * np.maximum(local_count, 1)).astype(np.int64) * (
            communities
        )
        popular = np.searchsorted(population.merchant_cumulative_popularity, rng.random(size))
        popular = np.minimum(popular, population.merchants - 1)
        use_local = (rng.random(size) < behaviour.local_merchant_share) & (local_count > 0)
        merchant = np.where(use_local, local, popular) + population.first_merchant
        return merchant.astype(np.int64)

    def _recipients(
        self, rng: np.random.Generator, customer: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Someone from the address book, or now and then a phone without a wallet."""
        population = self.population
        size = len(customer)
        offsets = population.contact_offsets
        degree = offsets[customer + 1] - offsets[customer]
        pick = offsets[customer] + (rng.random(size) * degree).astype(np.int64)
        contact = population.contacts[np.minimum(pick, len(population.contacts) - 1)]
        outsider = population.first_unregistered + rng.integers(0, population.unregistered, size)
        unregistered = rng.random(size) < behaviour.unregistered_share_of_p2p
        return np.where(unregistered, outsider, contact).astype(np.int64)

    def _amounts(
        self,
        rng: np.random.Generator,
        customer: NDArray[np.int64],
        paysim_type: NDArray[np.int8],
        kind: NDArray[np.int8],
        balance: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Calibrated amounts per type, handed out by rank: deposits by affluence, spending by
        balance, both with noise. Who cannot pay even the smallest amount the product takes
        (plus its fee) gets none: 0, dropped later as outside the product."""
        population = self.population
        amount = np.zeros(len(customer), dtype=np.int64)
        smallest = np.zeros(len(Kind), dtype=np.int64)
        for product, minimum in behaviour.product_minimums.items():
            estimate = behaviour.fee_estimates.get(product)
            smallest[product] = minimum + (0 if estimate is None else estimate.flat)
        broke = (kind != Kind.cash_in) & (balance[customer] < smallest[kind])
        for paysim_type_value in PaysimType:
            rows = np.flatnonzero((paysim_type == paysim_type_value) & ~broke)
            if len(rows) == 0:
                continue
            drawn = np.sort(
                calibration.sample_amounts(
                    rng, paysim_type_value, len(rows), self._bin_weights(paysim_type_value)
                )
            )
            who = customer[rows]
            if paysim_type_value is PaysimType.CASH_IN:
                score = population.affluence[who] + _deposit_score_noise * rng.standard_normal(
                    len(rows)
                )
            else:
                score = np.log1p(np.maximum(balance[who], 0) / 100.0)
                score = score + _outflow_score_noise * rng.standard_normal(len(rows))
            amount[rows[np.argsort(score, kind="stable")]] = drawn
        return amount

    # -- affordability -----------------------------------------------------------------------

    def _affordable(self, events: EventBatch, reserved: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Which events to keep: everything scripted, and what customers and agents can do."""
        population = self.population
        customers = population.customers
        size = len(events)
        keep = np.ones(size, dtype=np.bool_)
        kinds = events.kind
        open_events = ~events.protected
        minimums = np.zeros(len(Kind), dtype=np.int64)
        for kind, minimum in behaviour.product_minimums.items():
            minimums[kind] = minimum
        self._drop(keep, open_events & (events.amount == 0), "no_balance")
        outside_product = (events.amount < minimums[kinds]) | (
            events.amount > behaviour.product_maximum
        )
        voucher = (kinds == Kind.p2p) & (events.destination >= population.first_unregistered)
        outside_product |= voucher & (
            (events.amount < behaviour.voucher_minimum)
            | (events.amount > behaviour.voucher_maximum)
        )
        self._drop(keep, open_events & outside_product, "outside_product_range")

        fees = behaviour.fee_estimates_by_kind(kinds, events.amount)
        if voucher.any():
            estimate = behaviour.voucher_fee_estimate
            fees[voucher] = np.minimum(
                estimate.cap,
                estimate.flat + events.amount[voucher] * estimate.basis_points // 10_000,
            )
        paying_customer = events.source < customers
        tier = np.zeros(size, dtype=np.int64)
        tier[paying_customer] = population.kyc_tier[events.source[paying_customer]]
        per_transaction = np.array([t.per_transaction for t in behaviour.tier_limits])[tier]
        over = paying_customer & (events.amount + fees > per_transaction)
        self._drop(keep, open_events & over, "limit_per_transaction")

        # Ledger entries of tracked wallets: customers [0, C) and agents' float [C, C + A).
        first_agent = population.first_agent
        source_tracked = paying_customer | (
            (events.source >= first_agent) & (events.source < first_agent + population.agents)
        )
        destination_tracked = (events.destination < customers) | (
            (events.destination >= first_agent)
            & (events.destination < first_agent + population.agents)
        )

        def tracked(ids: NDArray[np.int64]) -> NDArray[np.int64]:
            return np.where(ids < customers, ids, customers + ids - first_agent)

        debit_rows = np.flatnonzero(source_tracked)
        credit_rows = np.flatnonzero(destination_tracked)
        entry_event = np.concatenate([debit_rows, credit_rows])
        entry_party = np.concatenate(
            [tracked(events.source[debit_rows]), tracked(events.destination[credit_rows])]
        )
        entry_value = np.concatenate(
            [
                -(events.amount[debit_rows] + np.where(paying_customer, fees, 0)[debit_rows]),
                events.amount[credit_rows],
            ]
        )
        is_debit = np.concatenate(
            [np.ones(len(debit_rows), dtype=np.bool_), np.zeros(len(credit_rows), dtype=np.bool_)]
        )
        order = np.lexsort((entry_event, events.time_ns[entry_event], entry_party))
        entry_event, entry_party = entry_event[order], entry_party[order]
        entry_value, is_debit = entry_value[order], is_debit[order]
        count = len(entry_event)
        if count == 0:
            return keep
        positions = np.arange(count)
        group_start = np.ones(count, dtype=np.bool_)
        group_start[1:] = entry_party[1:] != entry_party[:-1]
        first_of_group = np.maximum.accumulate(np.where(group_start, positions, 0))

        def grouped_cumsum(values: NDArray[np.int64]) -> NDArray[np.int64]:
            running = np.cumsum(values)
            result: NDArray[np.int64] = running - (running[first_of_group] - values[first_of_group])
            return result

        is_customer = entry_party < customers
        customer_index = np.where(is_customer, entry_party, 0)
        entry_tier = population.kyc_tier[customer_index].astype(np.int64)
        limits = behaviour.tier_limits
        max_balance = np.array([t.max_balance * behaviour.balance_headroom for t in limits])
        daily = np.array([t.daily_volume for t in limits])[entry_tier]
        monthly = np.array([t.monthly_volume for t in limits])[entry_tier]
        ceiling = max_balance[entry_tier]
        floor = np.where(is_customer, reserved[customer_index], 0)
        start_balance = self._ledger.balance[entry_party]
        month_before = np.where(is_customer, self._ledger.month_outflow[customer_index], 0)
        customer_debit = is_debit & is_customer
        entry_open = open_events[entry_event]
        for attempt in range(simulator_affordability_passes):
            live = keep[entry_event]
            values = np.where(live, entry_value, 0)
            balance = start_balance + grouped_cumsum(values)
            outflow = grouped_cumsum(np.where(customer_debit & live, -entry_value, 0))
            failing = (
                (is_debit & (balance < floor))
                | (customer_debit & (outflow > daily))
                | (customer_debit & (month_before + outflow > monthly))
                | (~is_debit & is_customer & (balance > ceiling))
            )
            failing &= live & entry_open
            rows = np.flatnonzero(failing)
            if len(rows) == 0:
                break
            if attempt < simulator_affordability_passes - 1:
                parties = entry_party[rows]
                first = np.ones(len(rows), dtype=np.bool_)
                first[1:] = parties[1:] != parties[:-1]
                rows = rows[first]
            dropped = np.zeros(size, dtype=np.bool_)
            dropped[entry_event[rows]] = True
            self._drop(keep, dropped, "unaffordable")
        return keep

    def _drop(self, keep: NDArray[np.bool_], rows: NDArray[np.bool_], reason: str) -> None:
        newly = rows & keep
        count = int(newly.sum())
        if count:
            keep[newly] = False
            reasons = self.statistics.dropped_by_reason
            reasons[reason] = reasons.get(reason, 0) + count

    def _post(self, events: EventBatch) -> None:
        """Move the generator's balances by a day's kept events."""
        population = self.population
        customers, first_agent = population.customers, population.first_agent
        fees = behaviour.fee_estimates_by_kind(events.kind, events.amount)
        voucher = (events.kind == Kind.p2p) & (events.destination >= population.first_unregistered)
        estimate = behaviour.voucher_fee_estimate
        fees[voucher] = np.minimum(
            estimate.cap, estimate.flat + events.amount[voucher] * estimate.basis_points // 10_000
        )
        balance = self._ledger.balance
        paying = events.source < customers
        np.subtract.at(balance, events.source[paying], events.amount[paying] + fees[paying])
        np.add.at(
            self._ledger.month_outflow, events.source[paying], events.amount[paying] + fees[paying]
        )
        receiving = events.destination < customers
        np.add.at(balance, events.destination[receiving], events.amount[receiving])
        agent_pays = (events.source >= first_agent) & (
            events.source < first_agent + population.agents
        )
        np.subtract.at(
            balance, customers + events.source[agent_pays] - first_agent, events.amount[agent_pays]
        )
        agent_gets = (events.destination >= first_agent) & (
            events.destination < first_agent + population.agents
        )
        np.add.at(
            balance,
            customers + events.destination[agent_gets] - first_agent,
            events.amount[agent_gets],
        )

    def _bin_weights(self, paysim_type: PaysimType) -> NDArray[np.float64]:
        proposed = self.statistics.proposed_bins[paysim_type].astype(np.float64)
        kept = self.statistics.kept_bins[paysim_type].astype(np.float64)
        weights = np.ones(_amount_bins)
        seen = kept > 0
        weights[seen] = np.clip(proposed[seen] / kept[seen], 1.0, _boost_max * 2)
        return weights

    def _count(self, events: EventBatch, keep: NDArray[np.bool_]) -> None:
        statistics = self.statistics
        activity = (events.flow == Flow.activity) & ~events.protected
        types = events.paysim_type.astype(np.int64)
        statistics.proposed += np.bincount(types[activity], minlength=len(PaysimType))
        statistics.kept += np.bincount(types[activity & keep], minlength=len(PaysimType))
        priced = activity & (events.amount > 0)
        for paysim_type in PaysimType:
            rows = priced & (types == paysim_type)
            where = calibration.probabilities_of(paysim_type, events.amount[rows])
            bins = np.minimum((where * _amount_bins).astype(np.int64), _amount_bins - 1)
            statistics.proposed_bins[paysim_type] += np.bincount(bins, minlength=_amount_bins)
            statistics.kept_bins[paysim_type] += np.bincount(
                bins[keep[rows]], minlength=_amount_bins
            )


def _salary_hours() -> NDArray[np.float64]:
    """Salaries land in the early morning (local 06:00-09:00)."""
    weights = np.zeros(24)
    weights[6 - behaviour.utc_offset_hours : 9 - behaviour.utc_offset_hours] = 1.0
    normalised: NDArray[np.float64] = weights / weights.sum()
    return normalised

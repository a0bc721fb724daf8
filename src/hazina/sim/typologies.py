"""Injected misbehaviour: fraud scenarios and laundering typologies, each as a scripted episode.

An episode is a short script of ordinary-looking transactions (the platform sees nothing else)
whose rows carry the labels: `is_fraud` and the scenario, or `is_laundering` and the typology,
and the episode id. Episodes start at a Poisson rate per 10,000 customers per day and are
planned from the generator's view of balances at the start of their first day, so they are
affordable when they run; the generator keeps the money they need aside from ordinary spending.

Fraud (victims are ordinary customers; money ends with mules, who cash it out):
- account takeover: in the early hours, from a new device, the wallet is drained by two to four
  transfers to mules who never received from it before; the mules cash out within hours;
- SIM swap: the number moves to a new SIM (a new device), and within the hour most of the
  balance goes to a mule and the rest to a bank account;
- merchant collusion: colluding customers deposit round sums and pay them at once to a
  colluding merchant late in the evening (fake sales);
- agent split deposits: a fraudulent agent books one customer's deposit as many small ones a
  minute or two apart, for the per-transaction commission.

Laundering (after AMLSim's typologies; ring members are customers with the `launderer` or
`mule` role): fan-in, fan-out, cycle, scatter-gather, and structuring (cash deposits just under
the reporting threshold at several agents over days, then out to a bank). Each starts with
placement (cash deposits) and ends with integration (cash-out or bank transfer), and every
step is labelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import simulator_cash_report_amount_min, simulator_episode_events_max
from hazina.sim import behaviour
from hazina.sim.behaviour import nanoseconds_per_second
from hazina.sim.events import (
    FraudScenario,
    Kind,
    LaunderingTypology,
    PartyRole,
    PaysimType,
    ScriptedEvent,
)
from hazina.sim.population import Population

minute_ns = 60 * nanoseconds_per_second
hour_ns = 60 * minute_ns

# Episodes per 10,000 customers per day.
fraud_rates: dict[FraudScenario, float] = {
    FraudScenario.account_takeover: 2.0,
    FraudScenario.sim_swap: 1.0,
    FraudScenario.merchant_collusion: 0.6,
    FraudScenario.agent_split_deposits: 1.5,
}
laundering_rates: dict[LaunderingTypology, float] = {
    LaunderingTypology.fan_in: 0.5,
    LaunderingTypology.fan_out: 0.5,
    LaunderingTypology.cycle: 0.5,
    LaunderingTypology.scatter_gather: 0.4,
    LaunderingTypology.structuring: 0.5,
}


@dataclass(slots=True)
class EpisodeContext:
    """What an episode script may read and allocate. `balance` is the generator's view of each
    customer's balance at the start of the day (do not write to it)."""

    rng: np.random.Generator
    population: Population
    day_start_ns: int
    horizon_end_ns: int
    balance: NDArray[np.int64]
    next_device: int
    busy: NDArray[np.bool_] = field(init=False)  # customers already in an episode today

    def __post_init__(self) -> None:
        self.busy = np.zeros(self.population.customers, dtype=np.bool_)

    def new_device(self) -> int:
        self.next_device += 1
        return self.next_device

    def local_time(self, hour_from: float, hour_to: float) -> int:
        """A moment of today between two East Africa Time hours (3 <= from < to <= 27)."""
        invariant(3 <= hour_from < hour_to <= 27, "local hours inside today's UTC day")
        offset = behaviour.utc_offset_hours
        hours = self.rng.uniform(hour_from - offset, hour_to - offset)
        return self.day_start_ns + int(hours * hour_ns)

    def gap(self, minutes_from: float, minutes_to: float) -> int:
        return int(self.rng.uniform(minutes_from, minutes_to) * minute_ns)

    def agent(self) -> int:
        return self.population.first_agent + int(self.rng.integers(0, self.population.agents))

    def pick(self, role: PartyRole, count: int) -> list[int]:
        """Up to `count` distinct free customers of a role."""
        members = self.population.with_role(role)
        candidates = members[~self.busy[members]]
        if len(candidates) < count:
            return []
        chosen = [int(c) for c in self.rng.choice(candidates, size=count, replace=False)]
        self.busy[chosen] = True
        return chosen

    def device(self, customer: int) -> int:
        return int(self.population.device[customer])

    def limits(self, customer: int) -> behaviour.TierLimits:
        return behaviour.tier_limits[int(self.population.kyc_tier[customer])]


def _round_down(amount: float, step: int = 10_00) -> int:
    return int(amount // step) * step


def _fee(kind: Kind, amount: int) -> int:
    return int(behaviour.fee_estimate(kind, np.array([amount], dtype=np.int64))[0])


def _cash_out(context: EpisodeContext, customer: int, received: int, at: int) -> ScriptedEvent:
    """The mule or ring member takes most of what arrived out at an agent."""
    amount = _round_down(
        (received - _fee(Kind.cash_out, received)) * context.rng.uniform(0.93, 0.99)
    )
    amount = max(amount, behaviour.product_minimums[Kind.cash_out])
    agent = context.agent()
    return ScriptedEvent(
        at,
        Kind.cash_out,
        PaysimType.CASH_OUT,
        amount,
        customer,
        agent,
        device=context.device(customer),
        agent=agent,
    )


def _cash_in(context: EpisodeContext, customer: int, amount: int, at: int) -> ScriptedEvent:
    agent = context.agent()
    return ScriptedEvent(at, Kind.cash_in, PaysimType.CASH_IN, amount, agent, customer, agent=agent)


def _p2p(
    context: EpisodeContext, sender: int, recipient: int, amount: int, at: int, device: int = -1
) -> ScriptedEvent:
    return ScriptedEvent(
        at,
        Kind.p2p,
        PaysimType.TRANSFER,
        amount,
        sender,
        recipient,
        device=context.device(sender) if device < 0 else device,
    )


def _to_bank(
    context: EpisodeContext, customer: int, amount: int, at: int, device: int = -1
) -> list[ScriptedEvent]:
    """Bank transfers out in chunks the product accepts."""
    bank = int(context.population.home_bank[customer])
    if bank < 0:
        bank = context.population.first_bank + int(
            context.rng.integers(0, context.population.bank_count)
        )
    chunk_max = min(context.limits(customer).per_transaction, behaviour.product_maximum)
    chunk_max -= behaviour.fee_estimates[Kind.bank_out].cap + 10_00
    events: list[ScriptedEvent] = []
    left = amount
    while left >= behaviour.product_minimums[Kind.bank_out] and len(events) < 8:
        chunk = min(left, chunk_max)
        events.append(
            ScriptedEvent(
                at,
                Kind.bank_out,
                PaysimType.TRANSFER,
                chunk,
                customer,
                bank,
                device=context.device(customer) if device < 0 else device,
            )
        )
        left -= chunk
        at += context.gap(2, 10)
    return events


def _spendable(context: EpisodeContext, customer: int, share: float) -> int:
    """What a script may take from a victim: a share of the balance, within the daily limit."""
    limits = context.limits(customer)
    return int(min(context.balance[customer] * share, limits.daily_volume * 0.9))


# -- fraud -------------------------------------------------------------------------------------


def _victim(context: EpisodeContext, balance_min: int) -> int | None:
    """An ordinary customer with money, chosen in proportion to the balance (fraudsters go
    where the money is)."""
    population = context.population
    balances = context.balance[: population.customers]
    eligible = np.flatnonzero(
        (balances >= balance_min) & (population.role[: population.customers] == PartyRole.normal)
    )
    eligible = eligible[~context.busy[eligible]]
    if len(eligible) == 0:
        return None
    weights = balances[eligible].astype(np.float64)
    victim = int(context.rng.choice(eligible, p=weights / weights.sum()))
    context.busy[victim] = True
    return victim


def account_takeover(context: EpisodeContext) -> list[ScriptedEvent]:
    victim = _victim(context, 3_000_00)
    if victim is None:
        return []
    transfers = int(context.rng.integers(2, 5))
    mules = context.pick(PartyRole.mule, transfers)
    if not mules:
        return []
    budget = _spendable(context, victim, context.rng.uniform(0.80, 0.92))
    per_transfer_max = (
        context.limits(victim).per_transaction - behaviour.fee_estimates[Kind.p2p].cap
    )
    shares = context.rng.dirichlet(np.ones(transfers))
    device = context.new_device()
    at = context.local_time(3, 5.5)
    events: list[ScriptedEvent] = []
    for mule, share in zip(mules, shares, strict=True):
        amount = _round_down(min(share * (budget - transfers * 110_00), per_transfer_max), 100_00)
        if amount < 100_00:
            continue
        events.append(_p2p(context, victim, mule, amount, at, device))
        events.append(_cash_out(context, mule, amount, at + context.gap(20, 180)))
        at += context.gap(1, 8)
    return events


def sim_swap(context: EpisodeContext) -> list[ScriptedEvent]:
    victim = _victim(context, 5_000_00)
    if victim is None:
        return []
    mules = context.pick(PartyRole.mule, 1)
    if not mules:
        return []
    budget = _spendable(context, victim, context.rng.uniform(0.85, 0.95))
    device = context.new_device()  # the new SIM in the fraudster's phone
    at = context.local_time(9, 18) + context.gap(10, 60)
    per_transfer_max = (
        context.limits(victim).per_transaction - behaviour.fee_estimates[Kind.p2p].cap
    )
    first = _round_down(min(budget * context.rng.uniform(0.55, 0.70), per_transfer_max), 100_00)
    if first < 500_00:
        return []
    events = [_p2p(context, victim, mules[0], first, at, device)]
    events.append(_cash_out(context, mules[0], first, at + context.gap(15, 90)))
    rest = _round_down(budget - first - 110_00 - 60_00, 100_00)
    events.extend(_to_bank(context, victim, rest, at + context.gap(5, 40), device))
    return events


def merchant_collusion(context: EpisodeContext) -> list[ScriptedEvent]:
    population = context.population
    merchants = population.with_role(PartyRole.colluding_merchant)
    colluders = context.pick(PartyRole.colluding_customer, int(context.rng.integers(2, 5)))
    if len(merchants) == 0 or not colluders:
        return []
    merchant = int(context.rng.choice(merchants))
    events: list[ScriptedEvent] = []
    for colluder in colluders:
        at = context.local_time(19, 23)
        for _ in range(int(context.rng.integers(1, 4))):
            amount = int(context.rng.choice([5_000_00, 10_000_00, 15_000_00, 20_000_00, 25_000_00]))
            events.append(_cash_in(context, colluder, amount, at))
            at += context.gap(5, 45)
            terminal = merchant * behaviour.merchant_terminals_max + int(
                context.rng.integers(0, behaviour.merchant_terminals_max)
            )
            events.append(
                ScriptedEvent(
                    at,
                    Kind.merchant,
                    PaysimType.PAYMENT,
                    amount,
                    colluder,
                    merchant,
                    device=context.device(colluder),
                    terminal=terminal,
                )
            )
            at += context.gap(5, 30)
    return events


def agent_split_deposits(context: EpisodeContext) -> list[ScriptedEvent]:
    population = context.population
    agents = population.with_role(PartyRole.fraudulent_agent)
    if len(agents) == 0:
        return []
    agent = int(context.rng.choice(agents))
    customers = population.customers
    candidates = np.flatnonzero(population.role[:customers] == PartyRole.normal)
    customer = int(context.rng.choice(candidates))
    if context.busy[customer]:
        return []
    headroom = context.limits(customer).max_balance * 0.8 - context.balance[customer]
    total = _round_down(min(context.rng.uniform(5_000_00, 40_000_00), headroom), 100_00)
    if total < 5_000_00:
        return []
    context.busy[customer] = True
    pieces = int(np.clip(-(-total // 2_500_00), 2, 12))
    piece = _round_down(total / pieces)
    at = context.local_time(8, 19)
    events: list[ScriptedEvent] = []
    for index in range(pieces):
        amount = piece if index < pieces - 1 else total - piece * (pieces - 1)
        events.append(
            ScriptedEvent(
                at, Kind.cash_in, PaysimType.CASH_IN, amount, agent, customer, agent=agent
            )
        )
        at += context.gap(0.5, 3)
    return events


# -- laundering --------------------------------------------------------------------------------


def _ring(context: EpisodeContext, count: int) -> list[int]:
    members = context.pick(PartyRole.launderer, count)
    return members


def fan_in(context: EpisodeContext) -> list[ScriptedEvent]:
    sources_count = int(context.rng.integers(4, 9))
    members = _ring(context, sources_count + 1)
    if not members:
        return []
    hub, sources = members[0], members[1:]
    events: list[ScriptedEvent] = []
    total = 0
    start = context.local_time(8, 14)
    for source in sources:
        placed = _round_down(context.rng.uniform(3_000_00, 15_000_00))
        at = start + context.gap(0, 240)
        events.append(_cash_in(context, source, placed, at))
        sent = _round_down(placed * context.rng.uniform(0.90, 0.96))
        events.append(_p2p(context, source, hub, sent, at + context.gap(120, 1_800)))
        total += sent
    last = max(e.time_ns for e in events)
    events.extend(_to_bank(context, hub, _round_down(total * 0.97), last + context.gap(600, 1_800)))
    return events


def fan_out(context: EpisodeContext) -> list[ScriptedEvent]:
    recipients_count = int(context.rng.integers(4, 9))
    members = _ring(context, recipients_count + 1)
    if not members:
        return []
    hub, recipients = members[0], members[1:]
    at = context.local_time(8, 12)
    events: list[ScriptedEvent] = []
    placed = 0
    for _ in range(int(context.rng.integers(2, 5))):
        amount = _round_down(context.rng.uniform(15_000_00, 45_000_00))
        events.append(_cash_in(context, hub, amount, at))
        placed += amount
        at += context.gap(30, 240)
    at += context.gap(600, 1_440)
    shares = context.rng.dirichlet(np.full(recipients_count, 4.0))
    budget = placed * 0.9 - recipients_count * 110_00
    for recipient, share in zip(recipients, shares, strict=True):
        amount = _round_down(budget * share)
        if amount < 500_00:
            continue
        events.append(_p2p(context, hub, recipient, amount, at))
        events.append(_cash_out(context, recipient, amount, at + context.gap(60, 2_000)))
        at += context.gap(2, 30)
    return events


def cycle(context: EpisodeContext) -> list[ScriptedEvent]:
    members = _ring(context, int(context.rng.integers(3, 7)))
    if not members:
        return []
    at = context.local_time(8, 16)
    amount = _round_down(context.rng.uniform(10_000_00, 50_000_00))
    events = [_cash_in(context, members[0], amount, at)]
    for sender, recipient in zip(members, [*members[1:], members[0]], strict=True):
        at += context.gap(120, 720)
        amount = _round_down(amount * context.rng.uniform(0.96, 0.99) - 110_00)
        events.append(_p2p(context, sender, recipient, amount, at))
    events.append(_cash_out(context, members[0], amount, at + context.gap(60, 600)))
    return events


def scatter_gather(context: EpisodeContext) -> list[ScriptedEvent]:
    middle_count = int(context.rng.integers(3, 7))
    members = _ring(context, middle_count + 2)
    if not members:
        return []
    source, sink, middle = members[0], members[1], members[2:]
    at = context.local_time(8, 12)
    placed = 0
    events: list[ScriptedEvent] = []
    for _ in range(int(context.rng.integers(2, 4))):
        amount = _round_down(context.rng.uniform(10_000_00, 30_000_00))
        events.append(_cash_in(context, source, amount, at))
        placed += amount
        at += context.gap(20, 180)
    shares = context.rng.dirichlet(np.full(middle_count, 4.0))
    budget = placed * 0.92 - middle_count * 110_00
    gathered = 0
    for intermediary, share in zip(middle, shares, strict=True):
        amount = _round_down(budget * share)
        if amount < 500_00:
            continue
        at += context.gap(2, 40)
        events.append(_p2p(context, source, intermediary, amount, at))
        forwarded = _round_down(amount * context.rng.uniform(0.93, 0.97) - 110_00)
        events.append(_p2p(context, intermediary, sink, forwarded, at + context.gap(240, 1_600)))
        gathered += forwarded
    last = max(e.time_ns for e in events)
    events.extend(
        _to_bank(context, sink, _round_down(gathered * 0.97), last + context.gap(600, 1_440))
    )
    return events


def structuring(context: EpisodeContext) -> list[ScriptedEvent]:
    population = context.population
    members = [
        int(c)
        for c in population.with_role(PartyRole.launderer)
        if population.kyc_tier[c] == 3 and not context.busy[c]
    ]
    if not members:
        return []
    account = int(context.rng.choice(members))
    context.busy[account] = True
    threshold = simulator_cash_report_amount_min
    at = context.local_time(9, 16)
    events: list[ScriptedEvent] = []
    total = 0
    for _ in range(int(context.rng.integers(3, 7))):
        amount = _round_down(threshold * context.rng.uniform(0.90, 0.995))
        events.append(_cash_in(context, account, amount, at))
        total += amount
        at += context.gap(180, 1_440)  # hours to a day apart, a different agent each time
    events.extend(_to_bank(context, account, _round_down(total * 0.98), at + context.gap(120, 720)))
    return events


Script = Callable[[EpisodeContext], list[ScriptedEvent]]

fraud_scripts: dict[FraudScenario, Script] = {
    FraudScenario.account_takeover: account_takeover,
    FraudScenario.sim_swap: sim_swap,
    FraudScenario.merchant_collusion: merchant_collusion,
    FraudScenario.agent_split_deposits: agent_split_deposits,
}
laundering_scripts: dict[LaunderingTypology, Script] = {
    LaunderingTypology.fan_in: fan_in,
    LaunderingTypology.fan_out: fan_out,
    LaunderingTypology.cycle: cycle,
    LaunderingTypology.scatter_gather: scatter_gather,
    LaunderingTypology.structuring: structuring,
}


def fit_to_horizon(events: list[ScriptedEvent], horizon_end_ns: int) -> list[ScriptedEvent]:
    """Events sorted by time, squeezed (keeping their order) to end before the simulation
    does, so that no episode is cut off half-way."""
    invariant(len(events) <= simulator_episode_events_max, "an episode stays small")
    ordered = sorted(events, key=lambda e: e.time_ns)
    if not ordered or ordered[-1].time_ns < horizon_end_ns - minute_ns:
        return ordered
    first = ordered[0].time_ns
    span = ordered[-1].time_ns - first
    room = max(horizon_end_ns - minute_ns - first, 0)
    squeezed = [
        ScriptedEvent(
            first + (e.time_ns - first) * room // max(span, 1) + index,
            e.kind,
            e.paysim_type,
            e.amount,
            e.source,
            e.destination,
            e.device,
            e.agent,
            e.terminal,
        )
        for index, e in enumerate(ordered)
    ]
    invariant(squeezed[-1].time_ns < horizon_end_ns, "the episode ends inside the simulation")
    return squeezed

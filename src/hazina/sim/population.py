"""Who lives in the simulated economy: customers, merchants, agents, billers, partner banks.

Every party has one id in a single id space, kind by kind: customers first (so a customer's
id is also its index in the per-customer arrays), then merchants, agents, billers, banks,
unregistered phones (P2P to them becomes a voucher) and last the operator.

Customers have an affluence (a standard normal score), an activity rate, a segment (informal
earners deposit cash at agents; salaried customers also get a monthly salary credit from their
bank), a KYC tier, a community (the neighbours, shops and agent near home) and an address book
(the social graph P2P follows). A few parties carry a hidden role: mules, laundering rings,
colluding customers and merchants, fraudulent agents. Roles are labels: the platform never sees
them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import simulator_contacts_max, simulator_customers_max
from hazina.sim import behaviour, calibration
from hazina.sim.behaviour import Segment
from hazina.sim.events import Kind, PartyRole, PaysimType

customers_min = 10  # below this there is no economy to speak of (and no room for rings)
community_size = 100
customers_per_agent = 200
customers_per_merchant = 50
device_id_base = 1_000_000_000

# (name, code, direct debit): utilities and fees are paid as PAYMENT; direct debits (SACCO
# savings, insurance premiums, loan repayments) are PaySim's DEBIT.
billers: tuple[tuple[str, str, bool], ...] = (
    ("Kenya Power", "KPLC", False),
    ("Nairobi Water", "NWSC", False),
    ("Zuku TV", "ZUKU", False),
    ("Shule Fees", "SHULE", False),
    ("Umoja SACCO", "UMOJA", True),
    ("Bima Insurance", "BIMA", True),
    ("Mkopo Loans", "MKOPO", True),
)
banks: tuple[tuple[str, str], ...] = (
    ("Equity", "EQTY"),
    ("KCB", "KCB"),
    ("Co-operative Bank", "COOP"),
    ("NCBA", "NCBA"),
    ("Stanbic", "SBIC"),
)
merchant_categories: tuple[tuple[str, str], ...] = (
    ("Grocers", "5411"),
    ("Cafe", "5812"),
    ("Hardware", "5251"),
    ("Fuel", "5541"),
    ("Chemist", "5912"),
    ("Books", "5942"),
    ("Boutique", "5651"),
    ("Boda", "4121"),
    ("Airtime", "4814"),
    ("Supermarket", "5411"),
)
merchant_owners = (
    "Mama Mboga", "Kibanda", "Jua Kali", "Baraka", "Neema", "Upendo", "Tumaini", "Amani",
    "Faraja", "Zawadi", "Imani", "Jirani",
)  # fmt: skip
first_names = (
    "Wanjiku", "Otieno", "Achieng", "Kamau", "Njeri", "Mwangi", "Akinyi", "Kiptoo", "Wambui",
    "Omondi", "Chebet", "Mutua", "Nyambura", "Kibet", "Awino", "Karanja", "Jepkoech", "Onyango",
    "Muthoni", "Wafula", "Nafula", "Barasa", "Zawadi", "Juma", "Halima", "Hassan", "Amina",
    "Baraka", "Faith", "Brian", "Mercy", "Kevin",
)  # fmt: skip
last_names = (
    "Kamau", "Odhiambo", "Wanjala", "Mutiso", "Kiprono", "Ochieng", "Njoroge", "Wekesa",
    "Mohamed", "Cheruiyot", "Maina", "Owino", "Kariuki", "Rotich", "Nyongesa", "Githinji",
)  # fmt: skip

# KYC tier weights (tiers 0-3) by segment.
_tier_weights = {
    Segment.informal: (0.15, 0.50, 0.33, 0.02),
    Segment.salaried: (0.02, 0.28, 0.60, 0.10),
}


@dataclass(frozen=True, slots=True)
class Population:
    """The parties of one simulation and what drives their behaviour."""

    customers: int
    merchants: int
    agents: int
    biller_count: int
    bank_count: int
    unregistered: int
    communities: int
    segment: NDArray[np.int8]
    affluence: NDArray[np.float64]
    activity: NDArray[np.float64]  # expected activity events per day
    kyc_tier: NDArray[np.int8]
    community: NDArray[np.int64]
    home_agent: NDArray[np.int64]  # party id
    home_bank: NDArray[np.int64]  # party id, -1 when unbanked
    payday: NDArray[np.int8]  # day of the month of the salary credit, 0 when none
    salary: NDArray[np.int64]  # monthly salary credit, minor units
    opening_balance: NDArray[np.int64]
    device: NDArray[np.int64]  # each customer's phone
    contact_offsets: NDArray[np.int64]  # contacts of customer c: contacts[offsets[c]:offsets[c+1]]
    contacts: NDArray[np.int64]
    merchant_cumulative_popularity: NDArray[np.float64]
    mixes: NDArray[np.float64]  # [segment, PaySim type]: each segment's activity mix
    role: NDArray[np.int8]  # per party id: the hidden label
    first_name: NDArray[np.int16]
    last_name: NDArray[np.int16]

    @property
    def first_merchant(self) -> int:
        return self.customers

    @property
    def first_agent(self) -> int:
        return self.first_merchant + self.merchants

    @property
    def first_biller(self) -> int:
        return self.first_agent + self.agents

    @property
    def first_bank(self) -> int:
        return self.first_biller + self.biller_count

    @property
    def first_unregistered(self) -> int:
        return self.first_bank + self.bank_count

    @property
    def operator(self) -> int:
        return self.first_unregistered + self.unregistered

    @property
    def parties(self) -> int:
        return self.operator + 1

    def kind_of(self, party_ids: NDArray[np.int64]) -> NDArray[np.int8]:
        """The `PartyKind` of each id."""
        starts = np.array(
            [
                0,
                self.first_merchant,
                self.first_agent,
                self.first_biller,
                self.first_bank,
                self.first_unregistered,
                self.operator,
            ],
            dtype=np.int64,
        )
        invariant(bool(np.all((party_ids >= 0) & (party_ids < self.parties))), "known parties")
        kinds = (np.searchsorted(starts, party_ids, side="right") - 1).astype(np.int8)
        return kinds

    def direct_debit_billers(self) -> NDArray[np.int64]:
        return self.first_biller + np.array(
            [i for i, (_, _, debit) in enumerate(billers) if debit], dtype=np.int64
        )

    def utility_billers(self) -> NDArray[np.int64]:
        return self.first_biller + np.array(
            [i for i, (_, _, debit) in enumerate(billers) if not debit], dtype=np.int64
        )

    def with_role(self, role: PartyRole) -> NDArray[np.int64]:
        found: NDArray[np.int64] = np.flatnonzero(self.role == role).astype(np.int64)
        return found


def build_population(customers: int, rng: np.random.Generator) -> Population:
    """A seeded population of `customers` customers and the parties they deal with."""
    invariant(customers_min <= customers <= simulator_customers_max, "customers within limits")
    communities = max(1, customers // community_size)
    agents = max(2, -(-customers // customers_per_agent))
    merchants = max(4, customers // customers_per_merchant)
    unregistered = max(5, customers // 20)
    affluence = rng.standard_normal(customers)
    salaried_probability = 1 / (1 + np.exp(-(affluence - 0.85)))  # ~30% overall, the better off
    segment = (rng.random(customers) < salaried_probability).astype(np.int8)
    activity = rng.gamma(
        behaviour.activity_shape,
        behaviour.mean_events_per_day / behaviour.activity_shape,
        customers,
    )
    tier = np.empty(customers, dtype=np.int8)
    for seg, weights in _tier_weights.items():
        selected = segment == seg
        tier[selected] = rng.choice(4, size=int(selected.sum()), p=weights)
    community = rng.integers(0, communities, customers, dtype=np.int64)
    first_agent = customers + merchants
    community_agent = first_agent + (np.arange(communities, dtype=np.int64) * agents) // communities
    home_agent = community_agent[community]
    first_bank = first_agent + agents + len(billers)
    bank_weights = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
    home_bank = np.where(
        segment == Segment.salaried,
        first_bank + rng.choice(len(banks), size=customers, p=bank_weights),
        -1,
    ).astype(np.int64)
    payday = np.where(segment == Segment.salaried, rng.integers(25, 29, customers), 0).astype(
        np.int8
    )

    parties = customers + merchants + agents + len(billers) + len(banks) + unregistered + 1
    role = np.zeros(parties, dtype=np.int8)
    special = rng.permutation(customers)
    counts = (
        (PartyRole.mule, max(4, customers // 300)),
        (PartyRole.launderer, max(10, customers // 100)),
        (PartyRole.colluding_customer, max(2, customers // 300)),
    )
    start = 0
    for party_role, wanted in counts:
        count = min(wanted, customers // 8)  # tiny economies get small rings
        role[special[start : start + count]] = party_role
        start += count
    invariant(start <= customers // 2, "most customers are ordinary")
    colluding = customers + rng.choice(merchants, size=max(1, merchants // 50), replace=False)
    role[colluding] = PartyRole.colluding_merchant
    fraudulent = first_agent + rng.choice(agents, size=max(1, agents // 20), replace=False)
    role[fraudulent] = PartyRole.fraudulent_agent
    customer_role = role[:customers]
    # Rings and mules move money they are given: little ordinary activity, tiers that let
    # the scripted amounts through, and a bank account to take money out.
    for party_role, ring_tier in (
        (PartyRole.mule, 1),
        (PartyRole.launderer, 2),
        (PartyRole.colluding_customer, 2),
    ):
        selected = customer_role == party_role
        tier[selected] = ring_tier
        activity[selected] *= 0.3
    launderers = np.flatnonzero(customer_role == PartyRole.launderer)
    tier[launderers[: max(1, len(launderers) // 4)]] = 3
    home_bank[launderers] = first_bank + rng.integers(0, len(banks), len(launderers))

    mixes = _segment_mixes(segment, activity)
    salary = _salaries(segment, activity, affluence, mixes, rng)
    opening = _opening_balances(segment, activity, affluence, tier, mixes)
    offsets, contacts = _address_books(community, communities, rng)
    popularity = 1.0 / (rng.permutation(merchants) + 1.0) ** 0.8
    cumulative = np.cumsum(popularity) / popularity.sum()
    population = Population(
        customers=customers,
        merchants=merchants,
        agents=agents,
        biller_count=len(billers),
        bank_count=len(banks),
        unregistered=unregistered,
        communities=communities,
        segment=segment,
        affluence=affluence,
        activity=activity,
        kyc_tier=tier,
        community=community,
        home_agent=home_agent,
        home_bank=home_bank,
        payday=payday,
        salary=salary,
        opening_balance=opening,
        device=device_id_base + rng.permutation(customers).astype(np.int64),
        contact_offsets=offsets,
        contacts=contacts,
        merchant_cumulative_popularity=cumulative,
        mixes=mixes,
        role=role,
        first_name=rng.integers(0, len(first_names), customers, dtype=np.int16),
        last_name=rng.integers(0, len(last_names), customers, dtype=np.int16),
    )
    invariant(population.first_bank == first_bank, "the id layout is as computed")
    invariant(bool(np.all(opening > 0)), "every customer starts with some money")
    return population


def _outflow_per_event(segment: Segment, gross: bool = False) -> tuple[float, NDArray[np.float64]]:
    """The mean cash-in amount, and the mean money that leaves the customers (amount plus
    budgeted fee) with one event of each other PaySim type, in minor units. Transfers between
    customers stay among them: of a transfer only the fee leaves, and the amount when it goes
    to a bank or to a phone without a wallet (`gross`: count whole transfers, as the sender
    sees them)."""
    leaving = 1.0 if gross else behaviour.unregistered_share_of_p2p
    if segment is Segment.salaried and not gross:
        banked = behaviour.bank_share_of_transfers_banked
        leaving = banked + (1 - banked) * leaving
    points = (np.arange(20_000, dtype=np.float64) + 0.5) / 20_000
    out = np.zeros(len(PaysimType))
    for paysim_type in PaysimType:
        amounts = calibration.amounts_at(paysim_type, points)
        amount_mean = float(amounts.mean())
        fee_mean = 0.0
        if paysim_type is PaysimType.CASH_OUT:
            fee_mean = float(behaviour.fee_estimate(Kind.cash_out, amounts).mean())
        elif paysim_type is PaysimType.TRANSFER:
            fee_mean = float(behaviour.fee_estimate(Kind.p2p, amounts).mean())
            amount_mean *= leaving
        elif paysim_type is PaysimType.PAYMENT:
            fee_mean = float(behaviour.fee_estimate(Kind.bill, amounts).mean())
            fee_mean *= behaviour.bill_share_of_payments
        elif paysim_type is PaysimType.DEBIT:
            fee_mean = float(behaviour.fee_estimate(Kind.bill, amounts).mean())
        out[paysim_type] = amount_mean + fee_mean
    cash_in = out[PaysimType.CASH_IN]
    out[PaysimType.CASH_IN] = 0.0
    return cash_in, out


def _segment_mixes(segment: NDArray[np.int8], activity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each segment's mix of PaySim types. Informal earners deposit just enough to cover what
    they spend; salaried customers deposit less (their salary covers the rest); weighted by
    activity the two give exactly PaySim's mix."""
    target = calibration.target_mix()
    cash_in_mean, outflow = _outflow_per_event(Segment.informal)
    others = target.copy()
    others[PaysimType.CASH_IN] = 0.0
    others /= others.sum()
    out_per_other = float((others * outflow).sum())
    informal_share = out_per_other / (cash_in_mean + out_per_other)
    informal_activity = float(activity[segment == Segment.informal].sum())
    salaried_activity = float(activity[segment == Segment.salaried].sum())
    wanted = target[PaysimType.CASH_IN] * (informal_activity + salaried_activity)
    if salaried_activity > 0:
        salaried_share = (wanted - informal_share * informal_activity) / salaried_activity
        salaried_share = min(max(salaried_share, 0.02), float(target[PaysimType.CASH_IN]))
    else:
        salaried_share = float(target[PaysimType.CASH_IN])
    if informal_activity > 0 and salaried_activity > 0:
        informal_share = (wanted - salaried_share * salaried_activity) / informal_activity
    mixes = np.zeros((2, len(PaysimType)))
    for seg, share in ((Segment.informal, informal_share), (Segment.salaried, salaried_share)):
        mixes[seg] = others * (1.0 - share)
        mixes[seg, PaysimType.CASH_IN] = share
    invariant(bool(np.allclose(mixes.sum(axis=1), 1.0)), "each mix sums to one")
    return mixes


def _salaries(
    segment: NDArray[np.int8],
    activity: NDArray[np.float64],
    affluence: NDArray[np.float64],
    mixes: NDArray[np.float64],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Monthly salary credits: what salaried customers spend beyond what they deposit, shared
    by activity and affluence, rounded to whole KES 10."""
    cash_in_mean, outflow = _outflow_per_event(Segment.salaried)
    mix = mixes[Segment.salaried]
    deficit_per_event = float((mix * outflow).sum() - mix[PaysimType.CASH_IN] * cash_in_mean)
    salaried = segment == Segment.salaried
    weight = activity * np.exp(0.5 * affluence) * rng.uniform(0.9, 1.1, len(segment))
    weight = np.where(salaried, weight, 0.0)
    pool = 30.44 * deficit_per_event * float(activity[salaried].sum())
    total = float(weight.sum())
    raw = weight * (pool / total) if total > 0 else np.zeros(len(segment))
    salary = (np.rint(raw / 1_000) * 1_000).astype(np.int64)
    invariant(bool(np.all(salary >= 0)), "a salary is not negative")
    return salary


def _opening_balances(
    segment: NDArray[np.int8],
    activity: NDArray[np.float64],
    affluence: NDArray[np.float64],
    tier: NDArray[np.int8],
    mixes: NDArray[np.float64],
) -> NDArray[np.int64]:
    """About two weeks of spending, more for the better off, inside the tier's headroom,
    rounded to whole KES 10 and at least KES 100."""
    spending = np.array(
        [(mixes[seg] * _outflow_per_event(seg, gross=True)[1]).sum() for seg in Segment],
        dtype=np.float64,
    )
    per_event = spending[segment]
    raw = behaviour.opening_balance_days * np.maximum(activity, 0.1) * per_event
    raw = raw * np.exp(0.6 * affluence - 0.18)
    caps = np.array([t.max_balance for t in behaviour.tier_limits], dtype=np.float64)[tier] * 0.6
    opening = (np.rint(np.minimum(raw, caps) / 1_000) * 1_000).astype(np.int64)
    return np.maximum(opening, 100_00)


def _address_books(
    community: NDArray[np.int64], communities: int, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each customer's contacts (CSR): three in four from their own community."""
    customers = len(community)
    degree = np.minimum(2 + rng.poisson(6, customers), min(simulator_contacts_max, customers - 1))
    offsets = np.zeros(customers + 1, dtype=np.int64)
    np.cumsum(degree, out=offsets[1:])
    owner = np.repeat(np.arange(customers, dtype=np.int64), degree)
    members = np.argsort(community, kind="stable").astype(np.int64)
    sizes = np.bincount(community, minlength=communities)
    starts = np.zeros(communities, dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    own = community[owner]
    local = members[starts[own] + (rng.random(len(owner)) * sizes[own]).astype(np.int64)]
    anyone = rng.integers(0, customers, len(owner), dtype=np.int64)
    contacts = np.where(rng.random(len(owner)) < 0.75, local, anyone)
    contacts = np.where(contacts == owner, (contacts + 1) % customers, contacts)
    invariant(bool(np.all(contacts != owner)), "nobody is their own contact")
    return offsets, contacts


def customer_name(population: Population, customer: int) -> str:
    first = first_names[int(population.first_name[customer])]
    last = last_names[int(population.last_name[customer])]
    return f"{first} {last}"


def merchant_category(population: Population, merchant: int) -> tuple[str, str]:
    return merchant_categories[(merchant - population.first_merchant) % len(merchant_categories)]


def merchant_name(population: Population, merchant: int) -> str:
    index = merchant - population.first_merchant
    category, _ = merchant_category(population, merchant)
    owner = merchant_owners[(index // len(merchant_categories)) % len(merchant_owners)]
    return f"{owner} {category} {index + 1:03d}"

"""How simulated people behave: when they transact, what they budget for fees, what they know
of the product (limits, minimums). Plain data and pure functions; amounts in KES cents.

The figures are the simulator's assumptions, not the platform's rules: a customer "knows" the
published KYC limits and tariff minimums and does not try what they forbid, so the driver's
refusals come from what customers cannot foresee (a fee above their estimate, a balance changed
by money moving in parallel). The platform enforces its own rules regardless.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.sim.events import Kind

KES = "KES"
cents_per_kes = 100
seconds_per_day = 86_400
nanoseconds_per_second = 1_000_000_000
nanoseconds_per_day = seconds_per_day * nanoseconds_per_second
utc_offset_hours = 3  # East Africa Time: the intraday profile is local time


class Segment(IntEnum):
    informal = 0  # earns cash, deposits it at agents
    salaried = 1  # paid monthly into a bank account, moves part of it into the wallet


salaried_share = 0.30
mean_events_per_day = 0.8  # customer-initiated transactions per customer per day
activity_shape = 2.0  # gamma shape of per-customer activity: most are light users, a few heavy

# Events per local hour (0-23), relative. Night trough and a morning rise as in PaySim's first
# hourly steps (its steps 3-5 hold ~20% of step 1, step 7 ~12x step 3); lunch and after-work
# peaks of retail payments.
intraday_weights_local: tuple[float, ...] = (
    0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 4.0, 5.5, 6.0, 6.0, 6.0,
    6.5, 6.0, 5.5, 5.5, 6.0, 6.5, 7.0, 6.5, 5.0, 3.5, 2.0, 1.0,
)  # fmt: skip

# Activity by day of week, Monday first (mean 1): busier Friday and Saturday, quiet Sunday.
weekday_factors: tuple[float, ...] = (0.95, 0.95, 0.97, 1.0, 1.12, 1.10, 0.91)

# How PaySim types become Hazina kinds (documented in docs.md).
bill_share_of_payments = 0.20  # PAYMENT: bills (utilities, school fees), the rest merchants
bank_share_of_transfers_banked = 0.08  # TRANSFER by a banked customer: to their bank account
unregistered_share_of_p2p = 0.02  # P2P to a phone without a wallet: a voucher
home_agent_share = 0.80  # cash in and out at the agent near home
local_merchant_share = 0.70  # pay the shops of one's own community


@dataclass(frozen=True, slots=True)
class FeeEstimate:
    """What a customer sets aside for the fee of a kind of payment: flat + basis points of the
    amount, capped. An upper bound of the default tariff's bands over the amounts drawn."""

    flat: int
    basis_points: int
    cap: int


fee_estimates: dict[Kind, FeeEstimate] = {
    Kind.cash_out: FeeEstimate(30_00, 140, 310_00),
    Kind.p2p: FeeEstimate(20_00, 150, 110_00),
    Kind.merchant: FeeEstimate(0, 0, 0),
    Kind.bill: FeeEstimate(5_00, 100, 77_00),
    Kind.bank_out: FeeEstimate(50_00, 0, 50_00),
}
voucher_fee_estimate = FeeEstimate(50_00, 230, 275_00)

# Amounts the product accepts, per kind (the default tariff's bands), in cents.
product_minimums: dict[Kind, int] = {
    Kind.cash_in: 10_00,
    Kind.cash_out: 50_00,
    Kind.p2p: 1_00,
    Kind.merchant: 1_00,
    Kind.bill: 1_00,
    Kind.bank_out: 100_00,
    Kind.bank_in: 10_00,
}
product_maximum = 250_000_00
voucher_minimum = 101_00  # P2P to a phone without a wallet: the voucher tariff's band
voucher_maximum = 35_000_00


@dataclass(frozen=True, slots=True)
class TierLimits:
    max_balance: int
    per_transaction: int
    daily_volume: int
    monthly_volume: int


# The published KYC tier limits (tier 0 to 3) in cents, as customers know them.
tier_limits: tuple[TierLimits, ...] = (
    TierLimits(50_000_00, 20_000_00, 50_000_00, 150_000_00),
    TierLimits(300_000_00, 100_000_00, 150_000_00, 1_000_000_00),
    TierLimits(500_000_00, 250_000_00, 500_000_00, 3_000_000_00),
    TierLimits(5_000_000_00, 1_000_000_00, 5_000_000_00, 50_000_000_00),
)
balance_headroom = 0.95  # customers keep inflows below this share of their maximum balance

opening_balance_days = 14  # an opening balance covers about two weeks of spending
agent_float_target = 400_000_00  # agents top their float up to this...
agent_float_low_water = 150_000_00  # ...at the start of a day that finds it below this
merchant_terminals_max = 4  # tills per merchant


def fee_estimate(kind: Kind, amounts: NDArray[np.int64]) -> NDArray[np.int64]:
    """The fee a customer budgets for each amount of one kind (0 for kinds without a fee)."""
    estimate = fee_estimates.get(kind)
    if estimate is None:
        return np.zeros(len(amounts), dtype=np.int64)
    fees = np.minimum(estimate.cap, estimate.flat + amounts * estimate.basis_points // 10_000)
    invariant(bool(np.all(fees >= 0)), "a fee is never negative")
    return fees.astype(np.int64)


def fee_estimates_by_kind(kinds: NDArray[np.int8], amounts: NDArray[np.int64]) -> NDArray[np.int64]:
    fees = np.zeros(len(amounts), dtype=np.int64)
    for kind in fee_estimates:
        selected = kinds == kind
        if selected.any():
            fees[selected] = fee_estimate(kind, amounts[selected])
    return fees


def utc_hour_weights() -> NDArray[np.float64]:
    """The intraday profile by UTC hour, normalised to sum to 1."""
    local = np.array(intraday_weights_local, dtype=np.float64)
    invariant(len(local) == 24, "one weight per hour")
    by_utc = np.roll(local, -utc_offset_hours)  # UTC hour h is local hour h + 3
    weights: NDArray[np.float64] = by_utc / by_utc.sum()
    return weights


def times_in_day(
    rng: np.random.Generator, day_start_ns: int, count: int, weights: NDArray[np.float64]
) -> NDArray[np.int64]:
    """`count` moments of one UTC day, hours drawn from `weights`, uniform within the hour."""
    hours = np.searchsorted(np.cumsum(weights), rng.random(count), side="right")
    hours = np.minimum(hours, 23)
    within = rng.integers(0, 3_600 * nanoseconds_per_second, count, dtype=np.int64)
    times = day_start_ns + hours.astype(np.int64) * 3_600 * nanoseconds_per_second + within
    invariant(
        bool(np.all((times >= day_start_ns) & (times < day_start_ns + nanoseconds_per_day))),
        "every moment falls inside its day",
    )
    return times

"""Seeded synthetic card payments with labelled fraud, for tests, benchmarks and demos.

Shaped like the Fraud Detection Handbook's simulator on a small scale: each card spends around
its own habitual amount at terminals near home; every other day one terminal is compromised for
two weeks (all its payments are fraud) and one card spends five times its habit on some of its
payments for a week. The same seed gives the same payments.
"""

from __future__ import annotations

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.risk.data import LabelledPayments

day_s = 86_400
start_s = 1_522_540_800  # 2018-04-01, as the handbook's data


def synthetic_payments(customers: int, days: int, seed: int) -> LabelledPayments:
    """Card payments shaped like the handbook's: habitual amounts, terminals near home, a
    few terminals compromised for two weeks and a few cards spending five times their habit."""
    invariant(customers >= 1 and days >= 1, "at least one card and one day")
    rng = np.random.default_rng(seed)
    terminals = max(customers * 2, 10)
    habit = rng.uniform(500, 10_000, customers)
    rate = rng.uniform(0.5, 4.0, customers)
    counts = rng.poisson(rate * days)
    owner = np.repeat(np.arange(customers), counts)
    size = len(owner)
    timestamps = np.sort(rng.integers(0, days * day_s, size)) + start_s
    owner = rng.permutation(owner)
    terminal = (owner * 7 + rng.integers(0, 20, size)) % terminals
    amounts = np.maximum(rng.normal(habit[owner], habit[owner] / 2), 1).astype(np.int64)
    fraud = np.zeros(size, dtype=np.int8)
    day = (timestamps - timestamps[0]) // day_s
    for start in range(0, days, 2):
        bad_terminal = rng.integers(0, terminals)
        fraud[(terminal == bad_terminal) & (day >= start) & (day < start + 14)] = 1
        bad_card = rng.integers(0, customers)
        chosen = (owner == bad_card) & (day >= start) & (day < start + 7)
        chosen &= rng.random(size) < 0.4
        amounts[chosen] *= 5
        fraud[chosen] = 1
    return LabelledPayments(
        transaction_ids=np.arange(size, dtype=np.int64),
        timestamps_s=timestamps.astype(np.int64),
        customers=owner.astype(np.int64),
        amounts_minor=amounts,
        is_fraud=fraud,
        counterparties=terminal.astype(np.int64),
        agents=None,
        devices=None,
        balances_before_minor=None,
        description=f"synthetic card payments, seed {seed}",
        fingerprint="synthetic",
    )

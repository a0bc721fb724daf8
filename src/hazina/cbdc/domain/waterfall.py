"""The holding-limit waterfall: how much of an inflow a wallet keeps and how much is swept.

A wallet may hold at most its tier's limit. An inflow that would take it over keeps what fits
and sweeps the rest to the wallet's linked bank (its distributing participant), in the same
linked chain as the inflow, so the holder is paid in full and never holds more than the limit.
A wallet with no bank to sweep to refuses the inflow instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from hazina.kernel.invariant import invariant


@dataclass(frozen=True, slots=True)
class Split:
    kept: int  # stays in the wallet
    swept: int  # goes on to the linked bank account


def split_inflow(balance: int, amount: int, holding_max: int) -> Split:
    """Split `amount` arriving in a wallet holding `balance` under a limit of `holding_max`."""
    invariant(amount > 0, "an inflow moves money")
    invariant(balance >= 0, "a wallet is never overdrawn")
    room = max(0, holding_max - balance)
    kept = min(amount, room)
    split = Split(kept, amount - kept)
    invariant(split.kept + split.swept == amount, "the whole inflow is placed")
    invariant(balance + split.kept <= max(balance, holding_max), "the limit is respected")
    return split

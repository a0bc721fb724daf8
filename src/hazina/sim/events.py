"""Simulated events as columns: one numpy array per field, one row per transaction.

The generator builds a day's events as an `EventBatch`; the Parquet writer and the platform
driver read the same batches. Codes are small integers (enums below); -1 means "none" in the
optional columns (device, agent, terminal, scenario, typology, episode, PaySim type).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant

none_code = -1


class PaysimType(IntEnum):
    """PaySim's transaction types; the Parquet column holds the upper-case names."""

    CASH_IN = 0
    CASH_OUT = 1
    DEBIT = 2
    PAYMENT = 3
    TRANSFER = 4


class Kind(IntEnum):
    """What the event is on Hazina: which `PaymentsService` call carries it."""

    cash_in = 0  # agent -> customer
    cash_out = 1  # customer -> agent
    p2p = 2  # customer -> customer (or an unregistered phone: a voucher)
    merchant = 3  # customer -> merchant
    bill = 4  # customer -> biller
    bank_out = 5  # customer -> partner bank
    bank_in = 6  # partner bank -> customer
    float_purchase = 7  # operator -> agent (e-float bought against a bank deposit)


class Flow(IntEnum):
    """Why an event exists. Only `activity` rows are PaySim-like; they carry a PaySim type and
    are what the calibration measures. Fraud and laundering rows are `activity` too: this
    column says nothing about labels."""

    activity = 0  # what customers do: the calibrated stream
    opening = 1  # the opening balance of a customer, deposited before the first day
    income = 2  # a salary credit from the employer's bank (no PaySim counterpart)
    float = 3  # an agent buys e-float


class FraudScenario(IntEnum):
    account_takeover = 0
    sim_swap = 1
    merchant_collusion = 2
    agent_split_deposits = 3


class LaunderingTypology(IntEnum):
    fan_in = 0
    fan_out = 1
    cycle = 2
    scatter_gather = 3
    structuring = 4


class PartyKind(IntEnum):
    """The kinds of party in the simulated economy (the platform's, plus phones that are not
    registered: P2P to them becomes a voucher)."""

    customer = 0
    merchant = 1
    agent = 2
    biller = 3
    bank = 4
    unregistered = 5
    operator = 6


class PartyRole(IntEnum):
    """A party's hidden label: who is in on the misbehaviour."""

    normal = 0
    mule = 1  # receives and cashes out stolen money
    launderer = 2  # member of a laundering ring
    colluding_customer = 3
    colluding_merchant = 4
    fraudulent_agent = 5


Int64Array = NDArray[np.int64]
Int8Array = NDArray[np.int8]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events as parallel columns. `protected` is the generator's own mark (scripted events
    that the affordability passes must not drop); it is never written out."""

    time_ns: Int64Array
    paysim_type: Int8Array
    kind: Int8Array
    flow: Int8Array
    amount: Int64Array  # minor units of the simulation's currency
    source: Int64Array  # party ids
    destination: Int64Array
    device: Int64Array
    agent: Int64Array
    terminal: Int64Array
    is_fraud: BoolArray
    fraud_scenario: Int8Array
    is_laundering: BoolArray
    laundering_typology: Int8Array
    episode: Int64Array
    protected: BoolArray

    def __post_init__(self) -> None:
        size = len(self.time_ns)
        for field in fields(self):
            invariant(len(getattr(self, field.name)) == size, f"column {field.name} is aligned")

    def __len__(self) -> int:
        return len(self.time_ns)

    def take(self, index: NDArray[np.int64] | BoolArray) -> EventBatch:
        """The rows at `index` (positions or a mask), in that order."""
        return EventBatch(*(getattr(self, field.name)[index] for field in fields(self)))


_dtypes: dict[str, type[np.generic]] = {
    "time_ns": np.int64,
    "paysim_type": np.int8,
    "kind": np.int8,
    "flow": np.int8,
    "amount": np.int64,
    "source": np.int64,
    "destination": np.int64,
    "device": np.int64,
    "agent": np.int64,
    "terminal": np.int64,
    "is_fraud": np.bool_,
    "fraud_scenario": np.int8,
    "is_laundering": np.bool_,
    "laundering_typology": np.int8,
    "episode": np.int64,
    "protected": np.bool_,
}
column_names = tuple(_dtypes)


def empty_batch() -> EventBatch:
    return EventBatch(*(np.zeros(0, dtype=dtype) for dtype in _dtypes.values()))


def concatenate(batches: Sequence[EventBatch]) -> EventBatch:
    if not batches:
        return empty_batch()
    joined = EventBatch(
        *(np.concatenate([getattr(b, name) for b in batches]) for name in column_names)
    )
    invariant(len(joined) == sum(len(b) for b in batches), "concatenation keeps every row")
    return joined


def make_batch(
    *,
    time_ns: Int64Array,
    kind: Int8Array | int,
    flow: int,
    amount: Int64Array,
    source: Int64Array,
    destination: Int64Array,
    paysim_type: Int8Array | int = none_code,
    device: Int64Array | int = none_code,
    agent: Int64Array | int = none_code,
    terminal: Int64Array | int = none_code,
    protected: bool = False,
) -> EventBatch:
    """A batch of unlabelled events; scalars are broadcast to every row."""
    size = len(time_ns)

    def column(value: NDArray[Any] | int | bool, name: str) -> NDArray[Any]:
        dtype = _dtypes[name]
        if isinstance(value, np.ndarray):
            invariant(len(value) == size, f"column {name} has one value per event")
            return value.astype(dtype, copy=False)
        return np.full(size, value, dtype=dtype)

    batch = EventBatch(
        column(time_ns, "time_ns"),
        column(paysim_type, "paysim_type"),
        column(kind, "kind"),
        column(flow, "flow"),
        column(amount, "amount"),
        column(source, "source"),
        column(destination, "destination"),
        column(device, "device"),
        column(agent, "agent"),
        column(terminal, "terminal"),
        np.zeros(size, dtype=np.bool_),
        np.full(size, none_code, dtype=np.int8),
        np.zeros(size, dtype=np.bool_),
        np.full(size, none_code, dtype=np.int8),
        np.full(size, none_code, dtype=np.int64),
        column(protected, "protected"),
    )
    invariant(not batch.is_fraud.any() and not batch.is_laundering.any(), "unlabelled")
    return batch


@dataclass(frozen=True, slots=True)
class ScriptedEvent:
    """One event of a fraud or laundering episode, as the episode builders write them."""

    time_ns: int
    kind: Kind
    paysim_type: PaysimType
    amount: int
    source: int
    destination: int
    device: int = none_code
    agent: int = none_code
    terminal: int = none_code


def scripted_batch(
    events: Sequence[ScriptedEvent],
    episode: int,
    *,
    fraud: FraudScenario | None = None,
    laundering: LaunderingTypology | None = None,
) -> EventBatch:
    """An episode's events as a protected, labelled batch."""
    invariant((fraud is None) != (laundering is None), "an episode is fraud or laundering")
    for event in events:
        invariant(event.amount > 0, "a scripted event moves a positive amount")
    size = len(events)
    batch = EventBatch(
        np.array([e.time_ns for e in events], dtype=np.int64),
        np.array([int(e.paysim_type) for e in events], dtype=np.int8),
        np.array([int(e.kind) for e in events], dtype=np.int8),
        np.full(size, int(Flow.activity), dtype=np.int8),
        np.array([e.amount for e in events], dtype=np.int64),
        np.array([e.source for e in events], dtype=np.int64),
        np.array([e.destination for e in events], dtype=np.int64),
        np.array([e.device for e in events], dtype=np.int64),
        np.array([e.agent for e in events], dtype=np.int64),
        np.array([e.terminal for e in events], dtype=np.int64),
        np.full(size, fraud is not None, dtype=np.bool_),
        np.full(size, none_code if fraud is None else int(fraud), dtype=np.int8),
        np.full(size, laundering is not None, dtype=np.bool_),
        np.full(size, none_code if laundering is None else int(laundering), dtype=np.int8),
        np.full(size, episode, dtype=np.int64),
        np.ones(size, dtype=np.bool_),
    )
    return batch

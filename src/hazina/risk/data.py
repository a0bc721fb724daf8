"""Labelled payments as columns, read from the datasets the fraud models are trained on.

Three layouts are read:
- the Fraud Detection Handbook's card transactions (`TX_DATETIME`, `CUSTOMER_ID`,
  `TERMINAL_ID`, `TX_AMOUNT`, `TX_FRAUD`; `TX_FRAUD_SCENARIO` says how the simulator made a
  fraud and is never read, so it cannot become a feature);
- Hazina's own event table (`timestamp_s`, `customer`, `amount_minor`, and optionally
  `counterparty`, `agent`, `device`, `balance_before_minor`; `is_fraud`), as Parquet or CSV,
  which is what the economy simulator writes;
- PaySim mobile-money CSV (`step`, `amount`, `nameOrig`, `oldbalanceOrg`, `nameDest`, `isFraud`;
  only the balance *before* the payment is used: the balances after leak the label).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from hazina.kernel.invariant import invariant
from hazina.risk.features.events import FeatureConfig, PaymentEvent, Role, seconds_per_hour

IntegerArray = npt.NDArray[np.int64]
Column = npt.NDArray[np.generic]
hash_chunk_bytes = 1 << 20


class DatasetFormatError(ValueError):
    """A dataset file whose columns match none of the layouts this module reads."""


@dataclass(frozen=True, slots=True)
class LabelledPayments:
    """Payments in time order, one array per column; absent party columns are `None`."""

    transaction_ids: IntegerArray
    timestamps_s: IntegerArray
    customers: npt.NDArray[np.generic]
    amounts_minor: IntegerArray
    is_fraud: npt.NDArray[np.int8]
    counterparties: npt.NDArray[np.generic] | None
    agents: npt.NDArray[np.generic] | None
    devices: npt.NDArray[np.generic] | None
    balances_before_minor: IntegerArray | None
    description: str
    fingerprint: str  # SHA-256 of the file the payments were read from

    def __post_init__(self) -> None:
        size = len(self.timestamps_s)
        for column in (self.transaction_ids, self.customers, self.amounts_minor, self.is_fraud):
            invariant(len(column) == size, "every column has one value per payment")
        for optional in (self.counterparties, self.agents, self.devices):
            invariant(optional is None or len(optional) == size, "party columns match")
        invariant(size == 0 or bool(np.all(np.diff(self.timestamps_s) >= 0)), "time ordered")

    def __len__(self) -> int:
        return len(self.timestamps_s)

    def feature_config(self, label_delay_s: int | None = None) -> FeatureConfig:
        """The feature config that fits the parties these payments carry."""
        roles = tuple(
            role
            for role, column in (
                (Role.counterparty, self.counterparties),
                (Role.agent, self.agents),
                (Role.device, self.devices),
            )
            if column is not None
        )
        if label_delay_s is None:
            return FeatureConfig(roles=roles, balance=self.balances_before_minor is not None)
        return FeatureConfig(
            roles=roles, balance=self.balances_before_minor is not None, label_delay_s=label_delay_s
        )

    def events(self) -> Iterator[PaymentEvent]:
        """The payments as engine events, in time order."""
        size = len(self)
        nothing = [None] * size
        counterparties = _python_list(self.counterparties, nothing)
        agents = _python_list(self.agents, nothing)
        devices = _python_list(self.devices, nothing)
        balances = _python_list(self.balances_before_minor, nothing)
        for timestamp_s, customer, amount, counterparty, agent, device, balance in zip(
            self.timestamps_s.tolist(),
            self.customers.tolist(),
            self.amounts_minor.tolist(),
            counterparties,
            agents,
            devices,
            balances,
            strict=True,
        ):
            yield PaymentEvent(
                timestamp_s=timestamp_s,
                customer=customer,
                amount_minor=amount,
                counterparty=counterparty,
                agent=agent,
                device=device,
                balance_before_minor=balance,
            )

    def subset(self, rows: npt.NDArray[np.bool_], description: str) -> LabelledPayments:
        """The payments where `rows` is true, in the same order."""
        invariant(len(rows) == len(self), "one flag per payment")
        return LabelledPayments(
            transaction_ids=self.transaction_ids[rows],
            timestamps_s=self.timestamps_s[rows],
            customers=self.customers[rows],
            amounts_minor=self.amounts_minor[rows],
            is_fraud=self.is_fraud[rows],
            counterparties=_take_rows(self.counterparties, rows),
            agents=_take_rows(self.agents, rows),
            devices=_take_rows(self.devices, rows),
            balances_before_minor=(
                None if self.balances_before_minor is None else self.balances_before_minor[rows]
            ),
            description=description,
            fingerprint=self.fingerprint,
        )

    def days(self) -> IntegerArray:
        """Whole days since the first payment's midnight (the handbook's `TX_TIME_DAYS`)."""
        days = self.timestamps_s // 86_400
        return days - days.min() if len(days) else days


def _take_rows(column: Column | None, rows: npt.NDArray[np.bool_]) -> Column | None:
    return None if column is None else column[rows]


def _python_list(column: Column | None, nothing: Sequence[None]) -> Sequence[object]:
    return nothing if column is None else list(column.tolist())


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes, so a model names exactly the data it was trained on."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(hash_chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def read_table(path: Path) -> pa.Table:
    if path.suffix.lower() == ".csv":
        return pa_csv.read_csv(path)
    return pq.read_table(path)


def load_payments(path: Path) -> LabelledPayments:
    """Read any of the three layouts, sorted by time (ties keep file order)."""
    table = read_table(path)
    columns = set(table.column_names)
    fingerprint = file_fingerprint(path)
    if {"TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"} <= columns:
        return _handbook(table, path, fingerprint)
    if {"timestamp_s", "customer", "amount_minor", "is_fraud"} <= columns:
        return _events(table, path, fingerprint)
    if {"step", "amount", "nameOrig", "oldbalanceOrg", "nameDest", "isFraud"} <= columns:
        return _paysim(table, path, fingerprint)
    if {"timestamp", "amount_minor", "source_id", "source_kind", "label_is_fraud"} <= columns:
        return _simulator(table, path, fingerprint)
    raise DatasetFormatError(
        f"{path}: columns {sorted(columns)} match no known layout (handbook card transactions,"
        " Hazina events with timestamp_s/customer/amount_minor/is_fraud, the simulator's"
        " transactions.parquet, or PaySim)"
    )


def _integers(table: pa.Table, name: str) -> IntegerArray:
    return np.asarray(table.column(name).to_numpy(), dtype=np.int64)


def _cents(table: pa.Table, name: str) -> IntegerArray:
    return np.asarray(np.rint(table.column(name).to_numpy() * 100.0), dtype=np.int64)


def _take(column: Column | None, order: IntegerArray) -> Column | None:
    return None if column is None else column[order]


def _optional(table: pa.Table, name: str) -> npt.NDArray[np.generic] | None:
    """A party column as int64 when the file stores integers, else as Python strings."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    if pa.types.is_integer(column.type):
        if column.null_count:
            # Missing parties (no agent on a P2P payment) stay None: as int64 they would all
            # become one party, -2**63.
            return np.asarray(column.to_pylist(), dtype=object)
        return np.asarray(column.to_numpy(), dtype=np.int64)
    strings = pc.cast(column, pa.string()).to_numpy(zero_copy_only=False)
    return np.asarray(strings, dtype=object)


def _required(table: pa.Table, name: str) -> npt.NDArray[np.generic]:
    column = _optional(table, name)
    if column is None:
        raise DatasetFormatError(f"column {name} is missing")
    return column


def _handbook(table: pa.Table, path: Path, fingerprint: str) -> LabelledPayments:
    stamps = table.column("TX_DATETIME").cast(pa.timestamp("s")).cast(pa.int64())
    timestamps = np.asarray(stamps.to_numpy(), dtype=np.int64)
    order = np.argsort(timestamps, kind="stable")
    ids = (
        _integers(table, "TRANSACTION_ID")
        if "TRANSACTION_ID" in table.column_names
        else np.arange(len(timestamps), dtype=np.int64)
    )
    return LabelledPayments(
        transaction_ids=ids[order],
        timestamps_s=timestamps[order],
        customers=_required(table, "CUSTOMER_ID")[order],
        amounts_minor=_cents(table, "TX_AMOUNT")[order],
        is_fraud=np.asarray(table.column("TX_FRAUD").to_numpy(), dtype=np.int8)[order],
        counterparties=_required(table, "TERMINAL_ID")[order],
        agents=None,
        devices=None,
        balances_before_minor=None,
        description=f"fraud handbook card transactions {path.name}",
        fingerprint=fingerprint,
    )


def _events(table: pa.Table, path: Path, fingerprint: str) -> LabelledPayments:
    timestamps = _integers(table, "timestamp_s")
    order = np.argsort(timestamps, kind="stable")
    ids = (
        _integers(table, "transaction_id")
        if "transaction_id" in table.column_names
        else np.arange(len(timestamps), dtype=np.int64)
    )
    balances = (
        _integers(table, "balance_before_minor")[order]
        if "balance_before_minor" in table.column_names
        else None
    )
    return LabelledPayments(
        transaction_ids=ids[order],
        timestamps_s=timestamps[order],
        customers=_required(table, "customer")[order],
        amounts_minor=_integers(table, "amount_minor")[order],
        is_fraud=np.asarray(table.column("is_fraud").to_numpy(), dtype=np.int8)[order],
        counterparties=_take(_optional(table, "counterparty"), order),
        agents=_take(_optional(table, "agent"), order),
        devices=_take(_optional(table, "device"), order),
        balances_before_minor=balances,
        description=f"hazina payment events {path.name}",
        fingerprint=fingerprint,
    )


def _paysim(table: pa.Table, path: Path, fingerprint: str) -> LabelledPayments:
    # A PaySim step is one hour of simulated time, counted from 1.
    timestamps = (_integers(table, "step") - 1) * seconds_per_hour
    order = np.argsort(timestamps, kind="stable")
    return LabelledPayments(
        transaction_ids=np.arange(len(timestamps), dtype=np.int64)[order],
        timestamps_s=timestamps[order],
        customers=_required(table, "nameOrig")[order],
        amounts_minor=_cents(table, "amount")[order],
        is_fraud=np.asarray(table.column("isFraud").to_numpy(), dtype=np.int8)[order],
        counterparties=_required(table, "nameDest")[order],
        agents=None,
        devices=None,
        balances_before_minor=_cents(table, "oldbalanceOrg")[order],
        description=f"PaySim mobile money {path.name}",
        fingerprint=fingerprint,
    )


def _simulator(table: pa.Table, path: Path, fingerprint: str) -> LabelledPayments:
    """`hazina simulate --to-parquet`: the payments customers send (the ones screened), with
    the payee as counterparty, the cash agent and the phone; only `label_is_fraud` is read."""
    sent = pc.equal(pc.cast(table.column("source_kind"), pa.string()), "customer")
    table = table.filter(sent)
    stamps = table.column("timestamp").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    timestamps = np.asarray(stamps.to_numpy(), dtype=np.int64) // 1_000_000_000
    order = np.argsort(timestamps, kind="stable")
    is_fraud = np.asarray(table.column("label_is_fraud").to_numpy(zero_copy_only=False))
    return LabelledPayments(
        transaction_ids=_integers(table, "transaction_id")[order],
        timestamps_s=timestamps[order],
        customers=_required(table, "source_id")[order],
        amounts_minor=_integers(table, "amount_minor")[order],
        is_fraud=is_fraud.astype(np.int8)[order],
        counterparties=_take(_nullable(table, "destination_id"), order),
        agents=_take(_nullable(table, "agent_id"), order),
        devices=_take(_nullable(table, "device_id"), order),
        balances_before_minor=None,
        description=f"hazina simulator {path.parent.name}/{path.name}",
        fingerprint=fingerprint,
    )


def _nullable(table: pa.Table, name: str) -> Column | None:
    """An integer party column with nulls (no agent on a P2P payment) as Python objects."""
    if name not in table.column_names:
        return None
    return np.asarray(table.column(name).to_pylist(), dtype=object)


def write_events(payments: LabelledPayments, path: Path) -> None:
    """Write payments in Hazina's event layout (Parquet, or CSV for a `.csv` path)."""
    columns: dict[str, object] = {
        "transaction_id": payments.transaction_ids,
        "timestamp_s": payments.timestamps_s,
        "customer": payments.customers,
        "amount_minor": payments.amounts_minor,
        "is_fraud": payments.is_fraud,
    }
    optional = {
        "counterparty": payments.counterparties,
        "agent": payments.agents,
        "device": payments.devices,
        "balance_before_minor": payments.balances_before_minor,
    }
    columns.update({name: column for name, column in optional.items() if column is not None})
    table = pa.table(columns)
    if path.suffix.lower() == ".csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path)

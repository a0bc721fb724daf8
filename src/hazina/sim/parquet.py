"""The simulator's dataset: `transactions.parquet` and `parties.parquet`, written with pyarrow.

One row per simulated transaction, in time order, with its labels in the same file in columns
named `label_*`: a model's features are every other column, its targets those. The platform's
risk engine never sees this file (the driver hands the platform only what a payment request
carries). `parties.parquet` describes each party, its hidden role in `label_role`.

Same configuration, same bytes: row groups are cut at day boundaries up to a fixed size, the
dictionaries are the full enum names in a fixed order, and the metadata holds the
configuration, never a wall-clock time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import simulator_parquet_row_group_max
from hazina.sim import calibration
from hazina.sim.behaviour import Segment, nanoseconds_per_second
from hazina.sim.events import (
    EventBatch,
    Flow,
    FraudScenario,
    Kind,
    LaunderingTypology,
    PartyKind,
    PartyRole,
    PaysimType,
)
from hazina.sim.generator import Day, Simulation, SimulationConfig
from hazina.sim.population import Population

TRANSACTIONS_FILE = "transactions.parquet"
PARTIES_FILE = "parties.parquet"
_hour_ns = 3_600 * nanoseconds_per_second
_format_version = "1"


def _dictionary_type() -> pa.DataType:
    return pa.dictionary(pa.int8(), pa.string())


def _names(enum: type[IntEnum]) -> pa.Array:
    members = list(enum)
    invariant([int(m) for m in members] == list(range(len(members))), "codes are 0..n-1")
    return pa.array([m.name for m in members], type=pa.string())


TRANSACTION_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.int64(), nullable=False),
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("step", pa.int32(), nullable=False),  # hour of the simulation, from 1 (PaySim)
        pa.field("paysim_type", _dictionary_type()),  # null: not a PaySim-like transaction
        pa.field("kind", _dictionary_type(), nullable=False),
        pa.field("flow", _dictionary_type(), nullable=False),
        pa.field("amount_minor", pa.int64(), nullable=False),
        pa.field("currency", _dictionary_type(), nullable=False),
        pa.field("source_id", pa.int64(), nullable=False),
        pa.field("source_kind", _dictionary_type(), nullable=False),
        pa.field("destination_id", pa.int64(), nullable=False),
        pa.field("destination_kind", _dictionary_type(), nullable=False),
        pa.field("device_id", pa.int64()),
        pa.field("agent_id", pa.int64()),
        pa.field("terminal_id", pa.int64()),
        pa.field("label_is_fraud", pa.bool_(), nullable=False),
        pa.field("label_fraud_scenario", _dictionary_type()),
        pa.field("label_is_laundering", pa.bool_(), nullable=False),
        pa.field("label_laundering_typology", _dictionary_type()),
        pa.field("label_episode_id", pa.int64()),
    ]
)

PARTY_SCHEMA = pa.schema(
    [
        pa.field("party_id", pa.int64(), nullable=False),
        pa.field("kind", _dictionary_type(), nullable=False),
        pa.field("segment", _dictionary_type()),
        pa.field("kyc_tier", pa.int8()),
        pa.field("community", pa.int64()),
        pa.field("home_agent_id", pa.int64()),
        pa.field("home_bank_id", pa.int64()),
        pa.field("device_id", pa.int64()),
        pa.field("label_role", _dictionary_type(), nullable=False),
    ]
)


def _coded(codes: NDArray[np.int8], enum: type[IntEnum]) -> pa.Array:
    """A dictionary column from enum codes; -1 becomes null."""
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes).astype(np.int8), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, _names(enum))


def _optional(values: NDArray[np.int64]) -> pa.Array:
    return pa.array(values, type=pa.int64(), mask=values < 0)


def _currency(size: int, code: str) -> pa.Array:
    indices = pa.array(np.zeros(size, dtype=np.int8))
    return pa.DictionaryArray.from_arrays(indices, pa.array([code], type=pa.string()))


def transactions_table(
    events: EventBatch,
    population: Population,
    first_id: int,
    start_ns: int,
    currency_code: str,
) -> pa.Table:
    """One day's events as a table of `TRANSACTION_SCHEMA`."""
    size = len(events)
    columns = [
        pa.array(np.arange(first_id, first_id + size, dtype=np.int64)),
        pa.array(events.time_ns, type=pa.timestamp("ns", tz="UTC")),
        pa.array(((events.time_ns - start_ns) // _hour_ns + 1).astype(np.int32)),
        _coded(events.paysim_type, PaysimType),
        _coded(events.kind, Kind),
        _coded(events.flow, Flow),
        pa.array(events.amount, type=pa.int64()),
        _currency(size, currency_code),
        pa.array(events.source, type=pa.int64()),
        _coded(population.kind_of(events.source), PartyKind),
        pa.array(events.destination, type=pa.int64()),
        _coded(population.kind_of(events.destination), PartyKind),
        _optional(events.device),
        _optional(events.agent),
        _optional(events.terminal),
        pa.array(events.is_fraud, type=pa.bool_()),
        _coded(events.fraud_scenario, FraudScenario),
        pa.array(events.is_laundering, type=pa.bool_()),
        _coded(events.laundering_typology, LaunderingTypology),
        _optional(events.episode),
    ]
    table = pa.Table.from_arrays(columns, schema=TRANSACTION_SCHEMA)
    invariant(table.num_rows == size, "one row per event")
    return table


def parties_table(population: Population) -> pa.Table:
    """Every party of the population, with its hidden role."""
    parties = population.parties
    customers = population.customers
    ids = np.arange(parties, dtype=np.int64)

    def per_customer(values: NDArray[np.int64]) -> NDArray[np.int64]:
        padded = np.full(parties, -1, dtype=np.int64)
        padded[:customers] = values
        return padded

    segment = np.full(parties, -1, dtype=np.int8)
    segment[:customers] = population.segment
    tier = np.full(parties, -1, dtype=np.int8)
    tier[:customers] = population.kyc_tier
    columns = [
        pa.array(ids),
        _coded(population.kind_of(ids), PartyKind),
        _coded(segment, Segment),
        pa.array(tier, type=pa.int8(), mask=tier < 0),
        _optional(per_customer(population.community)),
        _optional(per_customer(population.home_agent)),
        _optional(per_customer(population.home_bank)),
        _optional(per_customer(population.device)),
        _coded(population.role, PartyRole),
    ]
    return pa.Table.from_arrays(columns, schema=PARTY_SCHEMA)


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    rows: int
    activity_rows: int
    fraud_rows: int
    laundering_rows: int
    episodes: dict[str, int]
    dropped_by_reason: dict[str, int]
    checks: tuple[calibration.Check, ...]
    transactions_path: Path
    parties_path: Path


def _metadata(config: SimulationConfig) -> dict[bytes, bytes]:
    description = {
        "generator": "hazina.sim",
        "format_version": _format_version,
        "config": asdict(config),
        "calibration": "PaySim (Lopez-Rojas et al. 2016), first 19,999 rows; see docs/simulator.md",
        "labels": "columns named label_*; never shown to the platform",
        "amounts": "amount_minor: integer minor units of `currency`",
    }
    return {b"hazina.sim": json.dumps(description, sort_keys=True).encode()}


def write_dataset(
    config: SimulationConfig,
    directory: Path,
    on_day: Callable[[Day], None] | None = None,
) -> DatasetSummary:
    """Simulate and write `transactions.parquet` and `parties.parquet` under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    simulation = Simulation(config)
    population = simulation.population
    transactions_path = directory / TRANSACTIONS_FILE
    parties_path = directory / PARTIES_FILE
    schema = TRANSACTION_SCHEMA.with_metadata(_metadata(config))
    rows = activity_rows = fraud_rows = laundering_rows = 0
    measured_types: list[NDArray[np.int8]] = []
    measured_amounts: list[NDArray[np.int64]] = []
    pending: list[pa.Table] = []
    pending_rows = 0
    with pq.ParquetWriter(
        transactions_path, schema, compression="zstd", store_schema=True
    ) as writer:

        def flush() -> None:
            nonlocal pending, pending_rows
            if pending:
                table = pa.concat_tables(pending).replace_schema_metadata(schema.metadata)
                writer.write_table(table, row_group_size=simulator_parquet_row_group_max)
            pending, pending_rows = [], 0

        for day in simulation.days():
            events = day.events
            table = transactions_table(events, population, rows, config.start_ns, config.currency)
            if pending_rows + table.num_rows > simulator_parquet_row_group_max:
                flush()
            pending.append(table)
            pending_rows += table.num_rows
            rows += len(events)
            activity = events.flow == Flow.activity
            activity_rows += int(activity.sum())
            fraud_rows += int(events.is_fraud.sum())
            laundering_rows += int(events.is_laundering.sum())
            measured_types.append(events.paysim_type[activity])
            measured_amounts.append(events.amount[activity])
            if on_day is not None:
                on_day(day)
        flush()
    pq.write_table(parties_table(population), parties_path, compression="zstd")
    checks = calibration.measure(np.concatenate(measured_types), np.concatenate(measured_amounts))
    statistics = simulation.statistics
    return DatasetSummary(
        rows,
        activity_rows,
        fraud_rows,
        laundering_rows,
        dict(sorted(statistics.episodes.items())),
        dict(sorted(statistics.dropped_by_reason.items())),
        checks,
        transactions_path,
        parties_path,
    )


def read_transactions(directory: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a written dataset's transactions back (all columns unless named)."""
    return pq.read_table(directory / TRANSACTIONS_FILE, columns=list(columns) if columns else None)

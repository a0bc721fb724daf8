"""The dataset: byte-identical for a seed, typed columns, labels apart, parties beside."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from hazina.sim.generator import SimulationConfig
from hazina.sim.parquet import (
    PARTIES_FILE,
    TRANSACTION_SCHEMA,
    TRANSACTIONS_FILE,
    read_transactions,
    write_dataset,
)

CONFIG = SimulationConfig(customers=800, days=5, seed=21, episode_rate_scale=10.0)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_dataset(CONFIG, tmp_path / "first")
    second = write_dataset(CONFIG, tmp_path / "second")
    for name in (TRANSACTIONS_FILE, PARTIES_FILE):
        assert _sha256(tmp_path / "first" / name) == _sha256(tmp_path / "second" / name)
    assert first.rows == second.rows > 3_000
    other = SimulationConfig(customers=800, days=5, seed=22, episode_rate_scale=10.0)
    write_dataset(other, tmp_path / "other")
    assert _sha256(tmp_path / "other" / TRANSACTIONS_FILE) != _sha256(
        tmp_path / "first" / TRANSACTIONS_FILE
    )


def test_rows_are_typed_ordered_and_labelled_apart(tmp_path: Path) -> None:
    summary = write_dataset(CONFIG, tmp_path)
    table = read_transactions(tmp_path)
    assert table.schema.remove_metadata() == TRANSACTION_SCHEMA
    assert table.num_rows == summary.rows
    ids = table.column("transaction_id").to_numpy()
    assert np.array_equal(ids, np.arange(summary.rows))
    times = table.column("timestamp").cast("int64").to_numpy()
    assert np.all(np.diff(times) >= 0)
    assert table.column("amount_minor").type == "int64"
    assert set(table.column("currency").to_pylist()) == {"KES"}
    assert set(table.column("kind").to_pylist()) == {
        "cash_in", "cash_out", "p2p", "merchant", "bill", "bank_out", "bank_in",
        "float_purchase",
    }  # fmt: skip
    assert set(table.column("paysim_type").drop_null().to_pylist()) == {
        "CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER",
    }  # fmt: skip
    labels = [name for name in table.column_names if name.startswith("label_")]
    assert labels == [
        "label_is_fraud",
        "label_fraud_scenario",
        "label_is_laundering",
        "label_laundering_typology",
        "label_episode_id",
    ]
    assert table.column_names[-len(labels) :] == labels  # the labels come last, together
    fraud = table.filter(table.column("label_is_fraud"))
    assert fraud.num_rows == summary.fraud_rows > 0
    assert fraud.column("label_fraud_scenario").null_count == 0
    assert table.column("label_fraud_scenario").null_count == summary.rows - summary.fraud_rows
    laundering = table.filter(table.column("label_is_laundering"))
    assert laundering.num_rows == summary.laundering_rows > 0
    cash = pc.is_in(table.column("kind"), value_set=pa.array(["cash_in", "cash_out"]))
    assert table.filter(cash).column("agent_id").null_count == 0
    assert table.column("step").to_numpy().min() == 1


def test_metadata_describes_the_run_and_nothing_else(tmp_path: Path) -> None:
    write_dataset(CONFIG, tmp_path)
    metadata = pq.read_schema(tmp_path / TRANSACTIONS_FILE).metadata
    described = json.loads(metadata[b"hazina.sim"])
    assert described["config"]["seed"] == 21
    assert described["config"]["customers"] == 800
    assert "label_" in described["labels"]


def test_parties_carry_their_hidden_roles(tmp_path: Path) -> None:
    summary = write_dataset(CONFIG, tmp_path)
    parties = pq.read_table(summary.parties_path)
    roles = parties.column("label_role").to_pylist()
    assert roles.count("normal") > 0.9 * len(roles)
    assert {"mule", "launderer", "colluding_merchant", "fraudulent_agent"} <= set(roles)
    kinds = parties.column("kind").to_pylist()
    assert kinds.count("customer") == 800
    assert kinds[-1] == "operator"
    transactions = read_transactions(tmp_path, ["source_id", "destination_id"])
    highest = max(
        pc.max(transactions.column("source_id")).as_py(),
        pc.max(transactions.column("destination_id")).as_py(),
    )
    assert highest < parties.num_rows


def test_the_summary_carries_the_calibration(tmp_path: Path) -> None:
    summary = write_dataset(CONFIG, tmp_path)
    assert len(summary.checks) == 30
    assert summary.activity_rows < summary.rows  # openings and float are not activity
    assert sum(summary.episodes.values()) > 0

"""Reading the three dataset layouts; the simulator's scenario column is never read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hazina.risk.data import DatasetFormatError, load_payments, write_events
from hazina.risk.features.events import Role
from hazina.risk.synthetic import synthetic_payments


def test_handbook_layout(tmp_path: Path) -> None:
    path = tmp_path / "handbook.parquet"
    stamps = np.array(
        ["2018-04-01T00:00:31", "2018-04-01T00:00:10", "2018-04-02T08:00:00"], dtype="datetime64[s]"
    )
    pq.write_table(
        pa.table(
            {
                "TRANSACTION_ID": [0, 1, 2],
                "TX_DATETIME": pa.array(stamps, pa.timestamp("ns")),
                "CUSTOMER_ID": [5, 6, 5],
                "TERMINAL_ID": [7, 8, 9],
                "TX_AMOUNT": [57.16, 12.0, 0.29],
                "TX_FRAUD": [0, 1, 0],
                "TX_FRAUD_SCENARIO": [0, 2, 0],
            }
        ),
        path,
    )
    payments = load_payments(path)
    assert payments.transaction_ids.tolist() == [1, 0, 2]  # time order
    assert payments.amounts_minor.tolist() == [1_200, 5_716, 29]
    assert payments.days().tolist() == [0, 0, 1]
    assert payments.feature_config().roles == (Role.counterparty,)
    assert len(payments.fingerprint) == 64
    first = next(payments.events())
    assert (first.customer, first.counterparty, first.timestamp_s) == (6, 8, 1_522_540_810)


def test_events_layout_round_trip(tmp_path: Path) -> None:
    payments = synthetic_payments(customers=20, days=5, seed=1)
    for name in ("events.parquet", "events.csv"):
        write_events(payments, tmp_path / name)
        again = load_payments(tmp_path / name)
        assert again.timestamps_s.tolist() == payments.timestamps_s.tolist()
        assert again.amounts_minor.tolist() == payments.amounts_minor.tolist()
        assert again.is_fraud.tolist() == payments.is_fraud.tolist()
        assert again.counterparties is not None
        assert again.agents is None


def test_paysim_layout_uses_the_balance_before_only(tmp_path: Path) -> None:
    path = tmp_path / "paysim.csv"
    path.write_text(
        "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,"
        "newbalanceDest,isFraud,isFlaggedFraud\n"
        "1,TRANSFER,181,C1,181,0,C2,0,0,1,0\n"
        "2,PAYMENT,9839.64,C3,170136,160296.36,M4,0,0,0,0\n"
    )
    payments = load_payments(path)
    assert payments.timestamps_s.tolist() == [0, 3_600]
    assert payments.balances_before_minor is not None
    assert payments.balances_before_minor.tolist() == [18_100, 17_013_600]
    config = payments.feature_config()
    assert config.balance


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetFormatError, match="match no known layout"):
        load_payments(path)


def test_simulator_layout_keeps_what_customers_send(tmp_path: Path) -> None:
    path = tmp_path / "transactions.parquet"
    nanoseconds = np.array([3, 1, 2], dtype=np.int64) * 1_000_000_000 + 1_767_571_200 * 10**9
    pq.write_table(
        pa.table(
            {
                "transaction_id": [0, 1, 2],
                "timestamp": pa.array(nanoseconds, pa.timestamp("ns", tz="UTC")),
                "amount_minor": [100, 200, 300],
                "source_id": [7, 8, 9],
                "source_kind": pa.array(["customer", "agent", "customer"]).dictionary_encode(),
                "destination_id": [10, 7, 11],
                "agent_id": pa.array([None, 8, 12], pa.int64()),
                "device_id": pa.array([70, None, 90], pa.int64()),
                "label_is_fraud": [False, False, True],
                "label_fraud_scenario": ["", "", "account_takeover"],
            }
        ),
        path,
    )
    payments = load_payments(path)
    assert payments.customers.tolist() == [9, 7]  # the agent's cash-in is not screened
    assert payments.timestamps_s.tolist() == [1_767_571_202, 1_767_571_203]
    assert payments.is_fraud.tolist() == [1, 0]
    assert payments.agents is not None
    assert payments.agents.tolist() == [12, None]
    assert payments.feature_config().roles == (Role.counterparty, Role.agent, Role.device)


def test_events_with_missing_integer_parties_keep_them_missing(tmp_path: Path) -> None:
    """A P2P payment has no agent: an integer agent column with nulls must not turn them all
    into one phantom agent (-2**63)."""
    path = tmp_path / "events.parquet"
    pq.write_table(
        pa.table(
            {
                "timestamp_s": [10, 20, 30],
                "customer": [1, 2, 1],
                "amount_minor": [500, 700, 900],
                "is_fraud": [0, 0, 1],
                "counterparty": [5, 6, 7],
                "agent": pa.array([None, 42, None], pa.int64()),
            }
        ),
        path,
    )
    payments = load_payments(path)
    assert payments.agents is not None
    assert payments.agents.tolist() == [None, 42, None]
    assert [event.agent for event in payments.events()] == [None, 42, None]

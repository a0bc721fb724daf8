"""`hazina simulate`: a dataset with --to-parquet, otherwise a drive of a platform."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from hazina.bootstrap import build_platform
from hazina.cli.main import app
from hazina.ledger.audit import verify
from hazina.payments.domain.chart import PartyKind


def test_to_parquet_writes_the_dataset_and_reports_the_calibration(tmp_path: Path) -> None:
    arguments = ["simulate", "--customers", "600", "--days", "3", "--seed", "7"]
    first = CliRunner().invoke(app, [*arguments, "--to-parquet", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "Calibration against PaySim" in first.output
    assert "share PAYMENT" in first.output
    assert "transactions per second" in first.output
    second = CliRunner().invoke(app, [*arguments, "--to-parquet", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    digests = {
        hashlib.sha256((tmp_path / folder / "transactions.parquet").read_bytes()).hexdigest()
        for folder in ("a", "b")
    }
    assert len(digests) == 1  # same options, same bytes


def test_simulate_drives_a_platform_and_summarises(tmp_path: Path) -> None:
    database = tmp_path / "simulated.sqlite3"
    result = CliRunner().invoke(
        app,
        ["simulate", "--customers", "60", "--days", "2", "--database", str(database)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "parties registered" in result.output
    assert "ok: cash_in" in result.output
    assert "Ledger verify: OK" in result.output
    platform = build_platform(str(database))
    try:
        assert len(platform.payments.list_parties(PartyKind.customer, 0, 1_000)) == 60
        assert verify(platform.ledger.store).ok
    finally:
        platform.close()


def test_bad_options_are_refused(tmp_path: Path) -> None:
    bad_date = CliRunner().invoke(
        app, ["simulate", "--start", "5 January", "--to-parquet", str(tmp_path)]
    )
    assert bad_date.exit_code != 0
    assert "2026-01-05" in bad_date.output
    bad_lanes = CliRunner().invoke(app, ["simulate", "--lanes", "0", "--to-parquet", str(tmp_path)])
    assert bad_lanes.exit_code != 0

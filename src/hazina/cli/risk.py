"""`hazina risk ...`: risk-control commands (models, evaluations, and monitoring a platform)."""

from __future__ import annotations

import typer

from hazina.cli.risk_aml import aml_evaluate
from hazina.cli.risk_fraud import evaluate_handbook_command, models, promote, train
from hazina.cli.risk_platform import aml_scan_command, drift_command, label_matured_command

app = typer.Typer(
    help="Risk control: fraud and AML models and their evaluations.",
    no_args_is_help=True,
    add_completion=False,
)
app.command(name="aml-evaluate")(aml_evaluate)
app.command(name="train")(train)
app.command(name="evaluate-handbook")(evaluate_handbook_command)
app.command(name="models")(models)
app.command(name="promote")(promote)
app.command(name="drift")(drift_command)
app.command(name="label-matured")(label_matured_command)
app.command(name="aml-scan")(aml_scan_command)

"""`hazina risk ...`: risk-control commands (AML evaluation on the AMLSim samples)."""

from __future__ import annotations

import typer

from hazina.cli.risk_aml import aml_evaluate

app = typer.Typer(
    help="Risk control: fraud and AML models and their evaluations.",
    no_args_is_help=True,
    add_completion=False,
)
app.command(name="aml-evaluate")(aml_evaluate)

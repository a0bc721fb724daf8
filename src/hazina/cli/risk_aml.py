"""`hazina risk aml-evaluate`: the AML scenarios and model measured on the AMLSim samples.

The command function is registered on the `hazina risk` sub-app by `hazina.cli.risk`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hazina.kernel.datasets import DatasetMissingError
from hazina.risk.aml import amlsim
from hazina.risk.aml.model import ModelSettings


def aml_evaluate(
    sample: Annotated[
        list[str] | None,
        typer.Option(
            "--sample",
            "-s",
            help=f"AMLSim sample to evaluate (repeatable); default: {', '.join(amlsim.SAMPLES)}",
        ),
    ] = None,
    datasets: Annotated[
        Path | None,
        typer.Option(
            "--datasets",
            help="Folder holding the aml_amlsim samples; default: $HAZINA_DATASETS/aml_amlsim",
        ),
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds over accounts")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the folds and of the model")] = 7,
    threads: Annotated[int, typer.Option(help="LightGBM threads")] = 1,
    scenarios: Annotated[
        bool, typer.Option("--scenarios/--no-scenarios", help="Also show each scenario alone")
    ] = True,
) -> None:
    """Per-sample, per-typology precision, recall and F1 of the flagged accounts: the rule
    scenarios (no training) and the graph-feature model (stratified k-fold over accounts)."""
    names = tuple(sample) if sample else amlsim.SAMPLES
    unknown = [name for name in names if name not in amlsim.SAMPLE_TYPOLOGIES]
    if unknown:
        raise typer.BadParameter(
            f"unknown sample {unknown[0]!r}; known: {', '.join(amlsim.SAMPLES)}",
            param_hint="--sample",
        )
    try:
        model_settings = ModelSettings(folds=folds, seed=seed, threads=threads).validate()
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    started = time.perf_counter()
    evaluations = []
    for name in names:
        began = time.perf_counter()
        try:
            loaded = amlsim.load_sample(name, datasets)
        except (DatasetMissingError, FileNotFoundError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        evaluation = amlsim.evaluate_sample(loaded, model_settings=model_settings)
        evaluations.append(evaluation)
        typer.echo(
            f"{name}: {evaluation.accounts} accounts, {evaluation.transactions} transfers, "
            f"{evaluation.laundering} laundering accounts "
            f"({evaluation.laundering_without_laundering_transfers} with no laundering "
            f"transfer in the data), {time.perf_counter() - began:.1f} s"
        )
    typer.echo("")
    typer.echo(amlsim.render_table(evaluations, scenarios=scenarios))
    typer.echo("")
    typer.echo(f"total {time.perf_counter() - started:.1f} s")

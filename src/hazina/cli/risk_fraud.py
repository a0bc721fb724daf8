"""`hazina risk train | evaluate-handbook | models | promote`: the fraud model's commands.

The command functions are registered on the `hazina risk` sub-app by `hazina.cli.risk`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hazina.kernel.datasets import DatasetMissingError, dataset_path
from hazina.risk.data import DatasetFormatError, load_payments
from hazina.risk.handbook import (
    HandbookFolds,
    HandbookReport,
    best_published_average_precision,
    best_published_card_precision_at_100,
    best_published_roc_auc,
    evaluate_handbook,
    evaluate_handbook_folds,
    handbook_start_day,
    handbook_train_days,
    handbook_validation_start_days,
    published_results,
)
from hazina.risk.registry import ModelRegistry, RegistryError
from hazina.risk.training import ModelParameters, train_from_dataset

console = Console()


def _progress(label: str) -> Callable[[int, int], None] | None:
    """A progress line on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None
    step = {"next": 0}

    def report(done: int, total: int) -> None:
        if done >= step["next"] or done == total:
            print(f"\r{label}: {done:,}/{total:,} payments", end="", file=sys.stderr, flush=True)
            step["next"] = done + max(total // 20, 1)
            if done == total:
                print(file=sys.stderr)

    return report


def train(
    dataset: Annotated[
        Path,
        typer.Option(
            "--dataset",
            help="Handbook card data, Hazina events, simulator transactions.parquet or PaySim",
        ),
    ],
    model_out: Annotated[
        Path, typer.Option("--model-out", help="Model registry folder (created if needed)")
    ],
    members: Annotated[int, typer.Option(help="Boosters averaged in the model")] = 1,
    trees: Annotated[int, typer.Option(help="Boosting rounds per booster, at most")] = 500,
    threads: Annotated[int, typer.Option(help="LightGBM threads")] = 2,
    label_delay_days: Annotated[
        int | None,
        typer.Option(help="Days before a fraud label is known (default: 7)"),
    ] = None,
) -> None:
    """Replay a dataset through the online features, train on a time-ordered split
    (train | delay | validation | delay | test), measure, and register the model."""
    if not dataset.is_file():
        raise typer.BadParameter(f"no dataset file at {dataset}", param_hint="--dataset")
    try:
        report = train_from_dataset(
            dataset,
            model_out,
            created_at=datetime.now(UTC),
            parameters=ModelParameters(members=members, trees=trees, threads=threads),
            label_delay_s=None if label_delay_days is None else label_delay_days * 86_400,
            progress=_progress("replaying"),
        )
    except (DatasetFormatError, RegistryError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    metrics = report.metrics
    console.print(
        f"model {report.version.version} ({report.version.role}) in {model_out}: "
        f"train {report.train_rows:,} / validation {report.validation_rows:,} / "
        f"test {report.test_rows:,} payments"
    )
    console.print(
        f"test: ROC AUC {metrics.roc_auc:.3f}, average precision "
        f"{metrics.average_precision:.3f}, card precision@{metrics.k} "
        f"{metrics.card_precision_at_k:.3f} ({metrics.frauds:,} frauds)"
    )
    console.print(f"replay {report.replay_s:.1f} s, training {report.training_s:.1f} s")


def _published_table(title: str) -> Table:
    table = Table(title=title)
    for column in ("model", "source", "ROC AUC", "Average precision", "Card Precision@100"):
        table.add_column(column)
    for result in published_results:
        table.add_row(
            result.model,
            result.source,
            f"{result.roc_auc:.3f}",
            f"{result.average_precision:.3f}",
            f"{result.card_precision_at_100:.3f}",
        )
    table.add_row(
        "best published",
        "",
        f"{best_published_roc_auc:.3f}",
        f"{best_published_average_precision:.3f}",
        f"{best_published_card_precision_at_100:.3f}",
    )
    return table


def _table(report: HandbookReport, title: str) -> Table:
    table = _published_table(title)
    metrics = report.metrics
    table.add_row(
        "[bold]hazina: online features + LightGBM[/]",
        f"{report.history_days} training days",
        f"[bold]{metrics.roc_auc:.3f}[/]",
        f"[bold]{metrics.average_precision:.3f}[/]",
        f"[bold]{metrics.card_precision_at_k:.3f}[/]",
    )
    return table


def evaluate_handbook_command(
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset", help="default: $HAZINA_DATASETS/fraud_handbook/transactions.parquet"
        ),
    ] = None,
    history_days: Annotated[
        int,
        typer.Option(
            help="Training days ending where the handbook's 7 end; 7 is the published protocol"
        ),
    ] = handbook_train_days,
    members: Annotated[int, typer.Option(help="Boosters averaged in the model")] = 1,
    threads: Annotated[int, typer.Option(help="LightGBM threads")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the first booster")] = 0,
    seeds: Annotated[
        int, typer.Option(help="Models with seeds seed .. seed + seeds - 1: mean and range")
    ] = 1,
    validation: Annotated[
        bool,
        typer.Option(
            "--validation",
            help="The handbook's four validation folds (training from 2018-07-11, -04, "
            "06-27, -20) instead of the test week: for model selection",
        ),
    ] = False,
) -> None:
    """The Fraud Detection Handbook's protocol (train 7 days from 2018-07-25, 7-day delay,
    7-day test) with features from the online engine; prints the published table and ours."""
    try:
        path = dataset or dataset_path("fraud_handbook", "transactions.parquet")
    except DatasetMissingError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    if seeds < 1:
        raise typer.BadParameter("at least one seed", param_hint="--seeds")
    if seeds > 1 or validation:
        if history_days != handbook_train_days:
            raise typer.BadParameter(
                "--seeds and --validation run the handbook's 7 training days only",
                param_hint="--history-days",
            )
        folds = evaluate_handbook_folds(
            load_payments(path),
            start_days=handbook_validation_start_days if validation else (handbook_start_day,),
            seeds=tuple(range(seed, seed + seeds)),
            parameters=ModelParameters(members=members, threads=threads),
            progress=_progress("replaying"),
        )
        _print_folds(folds, validation=validation, members=members)
        return
    report = evaluate_handbook(
        path,
        parameters=ModelParameters(members=members, threads=threads, seed=seed),
        history_days=history_days,
        progress=_progress("replaying"),
    )
    protocol = (
        "the handbook's protocol"
        if history_days == handbook_train_days
        else f"NOT the handbook's protocol: {history_days} training days"
    )
    console.print(_table(report, f"Fraud Detection Handbook, test 2018-08-08..14 ({protocol})"))
    console.print(
        f"train {report.train_payments:,} payments ({report.train_frauds} frauds), "
        f"test {report.test_payments:,} ({report.test_frauds} frauds); "
        f"replayed {report.replayed_payments:,} payments through the online feature engine"
    )
    console.print(
        f"replay {report.replay_s:.1f} s, training {report.training_s:.1f} s, "
        f"total {report.total_s:.1f} s"
    )


def _print_folds(folds: HandbookFolds, *, validation: bool, members: int) -> None:
    start = datetime(2018, 4, 1, tzinfo=UTC)
    what = "validation folds (model selection)" if validation else "test 2018-08-08..14"
    if validation:
        table = Table(title=f"Fraud Detection Handbook protocol, {what}")
        for column in ("training from", "seed", "ROC AUC", "Average precision", "CP@100"):
            table.add_column(column)
    else:
        table = _published_table(f"Fraud Detection Handbook, {what} (the handbook's protocol)")
    for result in folds.results:
        metrics = result.metrics
        first = start + timedelta(days=result.start_day)
        table.add_row(
            f"{first:%Y-%m-%d}" if validation else "hazina: online features + LightGBM",
            f"seed {result.seed}",
            f"{metrics.roc_auc:.3f}",
            f"{metrics.average_precision:.3f}",
            f"{metrics.card_precision_at_k:.3f}",
        )
    cells = []
    for metric in ("roc_auc", "average_precision", "card_precision_at_k"):
        values = folds.values(metric)
        cells.append(f"[bold]{values.mean():.3f}[/] ({values.min():.3f}-{values.max():.3f})")
    runs = len(folds.results)
    table.add_row(f"[bold]mean (range) of {runs} runs[/]", f"{members} booster(s)", *cells)
    console.print(table)
    console.print(
        f"replayed {folds.replayed_payments:,} payments through the online feature engine; "
        f"replay {folds.replay_s:.1f} s, training {folds.training_s:.1f} s"
    )


def models(
    registry: Annotated[Path, typer.Option("--registry", help="Model registry folder")],
) -> None:
    """List the registered models with their metrics and roles."""
    table = Table(title=f"models in {registry}")
    for column in ("version", "role", "created", "ROC AUC", "AP", "CP@100", "data"):
        table.add_column(column)
    try:
        versions = ModelRegistry(registry).versions()
    except RegistryError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    for version in versions:
        metrics = version.metrics
        table.add_row(
            version.version,
            version.role,
            version.created_at,
            f"{float(metrics.get('roc_auc', float('nan'))):.3f}",
            f"{float(metrics.get('average_precision', float('nan'))):.3f}",
            f"{float(metrics.get('card_precision_at_k', float('nan'))):.3f}",
            f"{version.data.description} ({version.data.fingerprint[:12]})",
        )
    console.print(table)


def promote(
    version: Annotated[str, typer.Argument(help="Model version to make champion, e.g. v0002")],
    registry: Annotated[Path, typer.Option("--registry", help="Model registry folder")],
) -> None:
    """Make a registered model the champion; the previous champion retires."""
    try:
        promoted = ModelRegistry(registry).promote(version)
    except RegistryError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    console.print(f"{promoted.version} is now the champion")

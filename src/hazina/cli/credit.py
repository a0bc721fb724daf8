"""`hazina credit train | evaluate | score | models | promote | drift`: credit scoring."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hazina.credit.data import CreditDataError, CreditDataset, known_datasets, load_table, take_rows
from hazina.credit.evaluation import (
    FamilyEvaluation,
    calibration_markdown,
    evaluate_family,
    holdout_split,
    markdown_table,
)
from hazina.credit.families import UnknownFamilyError, families, fit
from hazina.credit.metrics import credit_metrics
from hazina.credit.model import decide
from hazina.credit.registry import CreditModelRegistry
from hazina.kernel.datasets import DatasetMissingError
from hazina.kernel.limits import credit_reasons_max
from hazina.risk.registry import RegistryError

app = typer.Typer(
    help="Credit scoring: points scorecards and gradient boosting, evaluations, governance.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
default_registry = Path("var/credit-models")


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def parse_codes(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise fail(f"special codes are numbers separated by commas: {error}") from error


def read_dataset(
    dataset: Path, target: str, bad_value: str | None, drop: str, special_codes: str
) -> CreditDataset:
    try:
        return load_table(
            dataset,
            target,
            bad_value=bad_value,
            drop=[column for column in drop.split(",") if column.strip()],
            special_codes=parse_codes(special_codes),
        )
    except (CreditDataError, OSError) as error:
        raise fail(str(error)) from error


DatasetOption = Annotated[Path, typer.Option("--dataset", help="A CSV (or .csv.gz) table")]
TargetOption = Annotated[str, typer.Option("--target", help="The column saying who defaulted")]
BadValueOption = Annotated[
    str | None,
    typer.Option(help="The target's value meaning default, when it cannot be told (bad, 1, yes)"),
]
DropOption = Annotated[str, typer.Option(help="Columns to leave out, comma-separated (ids)")]
SpecialOption = Annotated[
    str, typer.Option(help="Numeric special codes kept apart, comma-separated (-9,-8,-7)")
]
FamilyOption = Annotated[str, typer.Option(help=f"Model family: {', '.join(families)}")]
RegistryOption = Annotated[Path, typer.Option(help="Credit model registry folder")]


def train(
    dataset: DatasetOption,
    target: TargetOption,
    family: FamilyOption = "scorecard",
    bad_value: BadValueOption = None,
    drop: DropOption = "",
    special_codes: SpecialOption = "",
    registry: RegistryOption = default_registry,
    seed: Annotated[int, typer.Option(help="Seed of the split and the model")] = 0,
) -> None:
    """Train on a stratified 80% of any credit table, report the 20% hold-out, register it."""
    data = read_dataset(dataset, target, bad_value, drop, special_codes)
    split = holdout_split(data.target, seed)
    development = take_rows(data, split.development)
    try:
        model = fit(family, development, seed)
    except UnknownFamilyError as error:
        raise fail(str(error)) from error
    holdout = take_rows(data, split.holdout)
    metrics = credit_metrics(holdout.target, model.probability_of_default(holdout.features))
    console.print(
        f"{data.name}: {len(data.target):,} rows, {data.default_rate:.2%} defaults, "
        f"{len(data.feature_names)} features ({len(data.categorical_names)} categorical)"
    )
    console.print(
        f"{family} hold-out (20%): AUC {metrics.roc_auc:.4f}  KS {metrics.ks:.4f}  "
        f"Gini {metrics.gini:.4f}  Brier {metrics.brier:.4f}"
    )
    try:
        version = CreditModelRegistry(registry).register(
            model,
            development,
            target,
            {f"holdout_{name}": value for name, value in metrics.to_json().items()},
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
    except RegistryError as error:
        raise fail(str(error)) from error
    console.print(f"registered {version.version} ({version.role}) in {registry}")


def evaluate(
    dataset: Annotated[
        str, typer.Option("--dataset", help=f"One of {', '.join(known_datasets)} or all")
    ] = "all",
    family: Annotated[str, typer.Option(help="A family or all")] = "all",
    folds: Annotated[int, typer.Option(help="Cross-validation folds (0: hold-out only)")] = 5,
    seed: int = 0,
    plots: Annotated[
        Path | None, typer.Option(help="Folder for calibration PNGs, one per dataset")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write the results as JSON")] = None,
) -> None:
    """Evaluate on the shared public datasets: 20% hold-out and stratified CV on the rest."""
    names = list(known_datasets) if dataset == "all" else [dataset]
    chosen = list(families) if family == "all" else [family]
    unknown = [name for name in names if name not in known_datasets] + [
        name for name in chosen if name not in families
    ]
    if unknown:
        raise fail(f"unknown dataset or family: {unknown}")
    evaluations: list[FamilyEvaluation] = []
    for name in names:
        try:
            data = known_datasets[name].load()
        except DatasetMissingError as error:
            raise fail(str(error)) from error
        per_dataset = [evaluate_family(data, each, folds=folds, seed=seed) for each in chosen]
        evaluations.extend(per_dataset)
        if plots is not None:
            from hazina.credit.plots import save_calibration_plot

            save_calibration_plot(per_dataset, plots / f"credit-calibration-{name}.png")
    console.print(markdown_table(evaluations), markup=False)
    for evaluation in evaluations:
        console.print()
        console.print(calibration_markdown(evaluation), markup=False)
    if output is not None:
        output.write_text(json.dumps([each.to_json() for each in evaluations], indent=2))


def score(
    dataset: DatasetOption,
    registry: RegistryOption = default_registry,
    version: Annotated[str | None, typer.Option(help="A version; the champion if left out")] = None,
    rows: Annotated[int, typer.Option(help="Applicants (first rows) to score")] = 5,
) -> None:
    """Probability of default, 300-850 score and adverse-action reasons for a table's rows."""
    store = CreditModelRegistry(registry)
    try:
        champion = store.champion()
        chosen = version or (champion.version if champion else None)
        if chosen is None:
            raise fail(f"no model in {registry}; train one first")
        model = store.load(chosen)
        table = load_table_without_target(dataset, model.feature_names, rows)
    except (RegistryError, CreditDataError, OSError, KeyError) as error:
        raise fail(str(error)) from error
    for decision in decide(model, table, credit_reasons_max):
        console.print_json(json.dumps(decision.to_json()))


def load_table_without_target(path: Path, names: tuple[str, ...], rows: int) -> object:
    import pandas as pd  # type: ignore[import-untyped]

    from hazina.credit.data import prepare_features

    frame = pd.read_csv(path, nrows=rows)
    return prepare_features(frame[list(names)])


def models(registry: RegistryOption = default_registry) -> None:
    """The registered credit models: version, role, family, data and hold-out AUC."""
    try:
        versions = CreditModelRegistry(registry).versions()
    except RegistryError as error:
        raise fail(str(error)) from error
    for entry in versions:
        console.print(
            f"{entry.version} {entry.role:10} {entry.family:9} "
            f"AUC {entry.metrics.get('holdout_roc_auc', float('nan')):.4f} "
            f"{entry.data['path']} sha256 {str(entry.data['fingerprint'])[:12]}"
        )


def promote(version: str, registry: RegistryOption = default_registry) -> None:
    """Make a version the champion."""
    try:
        entry = CreditModelRegistry(registry).promote(version)
    except RegistryError as error:
        raise fail(str(error)) from error
    console.print(f"{entry.version} is champion")


def drift(
    dataset: DatasetOption,
    registry: RegistryOption = default_registry,
    version: Annotated[str | None, typer.Option(help="A version; the champion if left out")] = None,
) -> None:
    """PSI of each feature and of the predicted PD of a table against the training data."""
    store = CreditModelRegistry(registry)
    try:
        champion = store.champion()
        chosen = version or (champion.version if champion else None)
        if chosen is None:
            raise fail(f"no model in {registry}")
        names = store.get(chosen).feature_names
        table = load_table_without_target(dataset, names, 10**9)
        report = store.drift(chosen, table)
    except (RegistryError, CreditDataError, OSError, KeyError) as error:
        raise fail(str(error)) from error
    console.print(f"score PSI {report.score_psi:.4f} ({report.score_level})")
    for name, value in report.most_shifted():
        console.print(f"  {name}: PSI {value:.4f}")


app.command(name="train")(train)
app.command(name="evaluate")(evaluate)
app.command(name="score")(score)
app.command(name="models")(models)
app.command(name="promote")(promote)
app.command(name="drift")(drift)
